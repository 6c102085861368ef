"""Targets as data, and the indicator snapshots the dashboards read.

Snapshots are written only by `services.compute_snapshots` (a Celery task, nightly and
soon after changes) and read by the pages, the API and the exports; the pages never
aggregate the ledgers themselves.
"""

from django.core.exceptions import ValidationError
from django.db import models
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

from core.history import HistoryRequestMeta, PortalHistoryManager
from dashboards.codes import AreaLevel, Indicator
from villages.bounds import Range, year_range

# A target is a rate (at most 100 %) or a yearly count: the city's 走访群众 are some
# 460,000 人次 a year, so ten million leaves room for any count the plan may set.
THRESHOLD = Range("目标值", 0, 10_000_000)


class Target(models.Model):
    """One yearly target of the plan: `indicator` `comparison` `threshold`, at one area
    level (blank: every level)."""

    class Comparison(models.TextChoices):
        GTE = "gte", _("不低于")
        LTE = "lte", _("不高于")
        EQ = "eq", _("等于")
        ABOUT = "about", _("约(达到 95% 即视为完成)")

    year = models.PositiveSmallIntegerField(_("年度"), validators=year_range().validators())
    indicator = models.CharField(_("指标"), max_length=40, choices=Indicator.choices)
    comparison = models.CharField(_("比较方式"), max_length=8, choices=Comparison.choices)
    threshold = models.DecimalField(
        _("目标值"), max_digits=12, decimal_places=2, validators=THRESHOLD.validators()
    )
    area_level = models.CharField(
        _("适用层级"),
        max_length=10,
        choices=AreaLevel.choices,
        blank=True,
        help_text=_("留空：市、县、乡各级都按此目标考核。"),
    )
    is_reference = models.BooleanField(
        _("参考值"), default=False, help_text=_("参考值只作对照，不计入完成情况。")
    )
    note = models.CharField(_("说明"), max_length=200, blank=True)
    history = HistoricalRecords(bases=[HistoryRequestMeta], history_manager=PortalHistoryManager)

    class Meta:
        verbose_name = _("年度目标")
        verbose_name_plural = _("年度目标")
        ordering = ["-year", "indicator", "area_level"]
        constraints = [
            models.UniqueConstraint(
                fields=["year", "indicator", "area_level"],
                name="target_unique_year_indicator_level",
                violation_error_message=_("该年度该指标在此层级已有目标。"),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.year}年 {self.get_indicator_display()} {self.get_comparison_display()} {self.threshold}"

    def clean(self) -> None:
        from dashboards.indicators import SPECS

        spec = SPECS.get(self.indicator)
        if spec is not None and spec.kind == "rate" and (self.threshold or 0) > 100:
            raise ValidationError({"threshold": _("比率类指标的目标值是百分数，不能超过 100。")})


class IndicatorSnapshot(models.Model):
    """One indicator × year × area (the city, a county or a township), as computed."""

    indicator = models.CharField(_("指标"), max_length=40, choices=Indicator.choices)
    year = models.PositiveSmallIntegerField(_("年度"))
    area_level = models.CharField(_("层级"), max_length=10, choices=AreaLevel.choices)
    area_id = models.PositiveBigIntegerField(_("地区编号"), help_text=_("市级为 0。"))
    parent_id = models.PositiveBigIntegerField(_("上级地区编号"), default=0)
    area_name = models.CharField(_("地区"), max_length=60)
    area_code = models.CharField(_("区划代码"), max_length=12, blank=True)
    numerator = models.BigIntegerField(_("分子"))
    denominator = models.BigIntegerField(_("分母"))
    value = models.DecimalField(_("数值"), max_digits=14, decimal_places=4, null=True)
    detail = models.JSONField(_("明细"), default=dict, blank=True)
    as_of = models.DateField(_("统计截至"))
    computed_at = models.DateTimeField(_("计算时间"))

    class Meta:
        verbose_name = _("指标快照")
        verbose_name_plural = _("指标快照")
        ordering = ["year", "indicator", "area_level", "area_code"]
        constraints = [
            models.UniqueConstraint(
                fields=["indicator", "year", "area_level", "area_id"],
                name="snapshot_unique_indicator_year_area",
            ),
        ]
        indexes = [
            models.Index(fields=["year", "area_level", "area_id"]),
            models.Index(fields=["year", "area_level", "parent_id"]),
        ]

    def __str__(self) -> str:
        return f"{self.year} {self.area_name} {self.get_indicator_display()}"


class VillageSnapshot(models.Model):
    """A village's own figures for one year (for its page): {indicator: [num, den]}."""

    year = models.PositiveSmallIntegerField(_("年度"))
    village = models.ForeignKey(
        "villages.Village", on_delete=models.CASCADE, related_name="+", verbose_name=_("村(社区)")
    )
    township_id_copy = models.PositiveBigIntegerField(_("乡镇编号"))
    values = models.JSONField(_("指标"), default=dict)
    computed_at = models.DateTimeField(_("计算时间"))

    class Meta:
        verbose_name = _("村(社区)指标快照")
        verbose_name_plural = _("村(社区)指标快照")
        constraints = [
            models.UniqueConstraint(fields=["year", "village"], name="village_snapshot_unique"),
        ]
        indexes = [models.Index(fields=["year", "township_id_copy"])]

    def __str__(self) -> str:
        return f"{self.year} {self.village_id}"


class SnapshotHistory(models.Model):
    """The value an area had on a given day (one row per day computed), for the
    year-on-year comparison against the same date last year."""

    indicator = models.CharField(_("指标"), max_length=40, choices=Indicator.choices)
    year = models.PositiveSmallIntegerField(_("年度"))
    area_level = models.CharField(_("层级"), max_length=10, choices=AreaLevel.choices)
    area_id = models.PositiveBigIntegerField(_("地区编号"))
    day = models.DateField(_("日期"))
    numerator = models.BigIntegerField(_("分子"))
    denominator = models.BigIntegerField(_("分母"))
    value = models.DecimalField(_("数值"), max_digits=14, decimal_places=4, null=True)

    class Meta:
        verbose_name = _("指标日值")
        verbose_name_plural = _("指标日值")
        constraints = [
            models.UniqueConstraint(
                fields=["indicator", "year", "area_level", "area_id", "day"],
                name="snapshot_history_unique_day",
            ),
        ]
        indexes = [models.Index(fields=["year", "area_level", "area_id", "day"])]

    def __str__(self) -> str:
        return f"{self.day} {self.indicator}"


class ChangeCursor(models.Model):
    """How far the change watcher has read one model's history table."""

    label = models.CharField(_("数据表"), max_length=100, unique=True)
    last_id = models.BigIntegerField(_("已读到的历史编号"), default=0)
    updated_at = models.DateTimeField(_("更新时间"), auto_now=True)

    class Meta:
        verbose_name = _("变更读取位置")
        verbose_name_plural = _("变更读取位置")

    def __str__(self) -> str:
        return f"{self.label}: {self.last_id}"
