"""五星支部: the star schemes (as data), the yearly award of each star to each branch with
its review chain, the rules an admin may change, the yearly lock, and 软弱涣散 cases."""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

from core.history import HistoryRequestMeta, PortalHistoryManager
from villages.bounds import Range, year_range


class Scheme(models.TextChoices):
    RURAL = "rural", _("农村(行政村、农村社区)")
    URBAN = "urban", _("城市社区")


def scheme_of_kind(village_kind: str) -> str:
    """A village's kind decides its scheme: only 城市社区 use the urban stars."""
    return Scheme.URBAN if village_kind == "urban_community" else Scheme.RURAL


class StarSettings(models.Model):
    """The rules the 方案 leaves to local practice, changed by city admins (audited).

    One row (pk=1), written only by `star_settings_update`; `StarSettings.current()` gives
    the defaults while it does not exist."""

    foundation_required = models.BooleanField(
        _("支部过硬星为基础星"),
        default=True,
        help_text=_("开启时，未获“支部过硬星”的党组织不能被授予其他星。"),
    )
    publicity_days = models.PositiveSmallIntegerField(
        _("公示期(天)"),
        default=5,
        validators=Range("公示期(天)", 0, 30).validators(),
        help_text=_("县级公示满这么多天后才能授星。"),
    )
    updated_at = models.DateTimeField(_("修改时间"), auto_now=True)
    history = HistoricalRecords(
        bases=[HistoryRequestMeta],
        history_manager=PortalHistoryManager,
        excluded_fields=["updated_at"],
    )

    class Meta:
        verbose_name = _("五星支部规则设置")
        verbose_name_plural = _("五星支部规则设置")

    def __str__(self) -> str:
        switch = "开" if self.foundation_required else "关"
        return f"公示期 {self.publicity_days} 天；基础星要求：{switch}"

    @classmethod
    def current(cls) -> "StarSettings":
        """The saved rules, or the defaults (unsaved) until a city admin first saves them:
        reading the rules never writes."""
        return cls.objects.filter(pk=1).first() or cls(pk=1)


class RatingYear(models.Model):
    """One year's ratings; once locked (city admin) nothing of that year changes until an
    explicit unlock."""

    year = models.PositiveSmallIntegerField(
        _("年度"), unique=True, validators=year_range().validators()
    )
    locked = models.BooleanField(_("已锁定"), default=False)
    locked_at = models.DateTimeField(_("锁定时间"), null=True, blank=True)
    locked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("锁定人"),
    )
    note = models.CharField(_("说明"), max_length=200, blank=True)
    history = HistoricalRecords(bases=[HistoryRequestMeta], history_manager=PortalHistoryManager)

    class Meta:
        verbose_name = _("年度评定")
        verbose_name_plural = _("年度评定")
        ordering = ["-year"]

    def __str__(self) -> str:
        return f"{self.year}年度评定{'（已锁定）' if self.locked else ''}"


class StarType(models.Model):
    """One star of a scheme, e.g. 农村 · 产业兴旺星."""

    scheme = models.CharField(_("适用"), max_length=8, choices=Scheme.choices)
    code = models.SlugField(_("代码"), max_length=30)
    name = models.CharField(_("名称"), max_length=20)
    order = models.PositiveSmallIntegerField(
        _("排序"), default=0, validators=Range("排序", 0, 999).validators()
    )
    is_foundation = models.BooleanField(
        _("基础星"), default=False, help_text=_("支部过硬星：规则开启时须先获此星。")
    )
    description = models.CharField(_("说明"), max_length=200, blank=True)
    history = HistoricalRecords(bases=[HistoryRequestMeta], history_manager=PortalHistoryManager)

    class Meta:
        verbose_name = _("星级类型")
        verbose_name_plural = _("星级类型")
        ordering = ["scheme", "order", "id"]
        constraints = [
            models.UniqueConstraint(fields=["scheme", "code"], name="star_type_unique_code"),
            models.UniqueConstraint(
                fields=["scheme", "name"],
                name="star_type_unique_name",
                violation_error_message=_("同一方案中已有同名的星。"),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name}（{self.get_scheme_display()}）"


class StarTask(models.Model):
    """A key task (重点任务) of a star, from the 方案: a checklist item."""

    star_type = models.ForeignKey(
        StarType, on_delete=models.CASCADE, related_name="tasks", verbose_name=_("星")
    )
    order = models.PositiveSmallIntegerField(
        _("排序"), default=0, validators=Range("排序", 0, 999).validators()
    )
    title = models.CharField(_("重点任务"), max_length=120)
    history = HistoricalRecords(bases=[HistoryRequestMeta], history_manager=PortalHistoryManager)

    class Meta:
        verbose_name = _("重点任务")
        verbose_name_plural = _("重点任务")
        ordering = ["star_type", "order", "id"]

    def __str__(self) -> str:
        return self.title


class StarTaskCheck(models.Model):
    """A branch's tick on one key task in one year, with its evidence (佐证材料说明)."""

    branch = models.ForeignKey(
        "villages.Branch", on_delete=models.PROTECT, related_name="+", verbose_name=_("党组织")
    )
    year = models.PositiveSmallIntegerField(_("年度"), validators=year_range().validators())
    task = models.ForeignKey(
        StarTask, on_delete=models.CASCADE, related_name="checks", verbose_name=_("重点任务")
    )
    met = models.BooleanField(_("已完成"), default=False)
    evidence = models.TextField(_("佐证说明"), blank=True, max_length=1000)
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("填写人"),
    )
    updated_at = models.DateTimeField(_("填写时间"), auto_now=True)
    history = HistoricalRecords(
        bases=[HistoryRequestMeta],
        history_manager=PortalHistoryManager,
        excluded_fields=["updated_at"],
    )

    class Meta:
        verbose_name = _("重点任务完成情况")
        verbose_name_plural = _("重点任务完成情况")
        ordering = ["branch", "year", "task"]
        constraints = [
            models.UniqueConstraint(
                fields=["branch", "year", "task"], name="star_task_check_unique"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.year} {self.task}：{'已完成' if self.met else '未完成'}"


class StarAward(models.Model):
    """One star for one branch in one year, from 申报 to 授星 (or 未通过 / 摘星)."""

    class State(models.TextChoices):
        APPLIED = "applied", _("已申报")
        TOWNSHIP_APPROVED = "township_ok", _("乡镇已初审")
        COUNTY_RATED = "county_rated", _("县级已评定")
        PUBLICIZED = "publicized", _("公示中")
        AWARDED = "awarded", _("已授星")
        REJECTED = "rejected", _("未通过")
        WITHDRAWN = "withdrawn", _("已摘星")

    IN_PROGRESS = (State.APPLIED, State.TOWNSHIP_APPROVED, State.COUNTY_RATED, State.PUBLICIZED)

    branch = models.ForeignKey(
        "villages.Branch",
        on_delete=models.PROTECT,
        related_name="star_awards",
        verbose_name=_("党组织"),
    )
    year = models.PositiveSmallIntegerField(_("年度"), validators=year_range().validators())
    star_type = models.ForeignKey(
        StarType, on_delete=models.PROTECT, related_name="awards", verbose_name=_("星")
    )
    state = models.CharField(_("状态"), max_length=12, choices=State.choices)
    publicity_start = models.DateField(_("公示开始"), null=True, blank=True)
    publicity_end = models.DateField(_("公示截止"), null=True, blank=True)
    awarded_on = models.DateField(_("授星日期"), null=True, blank=True)
    withdrawn_reason = models.CharField(_("摘星原因"), max_length=500, blank=True)
    withdrawn_on = models.DateField(_("摘星日期"), null=True, blank=True)
    created_at = models.DateTimeField(_("申报时间"), auto_now_add=True)
    updated_at = models.DateTimeField(_("更新时间"), auto_now=True)
    history = HistoricalRecords(
        bases=[HistoryRequestMeta],
        history_manager=PortalHistoryManager,
        excluded_fields=["updated_at"],
    )

    class Meta:
        verbose_name = _("星级评定")
        verbose_name_plural = _("星级评定")
        ordering = ["-year", "branch", "star_type"]
        indexes = [
            models.Index(fields=["year", "state"]),
            models.Index(fields=["branch", "year"]),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["branch", "year", "star_type"],
                name="star_award_unique",
                violation_error_message=_("该党组织本年度已申报过这颗星。"),
            ),
            models.CheckConstraint(
                condition=~Q(state="withdrawn") | ~Q(withdrawn_reason=""),
                name="star_award_withdrawn_needs_reason",
                violation_error_message=_("摘星必须写明原因。"),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.year} {self.branch} {self.star_type.name}（{self.get_state_display()}）"

    @property
    def is_held(self) -> bool:
        return self.state == self.State.AWARDED


class StarAwardEvent(models.Model):
    """One step of an award's chain: who, when, and their comment. Never edited."""

    class Step(models.TextChoices):
        APPLY = "apply", _("申报")
        TOWNSHIP_REVIEW = "township_review", _("乡镇初审")
        COUNTY_RATE = "county_rate", _("县级评定")
        PUBLICIZE = "publicize", _("公示")
        AWARD = "award", _("授星")
        REJECT = "reject", _("不予通过")
        WITHDRAW = "withdraw", _("摘星")
        IMPORT = "import", _("评定结果导入")

    award = models.ForeignKey(StarAward, on_delete=models.CASCADE, related_name="events")
    step = models.CharField(_("环节"), max_length=16, choices=Step.choices)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("办理人"),
    )
    comment = models.CharField(_("意见"), max_length=500, blank=True)
    at = models.DateTimeField(_("时间"))
    history = HistoricalRecords(bases=[HistoryRequestMeta], history_manager=PortalHistoryManager)

    class Meta:
        verbose_name = _("评定环节记录")
        verbose_name_plural = _("评定环节记录")
        ordering = ["at", "id"]

    def __str__(self) -> str:
        return f"{self.get_step_display()} {timezone.localtime(self.at):%Y-%m-%d %H:%M}"


class WeakReason(models.TextChoices):
    """认定情形 of a 软弱涣散村党组织 (domain §2, composite of local lists)."""

    INCOMPLETE_TEAM = "incomplete_team", _("班子配备不齐、书记长期缺职")
    SECRETARY_UNFIT = "secretary_unfit", _("书记不胜任现职、工作不在状态")
    DISUNITY = "disunity", _("班子不团结、内耗严重")
    NO_ORG_LIFE = "no_org_life", _("组织制度形同虚设")
    ELECTION_FRAUD = "election_fraud", _("换届选举拉票贿选")
    INTERFERENCE = "interference", _("宗族宗教或黑恶势力干扰")
    FINANCE_CHAOS = "finance_chaos", _("村务财务管理混乱、民主管理不落实")
    PETITIONS = "petitions", _("治安问题和信访矛盾纠纷集中")
    POOR_SERVICE = "poor_service", _("服务意识差、群众满意度低")
    RANKED_LAST = "ranked_last", _("年度考核排名靠后、长期无发展对象")


class WeakBranchCase(models.Model):
    """A 软弱涣散 branch in one year: identified → rectifying → accepted (销号); reopenable."""

    class Status(models.TextChoices):
        IDENTIFIED = "identified", _("已认定")
        RECTIFYING = "rectifying", _("整顿中")
        ACCEPTED = "accepted", _("已销号")
        REOPENED = "reopened", _("已重新整顿")

    OPEN = (Status.IDENTIFIED, Status.RECTIFYING, Status.REOPENED)

    branch = models.ForeignKey(
        "villages.Branch",
        on_delete=models.PROTECT,
        related_name="weak_cases",
        verbose_name=_("党组织"),
    )
    year = models.PositiveSmallIntegerField(_("年度"), validators=year_range().validators())
    identified_on = models.DateField(_("认定日期"))
    reasons = models.JSONField(_("认定情形"), default=list)
    situation = models.TextField(_("具体情况"), blank=True, max_length=2000)
    status = models.CharField(
        _("状态"), max_length=12, choices=Status.choices, default="identified"
    )
    rectification_plan = models.TextField(_("整顿方案"), blank=True, max_length=4000)
    responsible_leader = models.CharField(_("包村领导"), max_length=50, blank=True)
    first_secretary = models.CharField(_("第一书记/工作队"), max_length=100, blank=True)
    accepted_on = models.DateField(_("销号日期"), null=True, blank=True)
    acceptance_note = models.CharField(_("验收意见"), max_length=500, blank=True)
    reopen_reason = models.CharField(_("重新整顿原因"), max_length=500, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("认定人"),
    )
    created_at = models.DateTimeField(_("登记时间"), auto_now_add=True)
    updated_at = models.DateTimeField(_("更新时间"), auto_now=True)
    history = HistoricalRecords(
        bases=[HistoryRequestMeta],
        history_manager=PortalHistoryManager,
        excluded_fields=["updated_at"],
    )

    class Meta:
        verbose_name = _("软弱涣散村党组织")
        verbose_name_plural = _("软弱涣散村党组织")
        ordering = ["-year", "identified_on", "id"]
        indexes = [models.Index(fields=["year", "status"])]
        constraints = [
            models.UniqueConstraint(
                fields=["branch", "year"],
                name="weak_case_unique_branch_year",
                violation_error_message=_("该党组织本年度已被认定为软弱涣散，请在原记录上整顿。"),
            ),
            models.CheckConstraint(
                condition=~Q(status="accepted") | Q(accepted_on__isnull=False),
                name="weak_case_accepted_needs_date",
                violation_error_message=_("销号必须填写销号日期。"),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.year} {self.branch}（{self.get_status_display()}）"

    @property
    def is_open(self) -> bool:
        return self.status in self.OPEN

    @property
    def reason_labels(self) -> list[str]:
        labels = dict(WeakReason.choices)
        return [str(labels.get(r, r)) for r in self.reasons]
