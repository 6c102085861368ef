"""The ground floor's own records: background jobs (Excel exports and imports) and the
outbox of tasks that could not be queued. They know no domain: an import job may be
limited to an area, whatever model settings.JOBS_AREA_MODEL names (a county here). Their
tables were made by villages, before core existed, and keep their names."""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _


class ExportJob(models.Model):
    """An Excel export run in the background for one user, over what that user may see."""

    class State(models.TextChoices):
        PENDING = "pending", _("排队中")
        RUNNING = "running", _("生成中")
        DONE = "done", _("已完成")
        FAILED = "failed", _("失败")

    kind = models.CharField(_("导出类型"), max_length=40)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="export_jobs",
        verbose_name=_("发起人"),
    )
    params = models.JSONField(_("筛选条件"), default=dict, blank=True)
    state = models.CharField(_("状态"), max_length=10, choices=State.choices, default="pending")
    progress = models.PositiveSmallIntegerField(_("进度(%)"), default=0)
    row_count = models.PositiveIntegerField(_("行数"), default=0)
    file = models.FileField(_("文件"), upload_to="exports/%Y/%m/", blank=True)
    error = models.TextField(_("错误信息"), blank=True)
    created_at = models.DateTimeField(_("创建时间"), auto_now_add=True)
    finished_at = models.DateTimeField(_("完成时间"), null=True, blank=True)

    class Meta:
        db_table = "villages_exportjob"  # made by villages, before core existed
        verbose_name = _("导出任务")
        verbose_name_plural = _("导出任务")
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.kind_label} #{self.pk}"

    @property
    def kind_label(self) -> str:
        from core.exports import EXPORT_KINDS  # the export registry, filled at start-up

        kind = EXPORT_KINDS.get(self.kind)
        return kind.label if kind else self.kind


class ImportJob(models.Model):
    """One Excel/CSV import: who, when, the file, the preview summary and its state."""

    class State(models.TextChoices):
        VALIDATING = "validating", _("校验中")
        PREVIEWED = "previewed", _("待确认")
        COMMITTING = "committing", _("导入中")
        DONE = "done", _("已完成")
        FAILED = "failed", _("失败")
        CANCELLED = "cancelled", _("已取消")

    class Annotation(models.TextChoices):
        PENDING = "pending", _("生成中")
        DONE = "done", _("已生成")
        FAILED = "failed", _("生成失败")

    RUNNING_STATES = (State.VALIDATING, State.COMMITTING)
    # A stuck job can be ended by its uploader or a city admin (a live commit decides alone).
    CANCELLABLE_STATES = (State.VALIDATING, State.PREVIEWED, State.COMMITTING)

    kind = models.CharField(_("导入类型"), max_length=40)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="import_jobs",
        verbose_name=_("导入人"),
    )
    county = models.ForeignKey(
        settings.JOBS_AREA_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        verbose_name=_("限定县(市、区)"),
        help_text=_("县级干部导入时，只允许本县的数据。"),
    )
    file = models.FileField(_("上传文件"), upload_to="imports/%Y/%m/")
    original_name = models.CharField(_("原文件名"), max_length=200)
    state = models.CharField(_("状态"), max_length=12, choices=State.choices)
    valid_only = models.BooleanField(_("只导入无误的行"), default=False)
    summary = models.JSONField(_("摘要"), default=dict, blank=True)
    preview = models.JSONField(_("预览"), default=dict, blank=True)
    error = models.TextField(_("失败原因"), blank=True)
    created_at = models.DateTimeField(_("上传时间"), auto_now_add=True)
    updated_at = models.DateTimeField(_("更新时间"), auto_now=True)
    # Set (and committed) when a worker starts the current step, before it locks the row:
    # a committing job that is started but not locked has lost its worker.
    started_at = models.DateTimeField(_("本步开始时间"), null=True, blank=True)
    attempts = models.PositiveSmallIntegerField(_("本步尝试次数"), default=0)
    finished_at = models.DateTimeField(_("完成时间"), null=True, blank=True)
    cancelled_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("取消人"),
    )
    # The uploaded rows back with their errors marked, built by its own background step
    # after the preview (import_job_annotate); the download only streams it.
    annotated = models.FileField(_("错误标注工作簿"), upload_to="imports/%Y/%m/", blank=True)
    annotated_state = models.CharField(
        _("错误标注工作簿状态"), max_length=10, choices=Annotation.choices, blank=True
    )

    class Meta:
        db_table = "villages_importjob"  # made by villages, before core existed
        verbose_name = _("导入记录")
        verbose_name_plural = _("导入记录")
        ordering = ["-created_at"]
        # One running import per kind and area: a county's import never waits for another
        # county's. A city-wide import (no county) also conflicts with every county's import
        # of its kind; that cross check is made under the counties' row locks in the
        # services (core.jobs._import_area_lock), these two are the backstop.
        constraints = [
            models.UniqueConstraint(
                fields=["kind", "county"],
                condition=Q(state__in=["validating", "committing"], county__isnull=False),
                name="import_job_one_running_per_kind_county",
                violation_error_message=_("已有一个同类导入正在进行，请等它完成后再试。"),
            ),
            models.UniqueConstraint(
                fields=["kind"],
                condition=Q(state__in=["validating", "committing"], county__isnull=True),
                name="import_job_one_city_wide_running_per_kind",
                violation_error_message=_("已有一个同类导入正在进行，请等它完成后再试。"),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.kind_label} #{self.pk} {self.original_name}"

    @property
    def kind_label(self) -> str:
        from core.importing.engine import KINDS  # the sheet registry, filled at start-up

        kind = KINDS.get(self.kind)
        return kind.label if kind else self.kind


class PendingTask(models.Model):
    """A background task that could not be queued (the broker was down), kept until the
    beat job `core.tasks.pending_tasks_send` queues it. One row per distinct call."""

    key = models.CharField(_("任务摘要"), max_length=64, unique=True)
    task = models.CharField(_("任务"), max_length=200)
    args = models.JSONField(_("位置参数"), default=list, blank=True)
    kwargs = models.JSONField(_("参数"), default=dict, blank=True)
    queue = models.CharField(_("队列"), max_length=100, blank=True)
    attempts = models.PositiveIntegerField(_("排队失败次数"), default=1)
    last_error = models.TextField(_("最近一次错误"), blank=True)
    created_at = models.DateTimeField(_("首次失败时间"), auto_now_add=True)
    updated_at = models.DateTimeField(_("最近失败时间"), auto_now=True)

    class Meta:
        db_table = "villages_pendingtask"  # made by villages, before core existed
        verbose_name = _("待排队的后台任务")
        verbose_name_plural = _("待排队的后台任务")
        ordering = ["pk"]

    def __str__(self) -> str:
        return f"{self.task} {self.kwargs or self.args}"
