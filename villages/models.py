"""The area hierarchy, the people who work in it, and who may see what."""

import uuid

import simple_history
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.core.validators import RegexValidator
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

from core.history import (
    HistoryRequestMeta,
    PortalHistoryManager,
    UserHistoricalRecords,
    UserHistoryMeta,
)
from villages.bounds import Range, year_range

COUNTY_CODE = RegexValidator(r"^[0-9]{6}$", _("县级区划代码必须是 6 位数字。"))
TOWNSHIP_CODE = RegexValidator(r"^[0-9]{9}$", _("乡级区划代码必须是 9 位数字。"))
VILLAGE_CODE = RegexValidator(r"^[0-9]{12}$", _("统计用区划代码必须是 12 位数字。"))
MOBILE = RegexValidator(r"^1[0-9]{10}$", _("手机号必须是 11 位数字，以 1 开头。"))
# A 村(社区): the largest urban communities have some tens of thousands of residents.
HOUSEHOLDS = Range("户数", 0, 50000)
POPULATION = Range("人口", 0, 200000)


class County(models.Model):
    """A county-level unit (区/县/县级市/功能区) with its 6-digit code."""

    class Kind(models.TextChoices):
        DISTRICT = "district", _("区")
        COUNTY = "county", _("县")
        CITY = "city", _("县级市")
        ZONE = "zone", _("功能区")

    code = models.CharField(_("区划代码"), max_length=6, unique=True, validators=[COUNTY_CODE])
    name = models.CharField(_("名称"), max_length=50)
    kind = models.CharField(_("类型"), max_length=10, choices=Kind.choices)

    history = HistoricalRecords(bases=[HistoryRequestMeta], history_manager=PortalHistoryManager)

    class Meta:
        verbose_name = _("县(市、区)")
        verbose_name_plural = _("县(市、区)")
        ordering = ["code"]
        constraints = [
            models.CheckConstraint(
                condition=Q(code__regex=r"^[0-9]{6}$"),
                name="county_code_6_digits",
                violation_error_message=_("县级区划代码必须是 6 位数字。"),
            ),
        ]

    def __str__(self) -> str:
        return self.name


class Township(models.Model):
    """A township-level unit (乡/镇/街道); its 9-digit code starts with its county's."""

    class Kind(models.TextChoices):
        TOWNSHIP = "township", _("乡")
        TOWN = "town", _("镇")
        SUBDISTRICT = "subdistrict", _("街道")
        ZONE = "zone", _("功能区")

    code = models.CharField(_("区划代码"), max_length=9, unique=True, validators=[TOWNSHIP_CODE])
    name = models.CharField(_("名称"), max_length=50)
    kind = models.CharField(_("类型"), max_length=12, choices=Kind.choices)
    county = models.ForeignKey(
        County, on_delete=models.PROTECT, related_name="townships", verbose_name=_("县(市、区)")
    )

    history = HistoricalRecords(bases=[HistoryRequestMeta], history_manager=PortalHistoryManager)

    class Meta:
        verbose_name = _("乡镇(街道)")
        verbose_name_plural = _("乡镇(街道)")
        ordering = ["code"]
        constraints = [
            models.CheckConstraint(
                condition=Q(code__regex=r"^[0-9]{9}$"),
                name="township_code_9_digits",
                violation_error_message=_("乡级区划代码必须是 9 位数字。"),
            ),
        ]

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        if self.county_id and self.code and not self.code.startswith(self.county.code):
            raise ValidationError(
                {
                    "code": _("乡级区划代码 %(code)s 必须以所属县的代码 %(county)s 开头。")
                    % {"code": self.code, "county": self.county.code}
                }
            )


class LocationSource(models.TextChoices):
    """Where a village's coordinate came from."""

    ROSTER = "roster", _("导入")
    LEARNED = "learned", _("走访推算")
    DEMO = "demo", _("演示位置")
    CONFIRMED = "confirmed", _("人工确认")


class Village(models.Model):
    """A village or community (行政村/农村社区/城市社区) with its 12-digit 统计用区划代码."""

    class Kind(models.TextChoices):
        VILLAGE = "village", _("行政村")
        RURAL_COMMUNITY = "rural_community", _("农村社区")
        URBAN_COMMUNITY = "urban_community", _("城市社区")

    code = models.CharField(
        _("统计用区划代码"), max_length=12, unique=True, validators=[VILLAGE_CODE]
    )
    name = models.CharField(_("名称"), max_length=60)
    official_name = models.CharField(_("统计名称"), max_length=60, blank=True)
    kind = models.CharField(_("类型"), max_length=16, choices=Kind.choices)
    township = models.ForeignKey(
        Township, on_delete=models.PROTECT, related_name="villages", verbose_name=_("乡镇(街道)")
    )
    in_statistical_roster = models.BooleanField(
        _("在统计用区划代码中"),
        default=True,
        help_text=_("否：由市里增设、尚未列入国家统计局区划代码的村(社区)。"),
    )
    households = models.PositiveIntegerField(
        _("户数"), null=True, blank=True, validators=HOUSEHOLDS.validators()
    )
    population = models.PositiveIntegerField(
        _("人口"), null=True, blank=True, validators=POPULATION.validators()
    )
    secretary_name = models.CharField(_("党组织书记"), max_length=30, blank=True)
    secretary_phone = models.CharField(_("联系电话"), max_length=20, blank=True)
    latitude = models.DecimalField(
        _("纬度"),
        max_digits=9,
        decimal_places=6,
        null=True,
        blank=True,
        help_text=_("村委会(社区居委会)所在地，用于核对走访定位。"),
    )
    longitude = models.DecimalField(
        _("经度"), max_digits=9, decimal_places=6, null=True, blank=True
    )
    location_source = models.CharField(
        _("坐标来源"),
        max_length=10,
        choices=LocationSource.choices,
        blank=True,
        help_text=_("坐标均为 WGS-84（GPS）坐标。"),
    )

    history = HistoricalRecords(bases=[HistoryRequestMeta], history_manager=PortalHistoryManager)

    class Meta:
        verbose_name = _("村(社区)")
        verbose_name_plural = _("村(社区)")
        ordering = ["code"]
        indexes = [models.Index(fields=["township", "kind"])]
        constraints = [
            models.CheckConstraint(
                condition=Q(code__regex=r"^[0-9]{12}$"),
                name="village_code_12_digits",
                violation_error_message=_("统计用区划代码必须是 12 位数字。"),
            ),
            models.CheckConstraint(
                condition=HOUSEHOLDS.q("households", null=True)
                & POPULATION.q("population", null=True),
                name="village_size_range",
                violation_error_message=_("户数或人口超出合理范围。"),
            ),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def is_urban(self) -> bool:
        return self.kind == self.Kind.URBAN_COMMUNITY

    def clean(self) -> None:
        if self.township_id and self.code and not self.code.startswith(self.township.code):
            raise ValidationError(
                {
                    "code": _("统计用区划代码 %(code)s 必须以所属乡镇的代码 %(township)s 开头。")
                    % {"code": self.code, "township": self.township.code}
                }
            )


class Branch(models.Model):
    """A village or community party organisation (党组织): the unit that earns stars.

    A branch covers one village or several (联合党支部); which villages it covers in a
    given year is recorded by that year's roster (`RosterEntry`).
    """

    class Kind(models.TextChoices):
        BRANCH = "branch", _("党支部")
        JOINT = "joint", _("联合党支部")
        GENERAL = "general", _("党总支")
        COMMITTEE = "committee", _("党委")

    code = models.CharField(_("组织编码"), max_length=20, unique=True)
    name = models.CharField(_("名称"), max_length=100)
    kind = models.CharField(_("类型"), max_length=10, choices=Kind.choices, default=Kind.BRANCH)
    township = models.ForeignKey(
        Township, on_delete=models.PROTECT, related_name="branches", verbose_name=_("乡镇(街道)")
    )

    history = HistoricalRecords(bases=[HistoryRequestMeta], history_manager=PortalHistoryManager)

    class Meta:
        verbose_name = _("村(社区)党组织")
        verbose_name_plural = _("村(社区)党组织")
        ordering = ["code"]

    def __str__(self) -> str:
        return self.name


class Roster(models.Model):
    """The villages and branches counted in one year. Once frozen it never changes, so a
    year's percentages keep their denominators after villages merge or split."""

    year = models.PositiveSmallIntegerField(
        _("年度"), unique=True, validators=year_range().validators()
    )
    is_frozen = models.BooleanField(_("已冻结"), default=False)
    frozen_at = models.DateTimeField(_("冻结时间"), null=True, blank=True)
    note = models.CharField(_("说明"), max_length=200, blank=True)

    history = HistoricalRecords(bases=[HistoryRequestMeta], history_manager=PortalHistoryManager)

    class Meta:
        verbose_name = _("年度名册")
        verbose_name_plural = _("年度名册")
        ordering = ["-year"]

    def __str__(self) -> str:
        return f"{self.year}年度名册"


class RosterEntry(models.Model):
    """One village in one year's roster, with the branch that covered it that year."""

    roster = models.ForeignKey(
        Roster, on_delete=models.CASCADE, related_name="entries", verbose_name=_("名册")
    )
    village = models.ForeignKey(
        Village, on_delete=models.PROTECT, related_name="roster_entries", verbose_name=_("村(社区)")
    )
    branch = models.ForeignKey(
        Branch, on_delete=models.PROTECT, related_name="roster_entries", verbose_name=_("党组织")
    )

    history = HistoricalRecords(bases=[HistoryRequestMeta], history_manager=PortalHistoryManager)

    class Meta:
        verbose_name = _("名册条目")
        verbose_name_plural = _("名册条目")
        ordering = ["roster", "village__code"]
        constraints = [
            models.UniqueConstraint(
                fields=["roster", "village"],
                name="roster_entry_unique_village",
                violation_error_message=_("该村(社区)已在本年度名册中。"),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.roster.year} {self.village} → {self.branch}"


class WorkUnit(models.Model):
    """A sending unit (派出单位): a city or county department that sends cadres."""

    class Level(models.TextChoices):
        CITY = "city", _("市级")
        COUNTY = "county", _("县级")
        TOWNSHIP = "township", _("乡级")

    name = models.CharField(_("单位名称"), max_length=100, unique=True)
    level = models.CharField(_("层级"), max_length=10, choices=Level.choices)
    county = models.ForeignKey(
        County,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="work_units",
        verbose_name=_("所属县(市、区)"),
    )

    history = HistoricalRecords(bases=[HistoryRequestMeta], history_manager=PortalHistoryManager)

    class Meta:
        verbose_name = _("派出单位")
        verbose_name_plural = _("派出单位")
        ordering = ["level", "name"]

    def __str__(self) -> str:
        return self.name


class Cadre(models.Model):
    """A 联乡帮村 cadre: a person, identified by mobile number, with an optional login."""

    class Level(models.TextChoices):
        CITY = "city", _("市级")
        COUNTY = "county", _("县级")
        TOWNSHIP = "township", _("乡级")

    name = models.CharField(_("姓名"), max_length=30)
    phone = models.CharField(_("手机号"), max_length=11, unique=True, validators=[MOBILE])
    work_unit = models.ForeignKey(
        WorkUnit, on_delete=models.PROTECT, related_name="cadres", verbose_name=_("派出单位")
    )
    position = models.CharField(_("职务"), max_length=60, blank=True)
    level = models.CharField(_("干部层级"), max_length=10, choices=Level.choices)
    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="cadre",
        verbose_name=_("登录账号"),
    )

    history = HistoricalRecords(bases=[HistoryRequestMeta], history_manager=PortalHistoryManager)

    class Meta:
        verbose_name = _("帮扶干部")
        verbose_name_plural = _("帮扶干部")
        ordering = ["name", "phone"]

    def __str__(self) -> str:
        return f"{self.name}（{self.work_unit}）"


class Assignment(models.Model):
    """A cadre linked to a township (联乡) or a village (帮村) for one year."""

    class Kind(models.TextChoices):
        TOWNSHIP = "township", _("联乡")
        VILLAGE = "village", _("帮村")

    cadre = models.ForeignKey(
        Cadre, on_delete=models.CASCADE, related_name="assignments", verbose_name=_("干部")
    )
    kind = models.CharField(_("联系类型"), max_length=10, choices=Kind.choices)
    township = models.ForeignKey(
        Township,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="assignments",
        verbose_name=_("联系乡镇"),
    )
    village = models.ForeignKey(
        Village,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="assignments",
        verbose_name=_("联系村(社区)"),
    )
    year = models.PositiveSmallIntegerField(_("年度"), validators=year_range().validators())
    start_date = models.DateField(_("开始日期"))
    end_date = models.DateField(_("结束日期"))

    history = HistoricalRecords(bases=[HistoryRequestMeta], history_manager=PortalHistoryManager)

    class Meta:
        verbose_name = _("联系点安排")
        verbose_name_plural = _("联系点安排")
        ordering = ["-year", "cadre__name"]
        indexes = [models.Index(fields=["year", "kind"])]
        constraints = [
            models.CheckConstraint(
                condition=(
                    Q(kind="township", township__isnull=False, village__isnull=True)
                    | Q(kind="village", village__isnull=False, township__isnull=True)
                ),
                name="assignment_target_matches_kind",
                violation_error_message=_("联乡须填写乡镇，帮村须填写村(社区)，二者只能填一个。"),
            ),
            models.CheckConstraint(
                condition=Q(end_date__gte=models.F("start_date")),
                name="assignment_dates_ordered",
                violation_error_message=_("结束日期不能早于开始日期。"),
            ),
            models.UniqueConstraint(
                fields=["cadre", "village", "year"],
                condition=Q(village__isnull=False),
                name="assignment_unique_cadre_village_year",
                violation_error_message=_("该干部本年度已联系此村(社区)。"),
            ),
            models.UniqueConstraint(
                fields=["cadre", "township", "year"],
                condition=Q(township__isnull=False),
                name="assignment_unique_cadre_township_year",
                violation_error_message=_("该干部本年度已联系此乡镇。"),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.year} {self.cadre.name} {self.get_kind_display()} {self.target}"

    @property
    def target(self):
        return self.village if self.kind == self.Kind.VILLAGE else self.township

    def clean(self) -> None:
        if self.start_date and self.year and self.start_date.year != self.year:
            raise ValidationError({"start_date": _("开始日期须在所填年度内。")})


class UserRole(models.Model):
    """A login's role and the area it covers. Scoping reads this and nothing else."""

    class Role(models.TextChoices):
        CITY_ADMIN = "city_admin", _("市级管理员")
        CITY_VIEWER = "city_viewer", _("市级查看")
        COUNTY_OFFICIAL = "county_official", _("县级干部")
        TOWNSHIP_OFFICIAL = "township_official", _("乡级干部")
        CADRE = "cadre", _("帮扶干部")

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="portal_role",
        verbose_name=_("用户"),
    )
    role = models.CharField(_("角色"), max_length=20, choices=Role.choices)
    county = models.ForeignKey(
        County, on_delete=models.PROTECT, null=True, blank=True, verbose_name=_("所辖县(市、区)")
    )
    township = models.ForeignKey(
        Township, on_delete=models.PROTECT, null=True, blank=True, verbose_name=_("所辖乡镇")
    )

    history = HistoricalRecords(bases=[HistoryRequestMeta], history_manager=PortalHistoryManager)

    class Meta:
        verbose_name = _("用户角色")
        verbose_name_plural = _("用户角色")
        ordering = ["role", "user__username"]
        constraints = [
            models.CheckConstraint(
                condition=(
                    Q(role="county_official", county__isnull=False, township__isnull=True)
                    | Q(role="township_official", township__isnull=False)
                    | Q(
                        role__in=["city_admin", "city_viewer", "cadre"],
                        county__isnull=True,
                        township__isnull=True,
                    )
                ),
                name="user_role_area_matches_role",
                violation_error_message=_(
                    "县级干部须指定县(市、区)，乡级干部须指定乡镇，其他角色不指定辖区。"
                ),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.user} · {self.get_role_display()}"

    @property
    def area_name(self) -> str:
        if self.township_id:
            return f"{self.township.county.name}{self.township.name}"
        if self.county_id:
            return self.county.name
        if self.role == self.Role.CADRE:
            return "我的联系点"
        return "许昌市"


class ProgrammeYear(models.Model):
    """One year of the programme. Opening it freezes its roster, carries the 联乡/帮村
    links of the year before forward as proposals for the counties, and copies the
    targets. Closing it takes the final snapshots; a closed year's figures never change
    again unless a city admin reopens it with a written reason (kept in the history)."""

    class Status(models.TextChoices):
        OPEN = "open", _("进行中")
        CLOSED = "closed", _("已结账")

    year = models.PositiveSmallIntegerField(
        _("年度"), unique=True, validators=year_range().validators()
    )
    status = models.CharField(_("状态"), max_length=10, choices=Status.choices, default=Status.OPEN)
    opened_at = models.DateTimeField(_("开启时间"), null=True, blank=True)
    closed_at = models.DateTimeField(_("结账时间"), null=True, blank=True)
    reason = models.CharField(
        _("说明"), max_length=500, blank=True, help_text=_("重新开启已结账年度时填写的理由。")
    )

    history = HistoricalRecords(bases=[HistoryRequestMeta], history_manager=PortalHistoryManager)

    class Meta:
        verbose_name = _("工作年度")
        verbose_name_plural = _("工作年度")
        ordering = ["-year"]

    def __str__(self) -> str:
        return f"{self.year}年度（{self.get_status_display()}）"

    @property
    def is_closed(self) -> bool:
        return self.status == self.Status.CLOSED


class AssignmentProposal(models.Model):
    """A 联乡/帮村 link of the year before, proposed for a newly opened year. The county
    confirms it (an Assignment of the new year is written), changes its target first, or
    ends it."""

    class Decision(models.TextChoices):
        PENDING = "pending", _("待确认")
        CONFIRMED = "confirmed", _("已确认")
        ENDED = "ended", _("已结束")

    year = models.PositiveSmallIntegerField(_("年度"), validators=year_range().validators())
    source = models.ForeignKey(
        Assignment,
        on_delete=models.CASCADE,
        related_name="proposals",
        verbose_name=_("上年度联系点"),
    )
    cadre = models.ForeignKey(
        Cadre, on_delete=models.CASCADE, related_name="proposals", verbose_name=_("干部")
    )
    kind = models.CharField(_("联系类型"), max_length=10, choices=Assignment.Kind.choices)
    county = models.ForeignKey(
        County, on_delete=models.PROTECT, related_name="proposals", verbose_name=_("县(市、区)")
    )
    township = models.ForeignKey(
        Township,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="proposals",
        verbose_name=_("联系乡镇"),
    )
    village = models.ForeignKey(
        Village,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="proposals",
        verbose_name=_("联系村(社区)"),
    )
    decision = models.CharField(
        _("处理"), max_length=10, choices=Decision.choices, default=Decision.PENDING
    )
    assignment = models.OneToOneField(
        Assignment,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="from_proposal",
        verbose_name=_("确认后的联系点"),
    )
    decided_at = models.DateTimeField(_("处理时间"), null=True, blank=True)

    history = HistoricalRecords(bases=[HistoryRequestMeta], history_manager=PortalHistoryManager)

    class Meta:
        verbose_name = _("联系点延续建议")
        verbose_name_plural = _("联系点延续建议")
        ordering = ["year", "county", "kind", "cadre__name"]
        indexes = [models.Index(fields=["year", "county", "decision"])]
        constraints = [
            models.UniqueConstraint(
                fields=["source", "year"],
                name="proposal_unique_source_year",
                violation_error_message=_("该联系点已有本年度的延续建议。"),
            ),
            models.CheckConstraint(
                condition=(
                    Q(kind="township", township__isnull=False, village__isnull=True)
                    | Q(kind="village", village__isnull=False, township__isnull=True)
                ),
                name="proposal_target_matches_kind",
                violation_error_message=_("联乡须填写乡镇，帮村须填写村(社区)，二者只能填一个。"),
            ),
        ]

    def __str__(self) -> str:
        target = self.village if self.kind == Assignment.Kind.VILLAGE else self.township
        return f"{self.year} {self.cadre.name} {self.get_kind_display()} {target}"


class LocationProposal(models.Model):
    """A coordinate learned for a village that has none: the median of the GPS fixes of its
    approved visits, waiting for a township or county official to confirm or reject it."""

    class Decision(models.TextChoices):
        PENDING = "pending", _("待确认")
        CONFIRMED = "confirmed", _("已确认")
        REJECTED = "rejected", _("已驳回")

    village = models.OneToOneField(
        Village,
        on_delete=models.CASCADE,
        related_name="location_proposal",
        verbose_name=_("村(社区)"),
    )
    latitude = models.DecimalField(_("纬度"), max_digits=9, decimal_places=6)
    longitude = models.DecimalField(_("经度"), max_digits=9, decimal_places=6)
    fixes = models.PositiveIntegerField(_("走访定位数"))
    computed_at = models.DateTimeField(_("推算时间"))
    decision = models.CharField(
        _("处理结果"), max_length=10, choices=Decision.choices, default=Decision.PENDING
    )
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("处理人"),
    )
    decided_at = models.DateTimeField(_("处理时间"), null=True, blank=True)

    class Meta:
        verbose_name = _("村庄位置推算")
        verbose_name_plural = _("村庄位置推算")
        ordering = ["village__code"]
        indexes = [models.Index(fields=["decision"])]

    def __str__(self) -> str:
        return f"{self.village}：{self.latitude}, {self.longitude}（{self.fixes} 次定位）"


class Installation(models.Model):
    """This database's identity: one row (pk=1) with an id drawn when the database was
    made (migration 0009; again if the row is ever missing). Whatever a process keeps about
    this database in a cache shared with other databases (the login cache, villages.auth)
    is keyed by it, so a recreated database, or another deployment on the same Redis,
    never meets those copies. A restored dump brings its own row back with it."""

    install_id = models.UUIDField(_("安装标识"), default=uuid.uuid4, unique=True, editable=False)
    created_at = models.DateTimeField(_("创建时间"), auto_now_add=True)

    class Meta:
        verbose_name = _("数据库标识")
        verbose_name_plural = _("数据库标识")

    def __str__(self) -> str:
        return str(self.install_id)

    @classmethod
    def current_id(cls) -> uuid.UUID:
        """This database's id (made here if the row is missing, e.g. after a flush)."""
        row, _created = cls.objects.get_or_create(pk=1)
        return row.install_id


# Logins keep history too: who set a password (never the hash), activated or deactivated an
# account, made it staff or superuser, or changed its groups and permissions, and from where.
simple_history.register(
    get_user_model(),
    app="villages",
    records_class=UserHistoricalRecords,
    bases=[UserHistoryMeta],
    history_manager=PortalHistoryManager,
    excluded_fields=["password", "last_login"],
    m2m_fields=["groups", "user_permissions"],
)
