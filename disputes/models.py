"""三零创建: the ledgers behind it (矛盾纠纷, 信访, 安全事故和案件, 隐患排查, 零报告), the
enterprises and institutions it covers, and the yearly 三零 status of villages and units.

Every ledger row sits in a township, and in one of its villages and/or one 三零 unit. The
township is kept on the row (filled in by the services from the village or the unit) so
that scoping and per-area counts never need more than one join.
"""

import datetime

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

from core.history import HistoryRequestMeta, PortalHistoryManager
from villages.bounds import Range, year_range

# People in one dispute or petition (a whole village's collective claim at most), and the
# dead and injured of one incident: the 三零 rule's own limits (10,000 and 1,000) match.
PEOPLE_INVOLVED = Range("涉及人数", 1, 10000)
DEATHS = Range("死亡人数", 0, 1000)
INJURIES = Range("受伤人数", 0, 1000)


class Satisfaction(models.TextChoices):
    SATISFIED = "satisfied", _("满意")
    BASIC = "basic", _("基本满意")
    UNSATISFIED = "unsatisfied", _("不满意")


class ThreeZeroUnit(models.Model):
    """An enterprise or institution (企事业单位) taking part in 三零创建."""

    class Type(models.TextChoices):
        SCHOOL = "school", _("学校")
        KINDERGARTEN = "kindergarten", _("幼儿园")
        RESEARCH = "research", _("科研机构")
        HOSPITAL = "hospital", _("医院")
        SCENIC = "scenic", _("景区")
        MALL = "mall", _("商场")
        MARKET = "market", _("市场")
        FACTORY = "factory", _("厂矿")
        STATION = "station", _("车站")
        AIRPORT = "airport", _("机场")
        ENTERPRISE = "enterprise", _("企业")
        OUTLET = "outlet", _("生产和营业网点")

    name = models.CharField(_("单位名称"), max_length=100)
    unit_type = models.CharField(_("单位类型"), max_length=16, choices=Type.choices)
    township = models.ForeignKey(
        "villages.Township",
        on_delete=models.PROTECT,
        related_name="three_zero_units",
        verbose_name=_("所在乡镇(街道)"),
    )
    village = models.ForeignKey(
        "villages.Village",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="three_zero_units",
        verbose_name=_("所在村(社区)"),
    )
    credit_code = models.CharField(_("统一社会信用代码"), max_length=18, blank=True)
    contact_name = models.CharField(_("负责人"), max_length=30, blank=True)
    contact_phone = models.CharField(_("联系电话"), max_length=20, blank=True)
    year_from = models.PositiveSmallIntegerField(
        _("纳入年度"), validators=year_range("纳入年度").validators()
    )
    year_to = models.PositiveSmallIntegerField(
        _("退出年度"),
        null=True,
        blank=True,
        validators=year_range("退出年度").validators(),
        help_text=_("最后一个参加创建的年度；留空表示仍在。"),
    )
    created_at = models.DateTimeField(_("创建时间"), auto_now_add=True)
    updated_at = models.DateTimeField(_("更新时间"), auto_now=True)
    history = HistoricalRecords(
        bases=[HistoryRequestMeta],
        history_manager=PortalHistoryManager,
        excluded_fields=["updated_at"],
    )

    class Meta:
        verbose_name = _("三零企事业单位")
        verbose_name_plural = _("三零企事业单位")
        ordering = ["township__code", "name"]
        constraints = [
            models.UniqueConstraint(
                fields=["township", "name"],
                name="three_zero_unit_unique_name",
                violation_error_message=_("本乡镇(街道)已有同名单位。"),
            ),
            models.CheckConstraint(
                condition=Q(year_to__isnull=True) | Q(year_to__gte=models.F("year_from")),
                name="three_zero_unit_years_ordered",
                violation_error_message=_("退出年度不能早于纳入年度。"),
            ),
        ]

    def __str__(self) -> str:
        return self.name

    def active_in(self, year: int) -> bool:
        return self.year_from <= year and (self.year_to is None or self.year_to >= year)


class LedgerRecord(models.Model):
    """What every ledger row has: where it happened, who wrote it, when."""

    township = models.ForeignKey(
        "villages.Township",
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("乡镇(街道)"),
    )
    village = models.ForeignKey(
        "villages.Village",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("村(社区)"),
    )
    unit = models.ForeignKey(
        ThreeZeroUnit,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("企事业单位"),
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("登记人"),
    )
    created_at = models.DateTimeField(_("登记时间"), auto_now_add=True)
    updated_at = models.DateTimeField(_("更新时间"), auto_now=True)

    class Meta:
        abstract = True

    @property
    def place_label(self) -> str:
        parts = [self.township.name]
        if self.village_id:
            parts.append(self.village.name)
        if self.unit_id:
            parts.append(self.unit.name)
        return " · ".join(parts)


def _rule_value(record, day: datetime.date, name: str):
    """Parameter `name` of the 三零 rule in force on `day`, for one ledger record: the value
    the list selectors annotated (`sanling_<name>`, read for the date `sanling_day`) while
    the record's date is still that one, else the rule read once and kept on the record."""
    if getattr(record, "sanling_day", None) == day and hasattr(record, f"sanling_{name}"):
        return getattr(record, f"sanling_{name}")
    kept = record.__dict__.get("_sanling_rule")
    if kept is None or kept[0] != day:
        kept = record.__dict__["_sanling_rule"] = (day, SanlingRule.in_force_on(day))
    return getattr(kept[1], name)


class Dispute(LedgerRecord):
    """One 矛盾纠纷 found (排查) and worked on (化解)."""

    class Type(models.TextChoices):
        MARRIAGE = "marriage", _("婚姻家庭(继承)纠纷")
        NEIGHBOUR = "neighbour", _("邻里纠纷")
        HOMESTEAD = "homestead", _("房屋宅基地纠纷")
        CONTRACT = "contract", _("合同纠纷")
        BUSINESS = "business", _("生产经营纠纷")
        DAMAGES = "damages", _("损害赔偿纠纷")
        LAND = "land", _("山林土地纠纷")
        EXPROPRIATION = "expropriation", _("征地拆迁纠纷")
        POLLUTION = "pollution", _("环境污染纠纷")
        LABOUR = "labour", _("劳动争议纠纷")
        CONSUMER = "consumer", _("消费纠纷")
        MEDICAL = "medical", _("医疗纠纷")
        TRAFFIC = "traffic", _("道路交通事故纠纷")
        PROPERTY = "property", _("物业纠纷")
        VILLAGE_AFFAIRS = "village_affairs", _("村务管理纠纷")
        FAMILY_PLANNING = "family_planning", _("计划生育纠纷")
        OTHER = "other", _("其他纠纷")

    class Source(models.TextChoices):
        SCREENING = "screening", _("主动排查")
        APPLICATION = "application", _("当事人申请")
        REFERRAL = "referral", _("委托移送")
        GRID = "grid", _("网格上报")
        OTHER = "other", _("其他")

    class Risk(models.TextChoices):
        RED = "red", _("红色")
        ORANGE = "orange", _("橙色")
        YELLOW = "yellow", _("黄色")

    class Method(models.TextChoices):
        PEOPLE = "people", _("人民调解")
        ADMINISTRATIVE = "administrative", _("行政调解")
        JUDICIAL = "judicial", _("司法调解")
        PETITION = "petition", _("信访渠道")
        LITIGATION = "litigation", _("诉讼引导")
        ARBITRATION = "arbitration", _("仲裁")
        OTHER = "other", _("其他")

    class Status(models.TextChoices):
        REGISTERED = "registered", _("登记")
        IN_PROGRESS = "in_progress", _("化解中")
        RESOLVED = "resolved", _("已化解")
        REPORTED = "reported", _("未化解已上报")

    dispute_type = models.CharField(_("纠纷类型"), max_length=20, choices=Type.choices)
    source = models.CharField(_("来源"), max_length=12, choices=Source.choices)
    registered_on = models.DateField(_("排查日期"))
    summary = models.TextField(_("简要情况"), max_length=2000)
    claim = models.TextField(_("诉求"), max_length=1000, blank=True)
    parties = models.CharField(_("当事人"), max_length=200)
    party_id_numbers = models.CharField(_("当事人身份证号"), max_length=200, blank=True)
    party_phones = models.CharField(_("当事人联系电话"), max_length=200, blank=True)
    people_involved = models.PositiveIntegerField(
        _("涉及人数"), default=2, validators=PEOPLE_INVOLVED.validators()
    )
    risk_level = models.CharField(_("风险等级"), max_length=8, choices=Risk.choices)
    responsible = models.CharField(_("化解责任人/单位"), max_length=100)
    deadline = models.DateField(_("化解时限"), null=True, blank=True)
    method = models.CharField(_("化解方式"), max_length=16, choices=Method.choices, blank=True)
    measures = models.TextField(_("化解措施"), max_length=2000, blank=True)
    status = models.CharField(
        _("化解状态"), max_length=12, choices=Status.choices, default=Status.REGISTERED
    )
    started_on = models.DateField(_("开始化解日期"), null=True, blank=True)
    resolved_on = models.DateField(_("化解日期"), null=True, blank=True)
    reported_on = models.DateField(_("上报日期"), null=True, blank=True)
    reported_to = models.CharField(_("上报/移交单位"), max_length=100, blank=True)
    agreement_amount = models.DecimalField(
        _("协议金额(元)"), max_digits=12, decimal_places=2, null=True, blank=True
    )
    follow_up_on = models.DateField(_("回访日期"), null=True, blank=True)
    follow_up_note = models.CharField(_("回访情况"), max_length=500, blank=True)
    satisfaction = models.CharField(
        _("群众满意度"), max_length=12, choices=Satisfaction.choices, blank=True
    )
    history = HistoricalRecords(
        bases=[HistoryRequestMeta],
        history_manager=PortalHistoryManager,
        excluded_fields=["updated_at"],
    )

    class Meta:
        verbose_name = _("矛盾纠纷")
        verbose_name_plural = _("矛盾纠纷台账")
        ordering = ["-registered_on", "-id"]
        indexes = [
            models.Index(fields=["registered_on", "status"]),
            models.Index(fields=["township", "registered_on"]),
            models.Index(fields=["village", "registered_on"]),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(resolved_on__isnull=True)
                | Q(resolved_on__gte=models.F("registered_on")),
                name="dispute_resolved_after_registered",
                violation_error_message=_("化解日期不能早于排查日期。"),
            ),
            models.CheckConstraint(
                condition=~Q(status="resolved") | Q(resolved_on__isnull=False),
                name="dispute_resolved_needs_date",
                violation_error_message=_("已化解的纠纷必须有化解日期。"),
            ),
            models.CheckConstraint(
                condition=PEOPLE_INVOLVED.q("people_involved"),
                name="dispute_people_range",
                violation_error_message=_("涉及人数必须在 1–10000 之间。"),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.number} {self.get_dispute_type_display()}"

    @property
    def number(self) -> str:
        """编号: 区划代码 + 年度 + 流水号."""
        code = self.village.code if self.village_id else self.township.code
        return f"{code}{self.registered_on:%Y}{self.pk or 0:06d}"

    @property
    def is_collective(self) -> bool:
        """群体性: at least the threshold of the 三零 rule in force on its 排查日期."""
        threshold = _rule_value(self, self.registered_on, "dispute_collective_threshold")
        return self.people_involved >= threshold

    @property
    def is_open(self) -> bool:
        return self.status in (self.Status.REGISTERED, self.Status.IN_PROGRESS)

    @property
    def is_overdue(self) -> bool:
        return bool(self.deadline and self.is_open and self.deadline < timezone.localdate())


class Petition(LedgerRecord):
    """One 信访 item, with the statutory clock (受理 15 days, 办理 60 days, +30 extension)."""

    class Channel(models.TextChoices):
        LETTER = "letter", _("来信")
        VISIT = "visit", _("来访")
        ONLINE = "online", _("网上投诉")
        MAILBOX = "mailbox", _("领导信箱")
        TRANSFERRED = "transferred", _("上级转办")
        HOTLINE = "hotline", _("12345")
        OTHER = "other", _("其他")

    class Level(models.TextChoices):
        VILLAGE = "village", _("村")
        TOWNSHIP = "township", _("乡")
        COUNTY = "county", _("县")
        CITY = "city", _("市")
        PROVINCE = "province", _("省")
        BEIJING = "beijing", _("京")

    class Status(models.TextChoices):
        REGISTERED = "registered", _("待受理")
        ACCEPTED = "accepted", _("办理中")
        CONCLUDED = "concluded", _("已办结")
        REJECTED = "rejected", _("不予受理")
        SUSPENDED = "suspended", _("中止")

    LEVEL_ORDER = [c[0] for c in Level.choices]

    channel = models.CharField(_("信访渠道"), max_length=12, choices=Channel.choices)
    received_on = models.DateField(_("登记日期"))
    petitioner_name = models.CharField(_("信访人"), max_length=50, blank=True)
    is_anonymous = models.BooleanField(_("匿名"), default=False)
    petitioner_id_number = models.CharField(_("信访人身份证号"), max_length=18, blank=True)
    petitioner_phone = models.CharField(_("信访人联系电话"), max_length=20, blank=True)
    people_involved = models.PositiveIntegerField(
        _("涉及人数"), default=1, validators=PEOPLE_INVOLVED.validators()
    )
    subject = models.TextField(_("事由及诉求"), max_length=2000)
    level_reached = models.CharField(_("信访层级"), max_length=10, choices=Level.choices)
    is_skip_level = models.BooleanField(_("越级访"), default=False)
    is_collective = models.BooleanField(_("集体访"), default=False)
    is_repeat = models.BooleanField(_("重复访"), default=False)
    handler = models.CharField(_("承办人/单位"), max_length=100, blank=True)
    status = models.CharField(
        _("办理状态"), max_length=12, choices=Status.choices, default=Status.REGISTERED
    )
    accepted_on = models.DateField(_("受理日期"), null=True, blank=True)
    extended = models.BooleanField(_("已延期"), default=False)
    concluded_on = models.DateField(_("办结日期"), null=True, blank=True)
    result = models.TextField(_("处理意见/结果"), max_length=2000, blank=True)
    satisfaction = models.CharField(
        _("满意度"), max_length=12, choices=Satisfaction.choices, blank=True
    )
    history = HistoricalRecords(
        bases=[HistoryRequestMeta],
        history_manager=PortalHistoryManager,
        excluded_fields=["updated_at"],
    )

    class Meta:
        verbose_name = _("信访事项")
        verbose_name_plural = _("信访台账")
        ordering = ["-received_on", "-id"]
        indexes = [
            models.Index(fields=["received_on", "status"]),
            models.Index(fields=["township", "received_on"]),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(accepted_on__isnull=True) | Q(accepted_on__gte=models.F("received_on")),
                name="petition_accepted_after_received",
                violation_error_message=_("受理日期不能早于登记日期。"),
            ),
            models.CheckConstraint(
                condition=Q(concluded_on__isnull=True)
                | Q(concluded_on__gte=models.F("received_on")),
                name="petition_concluded_after_received",
                violation_error_message=_("办结日期不能早于登记日期。"),
            ),
            models.CheckConstraint(
                condition=PEOPLE_INVOLVED.q("people_involved"),
                name="petition_people_range",
                violation_error_message=_("涉及人数必须在 1–10000 之间。"),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.received_on:%Y-%m-%d} {self.get_channel_display()} {self.subject[:20]}"

    @property
    def is_open(self) -> bool:
        return self.status in (self.Status.REGISTERED, self.Status.ACCEPTED)

    def _rule(self, name: str) -> int:
        return _rule_value(self, self.received_on, name)

    @property
    def due_on(self) -> datetime.date | None:
        """The date the current step must be done by (受理 or 办结), None once closed; the
        days are those of the 三零 rule in force on its 登记日期."""
        if self.status == self.Status.REGISTERED:
            return self.received_on + datetime.timedelta(days=self._rule("petition_accept_days"))
        if self.status == self.Status.ACCEPTED:
            start = self.accepted_on or self.received_on
            days = self._rule("petition_handle_days")
            if self.extended:
                days += self._rule("petition_extension_days")
            return start + datetime.timedelta(days=days)
        return None

    @property
    def clock(self) -> str:
        """办结 (green), 正常, 临期 (yellow), 超期 (red) or 中止 (grey)."""
        if self.status in (self.Status.CONCLUDED, self.Status.REJECTED):
            return "done"
        if self.status == self.Status.SUSPENDED:
            return "suspended"
        today = timezone.localdate()
        due = self.due_on
        if due < today:
            return "overdue"
        if (due - today).days <= self._rule("petition_due_soon_days"):
            return "due_soon"
        return "normal"

    CLOCK_LABELS = {
        "done": _("办结"),
        "suspended": _("中止"),
        "overdue": _("超期"),
        "due_soon": _("临期"),
        "normal": _("正常"),
    }

    @property
    def clock_label(self) -> str:
        return str(self.CLOCK_LABELS[self.clock])


class Incident(LedgerRecord):
    """A 安全事故 or a 案件 (刑事案件 / 重大治安案件)."""

    class Kind(models.TextChoices):
        PRODUCTION = "production", _("生产安全事故")
        TRAFFIC = "traffic", _("道路交通事故")
        FIRE = "fire", _("火灾")
        DROWNING = "drowning", _("溺水")
        ELECTROCUTION = "electrocution", _("触电")
        OTHER_ACCIDENT = "other_accident", _("其他安全事故")
        CRIMINAL = "criminal", _("刑事案件")
        MAJOR_PUBLIC_ORDER = "major_public_order", _("重大治安案件")

    class Source(models.TextChoices):
        POLICE = "police", _("公安")
        EMERGENCY = "emergency", _("应急管理")
        PETITION = "petition", _("信访")
        GRID = "grid", _("网格上报")
        REPORT = "report", _("群众反映")
        OTHER = "other", _("其他")

    kind = models.CharField(_("类别"), max_length=20, choices=Kind.choices)
    occurred_on = models.DateField(_("发生日期"))
    place = models.CharField(_("发生地点"), max_length=200)
    summary = models.TextField(_("简要情况"), max_length=2000)
    deaths = models.IntegerField(_("死亡人数"), default=0, validators=DEATHS.validators())
    injuries = models.IntegerField(_("受伤人数"), default=0, validators=INJURIES.validators())
    source = models.CharField(_("信息来源"), max_length=12, choices=Source.choices)
    handling = models.TextField(_("处置情况"), max_length=2000, blank=True)
    history = HistoricalRecords(
        bases=[HistoryRequestMeta],
        history_manager=PortalHistoryManager,
        excluded_fields=["updated_at"],
    )

    class Meta:
        verbose_name = _("安全事故和案件")
        verbose_name_plural = _("安全事故和案件台账")
        ordering = ["-occurred_on", "-id"]
        indexes = [models.Index(fields=["township", "occurred_on"])]
        constraints = [
            models.CheckConstraint(
                condition=DEATHS.q("deaths") & INJURIES.q("injuries"),
                name="incident_casualties_range",
                violation_error_message=_("死亡、受伤人数必须在 0–1000 之间。"),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.occurred_on:%Y-%m-%d} {self.get_kind_display()}"

    @property
    def is_case(self) -> bool:
        return self.kind in (self.Kind.CRIMINAL, self.Kind.MAJOR_PUBLIC_ORDER)


class HazardCheck(LedgerRecord):
    """One safety hazard found at a site, and its rectification (整改)."""

    class SiteType(models.TextChoices):
        SCHOOL = "school", _("学校")
        KINDERGARTEN = "kindergarten", _("幼儿园")
        HOSPITAL = "hospital", _("医院")
        SCENIC = "scenic", _("景区")
        MALL = "mall", _("商场")
        MARKET = "market", _("市场")
        FACTORY = "factory", _("厂矿")
        OTHER = "other", _("其他")

    class Regulated(models.TextChoices):
        CHEMICALS = "chemicals", _("危险化学品")
        EXPLOSIVES = "explosives", _("民爆物品")
        RADIOACTIVE = "radioactive", _("放射性物品")
        CONTROLLED_TOOLS = "controlled_tools", _("管制器具")

    class Status(models.TextChoices):
        PENDING = "pending", _("待整改")
        RECTIFYING = "rectifying", _("整改中")
        RECTIFIED = "rectified", _("已整改")

    site_type = models.CharField(_("场所类型"), max_length=16, choices=SiteType.choices)
    site_name = models.CharField(_("场所名称"), max_length=100)
    checked_on = models.DateField(_("排查日期"))
    hazard = models.TextField(_("隐患内容"), max_length=2000)
    regulated_items = models.JSONField(_("涉及管控物品"), default=list, blank=True)
    responsible = models.CharField(_("整改责任人"), max_length=100)
    deadline = models.DateField(_("整改时限"))
    status = models.CharField(
        _("整改状态"), max_length=12, choices=Status.choices, default=Status.PENDING
    )
    rectified_on = models.DateField(_("整改完成日期"), null=True, blank=True)
    note = models.TextField(_("整改情况"), max_length=2000, blank=True)
    history = HistoricalRecords(
        bases=[HistoryRequestMeta],
        history_manager=PortalHistoryManager,
        excluded_fields=["updated_at"],
    )

    class Meta:
        verbose_name = _("隐患排查")
        verbose_name_plural = _("隐患排查台账")
        ordering = ["-checked_on", "-id"]
        indexes = [models.Index(fields=["township", "checked_on"])]
        constraints = [
            models.CheckConstraint(
                condition=Q(rectified_on__isnull=True)
                | Q(rectified_on__gte=models.F("checked_on")),
                name="hazard_rectified_after_checked",
                violation_error_message=_("整改完成日期不能早于排查日期。"),
            ),
            models.CheckConstraint(
                condition=~Q(status="rectified") | Q(rectified_on__isnull=False),
                name="hazard_rectified_needs_date",
                violation_error_message=_("已整改的隐患必须有整改完成日期。"),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.checked_on:%Y-%m-%d} {self.site_name}"

    @property
    def regulated_labels(self) -> list[str]:
        labels = dict(self.Regulated.choices)
        return [str(labels.get(v, v)) for v in self.regulated_items]

    @property
    def is_overdue(self) -> bool:
        return self.status != self.Status.RECTIFIED and self.deadline < timezone.localdate()


class ZeroReport(models.Model):
    """A village's monthly 零报告: "本月无矛盾纠纷", so that an empty month is told apart
    from a month nobody checked."""

    village = models.ForeignKey(
        "villages.Village",
        on_delete=models.PROTECT,
        related_name="zero_reports",
        verbose_name=_("村(社区)"),
    )
    month = models.DateField(_("月份"), help_text=_("该月 1 日"))
    note = models.CharField(_("说明"), max_length=200, blank=True)
    reported_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        related_name="+",
        verbose_name=_("报告人"),
    )
    reported_at = models.DateTimeField(_("报告时间"), auto_now_add=True)
    history = HistoricalRecords(bases=[HistoryRequestMeta], history_manager=PortalHistoryManager)

    class Meta:
        verbose_name = _("矛盾纠纷零报告")
        verbose_name_plural = _("矛盾纠纷零报告")
        ordering = ["-month", "village__code"]
        constraints = [
            models.UniqueConstraint(
                fields=["village", "month"],
                name="zero_report_unique_month",
                violation_error_message=_("该村(社区)本月已报告。"),
            ),
            models.CheckConstraint(
                condition=Q(month__day=1),
                name="zero_report_first_of_month",
                violation_error_message=_("月份须为该月 1 日。"),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.village} {self.month:%Y年%m月} 零报告"


class SanlingStatus(models.Model):
    """The yearly 三零 status of one village or one unit: the value derived from the
    records by `disputes.sanling`, and an optional override (审核) with its reason."""

    class Override(models.TextChoices):
        MET = "met", _("达标")
        NOT_MET = "not_met", _("不达标")

    year = models.PositiveSmallIntegerField(_("年度"), validators=year_range().validators())
    village = models.ForeignKey(
        "villages.Village",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="sanling_statuses",
        verbose_name=_("村(社区)"),
    )
    unit = models.ForeignKey(
        ThreeZeroUnit,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="statuses",
        verbose_name=_("企事业单位"),
    )
    derived_met = models.BooleanField(_("按记录认定达标"), default=True)
    derived_reasons = models.JSONField(_("不达标原因"), default=list, blank=True)
    override = models.CharField(_("人工认定"), max_length=8, choices=Override.choices, blank=True)
    override_reason = models.CharField(_("认定理由"), max_length=500, blank=True)
    override_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("认定人"),
    )
    override_at = models.DateTimeField(_("认定时间"), null=True, blank=True)
    computed_at = models.DateTimeField(_("计算时间"), null=True, blank=True)
    history = HistoricalRecords(
        bases=[HistoryRequestMeta],
        history_manager=PortalHistoryManager,
        excluded_fields=["computed_at"],
    )

    class Meta:
        verbose_name = _("三零年度状态")
        verbose_name_plural = _("三零年度状态")
        ordering = ["-year", "id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(village__isnull=False, unit__isnull=True)
                | Q(village__isnull=True, unit__isnull=False),
                name="sanling_status_one_subject",
                violation_error_message=_("三零状态须对应一个村(社区)或一个单位。"),
            ),
            models.UniqueConstraint(
                fields=["year", "village"],
                condition=Q(village__isnull=False),
                name="sanling_status_unique_village_year",
            ),
            models.UniqueConstraint(
                fields=["year", "unit"],
                condition=Q(unit__isnull=False),
                name="sanling_status_unique_unit_year",
            ),
            models.CheckConstraint(
                condition=Q(override="") | ~Q(override_reason=""),
                name="sanling_override_needs_reason",
                violation_error_message=_("人工认定必须填写理由。"),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.year} {self.subject} {'达标' if self.met else '不达标'}"

    @property
    def subject(self):
        return self.village if self.village_id else self.unit

    @property
    def met(self) -> bool:
        """The value that counts: the override when there is one, else the derived one."""
        if self.override:
            return self.override == self.Override.MET
        return self.derived_met


ACCIDENT_KINDS = (
    Incident.Kind.PRODUCTION,
    Incident.Kind.TRAFFIC,
    Incident.Kind.FIRE,
    Incident.Kind.DROWNING,
    Incident.Kind.ELECTROCUTION,
    Incident.Kind.OTHER_ACCIDENT,
)
CASE_KINDS = (Incident.Kind.CRIMINAL, Incident.Kind.MAJOR_PUBLIC_ORDER)


def default_accident_kinds() -> list[str]:
    return [str(k) for k in ACCIDENT_KINDS]


def default_case_kinds() -> list[str]:
    return [str(k) for k in CASE_KINDS]


def default_high_risk_levels() -> list[str]:
    return [Dispute.Risk.RED.value]


def _days(label: str, default: int, *, minimum: int = 1, help_text: str = ""):
    return models.PositiveSmallIntegerField(
        label,
        default=default,
        validators=[MinValueValidator(minimum), MaxValueValidator(365)],
        help_text=help_text,
    )


class SanlingRule(models.Model):
    """The 三零 rule (what breaks 零上访、零事故、零案件) and the ledger parameters, from a
    date on. The exact provincial 细则 is not public, so the city sets them here.

    Like the workday rule, a period is judged by the newest rule in force on its first
    day: a year's 三零 status by the rule in force on its 1 January, a petition's
    deadlines by the rule in force on its 登记日期, a dispute's 群体性 and 高风险 by the
    rule in force on its 排查日期. A new rule therefore never re-judges the years before
    its date, and one that would reach into a closed programme year is refused (the
    services). The field defaults are the rule used when no row is in force."""

    effective_from = models.DateField(
        _("生效日期"),
        unique=True,
        help_text=_(
            "年度三零状态按该年 1 月 1 日有效的规则认定；信访期限按登记日期、"
            "矛盾纠纷按排查日期适用当日有效的规则。"
        ),
    )
    petition_min_level = models.CharField(
        _("零上访：计入的信访层级"),
        max_length=10,
        choices=Petition.Level.choices,
        default=Petition.Level.COUNTY,
        help_text=_("达到该层级及以上的信访计入。"),
    )
    petition_skip_level_only = models.BooleanField(
        _("零上访：只计越级访"),
        default=True,
        help_text=_("勾选：只有越级访计入；不勾选：达到上述层级的信访都计入。"),
    )
    accident_kinds = models.JSONField(_("零事故：计入的事故类别"), default=default_accident_kinds)
    accident_min_casualties = models.PositiveSmallIntegerField(
        _("零事故：伤亡人数下限"),
        default=1,
        validators=[MaxValueValidator(1000)],
        help_text=_("死亡加受伤人数达到此数的事故计入；填 0 表示不论有无伤亡。"),
    )
    case_kinds = models.JSONField(_("零案件：计入的案件类别"), default=default_case_kinds)
    unit_records_break_village = models.BooleanField(
        _("企事业单位的记录同时计入所在村(社区)"), default=False
    )
    petition_accept_days = _days(
        _("信访受理时限(日)"), 15, help_text=_("登记后多少日内决定是否受理。")
    )
    petition_handle_days = _days(_("信访办理时限(日)"), 60, help_text=_("受理后多少日内办结。"))
    petition_extension_days = _days(_("信访延期(日)"), 30, minimum=0)
    petition_due_soon_days = _days(
        _("信访临期提醒(日)"), 5, minimum=0, help_text=_("距期限不超过多少日时显示“临期”。")
    )
    dispute_collective_threshold = models.PositiveSmallIntegerField(
        _("群体性纠纷人数"),
        default=5,
        validators=[MinValueValidator(2), MaxValueValidator(10000)],
        help_text=_("涉及人数达到此数的矛盾纠纷为群体性纠纷。"),
    )
    dispute_high_risk_levels = models.JSONField(
        _("高风险纠纷的风险等级"), default=default_high_risk_levels
    )
    note = models.CharField(_("说明"), max_length=200, blank=True)
    history = HistoricalRecords(bases=[HistoryRequestMeta], history_manager=PortalHistoryManager)

    LIST_CHOICES = {
        "accident_kinds": [(k.value, k.label) for k in ACCIDENT_KINDS],
        "case_kinds": [(k.value, k.label) for k in CASE_KINDS],
        "dispute_high_risk_levels": Dispute.Risk.choices,
    }

    class Meta:
        verbose_name = _("三零规则")
        verbose_name_plural = _("三零规则")
        ordering = ["-effective_from"]

    def __str__(self) -> str:
        if self.effective_from is None:
            return "默认三零规则"
        day = self.effective_from
        return f"{day.year}年{day.month}月{day.day}日起施行的三零规则"

    @classmethod
    def in_force_on(cls, day: datetime.date, *, rules=None) -> "SanlingRule":
        """The rule in force on `day`: the newest one whose effective date is not after it,
        among `rules` (one query when not given), else the coded rule (the field defaults).
        Here rather than in disputes.sanling, which reads the models: the ledger records'
        own properties need it (`_rule_value`)."""
        if rules is None:
            found = cls.objects.filter(effective_from__lte=day).order_by("-effective_from")
            return found.first() or cls()
        for rule in sorted(rules, key=lambda r: r.effective_from, reverse=True):
            if rule.effective_from <= day:
                return rule
        return cls()

    def clean(self):
        errors = {}
        for name, choices in self.LIST_CHOICES.items():
            value = getattr(self, name)
            allowed = [c[0] for c in choices]
            label = self._meta.get_field(name).verbose_name
            if not isinstance(value, list) or not value:
                errors[name] = _("请至少选择一项：%(label)s。") % {"label": label}
            elif any(v not in allowed for v in value) or len(set(value)) != len(value):
                errors[name] = _("%(label)s中有无效或重复的选项。") % {"label": label}
            else:
                setattr(self, name, [v for v in allowed if v in value])
        if errors:
            raise ValidationError(errors)

    @property
    def petition_levels(self) -> list[str]:
        order = Petition.LEVEL_ORDER
        return order[order.index(self.petition_min_level) :]

    @property
    def high_risk_label(self) -> str:
        labels = dict(Dispute.Risk.choices)
        return "、".join(str(labels[v]) for v in self.dispute_high_risk_levels) + "风险"

    def describe(self) -> list[str]:
        """The rule in words, for the pages."""
        levels = dict(Petition.Level.choices)
        kinds = dict(Incident.Kind.choices)
        petition = f"{levels[self.petition_min_level]}级及以上"
        petition += "越级访" if self.petition_skip_level_only else "信访"
        if self.accident_min_casualties:
            harm = f"造成人员伤亡（死亡+受伤≥{self.accident_min_casualties}人）的"
        else:
            harm = ""
        lines = [
            f"零上访：年内发生{petition}即不达标",
            f"零事故：年内发生{harm}"
            + "、".join(str(kinds[k]) for k in self.accident_kinds)
            + "即不达标",
            "零案件：年内发生" + "、".join(str(kinds[k]) for k in self.case_kinds) + "即不达标",
            "企事业单位的记录同时计入所在村(社区)"
            if self.unit_records_break_village
            else "企事业单位的记录只计入该单位，不计入所在村(社区)",
        ]
        if self.effective_from is None:
            lines.append("以上为系统默认规则")
        else:
            day = self.effective_from
            lines.append(f"以上为{day.year}年{day.month}月{day.day}日起施行的规则")
        return lines
