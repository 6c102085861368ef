"""双十工作日: cadres' visits to their 联系点, the review of those visits, the workday rule
they are judged by, and the problem ledger (问题台账)."""

import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

from core.history import HistoryRequestMeta, PortalHistoryManager
from villages.bounds import Range

# What one visit (a day or half a day at a 联系点) can hold: a few 座谈会, a village meeting
# of a few thousand people at most, a day of 入户 of some hundreds of households.
MEETINGS = Range("召开座谈会(场)", 0, 20)
PEOPLE_REACHED = Range("走访群众(人次)", 0, 5000)
HOUSEHOLDS_VISITED = Range("入户(户)", 0, 500)


class WorkdayRule(models.Model):
    """How many distinct days at one's own 联系点 a period requires, from a date on.

    A period is judged by the newest rule in force on its first day, so changing the
    rule never re-judges past periods."""

    class Period(models.TextChoices):
        MONTH = "month", _("每月")
        QUARTER = "quarter", _("每季度")

    required_days = models.PositiveSmallIntegerField(
        _("要求天数"), validators=Range("要求天数", 1, 92).validators()
    )
    period = models.CharField(_("考核周期"), max_length=10, choices=Period.choices)
    effective_from = models.DateField(_("生效日期"), unique=True)
    note = models.CharField(_("说明"), max_length=200, blank=True)
    history = HistoricalRecords(bases=[HistoryRequestMeta], history_manager=PortalHistoryManager)

    class Meta:
        verbose_name = _("双十工作日规则")
        verbose_name_plural = _("双十工作日规则")
        ordering = ["-effective_from"]

    def __str__(self) -> str:
        since = f"{self.effective_from:%Y-%m-%d} 起" if self.effective_from else "默认："
        return f"{since}{self.get_period_display()}{self.required_days}天"


class Visit(models.Model):
    """One day (or half day) a cadre spent at a 联系点."""

    class DayPart(models.TextChoices):
        FULL = "full", _("全天")
        HALF = "half", _("半天")

    class State(models.TextChoices):
        SUBMITTED = "submitted", _("待审核")
        RETURNED = "returned", _("已退回")
        APPROVED = "approved", _("已通过")

    class Activity(models.TextChoices):
        MEETING = "meeting", _("座谈会")
        HOUSEHOLD = "household", _("入户走访")
        POLICY = "policy", _("政策宣讲")
        MEDIATION = "mediation", _("矛盾调解")
        HAZARD = "hazard", _("隐患排查")
        SERVICE = "service", _("办实事")
        TECH = "tech", _("技术指导")
        OTHER = "other", _("其他")

    client_uuid = models.UUIDField(_("客户端编号"), unique=True, default=uuid.uuid4)
    cadre = models.ForeignKey(
        "villages.Cadre", on_delete=models.PROTECT, related_name="visits", verbose_name=_("干部")
    )
    village = models.ForeignKey(
        "villages.Village",
        on_delete=models.PROTECT,
        related_name="visits",
        verbose_name=_("村(社区)"),
    )
    date = models.DateField(_("日期"))
    day_part = models.CharField(_("时长"), max_length=4, choices=DayPart.choices, default="full")
    activities = models.JSONField(_("工作内容"), default=list)
    meetings = models.PositiveIntegerField(
        _("召开座谈会(场)"), default=0, validators=MEETINGS.validators()
    )
    people_reached = models.PositiveIntegerField(
        _("走访群众(人次)"), default=0, validators=PEOPLE_REACHED.validators()
    )
    households_visited = models.PositiveIntegerField(
        _("入户(户)"), default=0, validators=HOUSEHOLDS_VISITED.validators()
    )
    notes = models.TextField(_("工作记录"), blank=True, max_length=2000)
    latitude = models.DecimalField(_("纬度"), max_digits=9, decimal_places=6, null=True, blank=True)
    longitude = models.DecimalField(
        _("经度"), max_digits=9, decimal_places=6, null=True, blank=True
    )
    distance_km = models.DecimalField(
        _("距村距离(公里)"), max_digits=7, decimal_places=2, null=True, blank=True
    )
    location_flag = models.BooleanField(_("位置存疑"), default=False)
    state = models.CharField(
        _("审核状态"), max_length=10, choices=State.choices, default="submitted"
    )
    review_comment = models.CharField(_("审核意见"), max_length=500, blank=True)
    reviewed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("审核人"),
    )
    reviewed_at = models.DateTimeField(_("审核时间"), null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("填报人"),
    )
    created_at = models.DateTimeField(_("填报时间"), auto_now_add=True)
    updated_at = models.DateTimeField(_("更新时间"), auto_now=True)
    history = HistoricalRecords(
        bases=[HistoryRequestMeta],
        history_manager=PortalHistoryManager,
        excluded_fields=["updated_at"],
    )

    class Meta:
        verbose_name = _("下沉记录")
        verbose_name_plural = _("下沉记录")
        ordering = ["-date", "-id"]
        indexes = [
            # `state` last: the dashboards' per cadre / per village month counts of the
            # submitted and approved visits are read from these indexes alone.
            models.Index(fields=["cadre", "date", "state"]),
            models.Index(fields=["village", "date", "state"]),
            models.Index(fields=["state", "date"]),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(latitude__isnull=True) | Q(latitude__gte=-90, latitude__lte=90),
                name="visit_latitude_range",
                violation_error_message=_("纬度必须在 -90 到 90 之间。"),
            ),
            models.CheckConstraint(
                condition=Q(longitude__isnull=True) | Q(longitude__gte=-180, longitude__lte=180),
                name="visit_longitude_range",
                violation_error_message=_("经度必须在 -180 到 180 之间。"),
            ),
            models.CheckConstraint(
                condition=MEETINGS.q("meetings")
                & PEOPLE_REACHED.q("people_reached")
                & HOUSEHOLDS_VISITED.q("households_visited"),
                name="visit_counts_range",
                violation_error_message=_("座谈会、走访人次或入户数超出合理范围。"),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.cadre.name} {self.date:%Y-%m-%d} {self.village.name}"

    @property
    def activity_labels(self) -> list[str]:
        labels = dict(self.Activity.choices)
        return [str(labels.get(a, a)) for a in self.activities]

    @property
    def notes_first_line(self) -> str:
        return next((line.strip() for line in self.notes.splitlines() if line.strip()), "")

    # Over `photos.all()`: no query when the photos are prefetched (the review queue).
    @property
    def photo_time_flag(self) -> bool:
        """Some photo was taken more than 24 h before the visit's day."""
        return any(photo.time_flag for photo in self.photos.all())

    @property
    def photo_place_flag(self) -> bool:
        """Some photo was taken more than 5 km from the village."""
        return any(photo.place_flag for photo in self.photos.all())


def visit_photo_path(instance, filename: str) -> str:
    return f"visits/{instance.visit.date:%Y/%m}/{instance.visit.client_uuid}-{uuid.uuid4().hex[:8]}.jpg"


def visit_thumbnail_path(instance, filename: str) -> str:
    return (
        f"visits/{instance.visit.date:%Y/%m}/thumbs/"
        f"{instance.visit.client_uuid}-{uuid.uuid4().hex[:8]}.jpg"
    )


class VisitPhoto(models.Model):
    """A photo kept with a visit; stored re-encoded as JPEG so nothing but an image stays,
    with the time and place its own EXIF gave (read in the browser) burnt in as a
    watermark and kept as fields, flagged for the reviewer when they do not fit the visit."""

    visit = models.ForeignKey(Visit, on_delete=models.CASCADE, related_name="photos")
    image = models.ImageField(_("照片"), upload_to=visit_photo_path)
    # Made once when the photo is stored: the review queue shows hundreds of them.
    thumbnail = models.ImageField(_("缩略图"), upload_to=visit_thumbnail_path, blank=True)
    taken_at = models.DateTimeField(_("拍摄时间"), null=True, blank=True)
    latitude = models.DecimalField(
        _("拍摄纬度"), max_digits=9, decimal_places=6, null=True, blank=True
    )
    longitude = models.DecimalField(
        _("拍摄经度"), max_digits=9, decimal_places=6, null=True, blank=True
    )
    distance_km = models.DecimalField(
        _("拍摄点距村(公里)"), max_digits=7, decimal_places=2, null=True, blank=True
    )
    time_flag = models.BooleanField(_("拍摄时间存疑"), default=False)
    place_flag = models.BooleanField(_("拍摄地点存疑"), default=False)
    created_at = models.DateTimeField(auto_now_add=True)
    history = HistoricalRecords(bases=[HistoryRequestMeta], history_manager=PortalHistoryManager)

    class Meta:
        verbose_name = _("走访照片")
        verbose_name_plural = _("走访照片")
        ordering = ["id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(latitude__isnull=True) | Q(latitude__gte=-90, latitude__lte=90),
                name="visitphoto_latitude_range",
                violation_error_message=_("纬度必须在 -90 到 90 之间。"),
            ),
            models.CheckConstraint(
                condition=Q(longitude__isnull=True) | Q(longitude__gte=-180, longitude__lte=180),
                name="visitphoto_longitude_range",
                violation_error_message=_("经度必须在 -180 到 180 之间。"),
            ),
        ]

    def __str__(self) -> str:
        return self.image.name

    @property
    def scoped_url(self) -> str:
        """The photo through the view that checks the reader's scope. Deliberately not
        `get_absolute_url`: the admin's "view on site" shortcut would redirect any staff
        member there from a bare id, telling which photos exist and whose visit they are."""
        from django.urls import reverse

        return reverse("visits:visit_photo", args=[self.visit_id, self.pk])

    @property
    def flagged(self) -> bool:
        return self.time_flag or self.place_flag

    @property
    def thumbnail_url(self) -> str:
        """The thumbnail through the same scope check as `scoped_url`."""
        from django.urls import reverse

        return reverse("visits:visit_photo_thumbnail", args=[self.visit_id, self.pk])


class VisitEvent(models.Model):
    """The review exchange on a visit: submitted, returned with a comment, resubmitted,
    approved. Never edited."""

    class Action(models.TextChoices):
        SUBMIT = "submit", _("提交")
        EDIT = "edit", _("修改")
        RETURN = "return", _("退回")
        RESUBMIT = "resubmit", _("重新提交")
        APPROVE = "approve", _("审核通过")

    visit = models.ForeignKey(Visit, on_delete=models.CASCADE, related_name="events")
    action = models.CharField(_("动作"), max_length=10, choices=Action.choices)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    comment = models.CharField(_("意见"), max_length=500, blank=True)
    at = models.DateTimeField(_("时间"), auto_now_add=True)
    history = HistoricalRecords(bases=[HistoryRequestMeta], history_manager=PortalHistoryManager)

    class Meta:
        verbose_name = _("审核记录")
        verbose_name_plural = _("审核记录")
        ordering = ["at", "id"]

    def __str__(self) -> str:
        return f"{self.get_action_display()} {timezone.localtime(self.at):%Y-%m-%d %H:%M}"


class Problem(models.Model):
    """One entry of the problem ledger (问题台账)."""

    class Category(models.TextChoices):
        INFRASTRUCTURE = "infrastructure", _("基础设施")
        INDUSTRY = "industry", _("产业发展")
        EMPLOYMENT = "employment", _("就业")
        INSURANCE = "insurance", _("社保医保")
        EDUCATION = "education", _("教育")
        ENVIRONMENT = "environment", _("人居环境")
        DISPUTE = "dispute", _("矛盾纠纷")
        SAFETY = "safety", _("安全隐患")
        POLICY = "policy", _("政策咨询")
        OTHER = "other", _("其他")

    class Status(models.TextChoices):
        PENDING = "pending", _("待办")
        IN_PROGRESS = "in_progress", _("办理中")
        RESOLVED = "resolved", _("已办结")
        EXPLAINED = "explained", _("无法办结已解释")

    class Satisfaction(models.TextChoices):
        SATISFIED = "satisfied", _("满意")
        BASIC = "basic", _("基本满意")
        UNSATISFIED = "unsatisfied", _("不满意")

    client_uuid = models.UUIDField(_("客户端编号"), unique=True, default=uuid.uuid4)
    village = models.ForeignKey(
        "villages.Village",
        on_delete=models.PROTECT,
        related_name="problems",
        verbose_name=_("村(社区)"),
    )
    visit = models.ForeignKey(
        Visit,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="problems",
        verbose_name=_("来源走访"),
    )
    category = models.CharField(_("类别"), max_length=16, choices=Category.choices)
    description = models.TextField(_("问题描述"), max_length=2000)
    raised_by = models.CharField(_("反映人"), max_length=50, blank=True)
    handler = models.CharField(_("责任人/单位"), max_length=100, blank=True)
    deadline = models.DateField(_("办理时限"), null=True, blank=True)
    status = models.CharField(_("状态"), max_length=12, choices=Status.choices, default="pending")
    explanation = models.TextField(_("办理情况/解释说明"), blank=True, max_length=2000)
    resolved_on = models.DateField(_("办结日期"), null=True, blank=True)
    satisfaction = models.CharField(
        _("群众满意度"), max_length=12, choices=Satisfaction.choices, blank=True
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
    history = HistoricalRecords(
        bases=[HistoryRequestMeta],
        history_manager=PortalHistoryManager,
        excluded_fields=["updated_at"],
    )

    class Meta:
        verbose_name = _("问题台账")
        verbose_name_plural = _("问题台账")
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["village", "status"]),
            models.Index(fields=["status", "deadline"]),
        ]
        constraints = [
            models.CheckConstraint(
                condition=~Q(status="explained") | ~Q(explanation=""),
                name="problem_explained_needs_explanation",
                violation_error_message=_("“无法办结已解释”必须填写解释说明。"),
            ),
            models.CheckConstraint(
                condition=~Q(status="resolved") | Q(resolved_on__isnull=False),
                name="problem_resolved_needs_date",
                violation_error_message=_("已办结的问题必须有办结日期。"),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_category_display()}：{self.description[:20]}"

    @property
    def is_closed(self) -> bool:
        return self.status in (self.Status.RESOLVED, self.Status.EXPLAINED)

    @property
    def is_overdue(self) -> bool:
        """Past its deadline and still open (the same rule as selectors.problems_overdue_q)."""
        from django.utils import timezone

        return bool(self.deadline and self.deadline < timezone.localdate() and not self.is_closed)
