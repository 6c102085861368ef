"""Logins as the programme hands them out: the account beside each auth.User (its phone,
where it came from, whether its password must be changed), the account log, the signed-in
sessions, and the short-lived sheets of first passwords."""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

from core.history import HistoryRequestMeta, PortalHistoryManager
from villages.models import MOBILE


class Account(models.Model):
    """What the portal knows of a login beyond auth.User."""

    class Source(models.TextChoices):
        CADRE_ROSTER = "cadre_roster", _("干部花名册")
        ROLE_ROSTER = "role_roster", _("角色名单")
        MANUAL = "manual", _("手工创建")
        DEMO = "demo", _("演示数据")

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="account",
        verbose_name=_("用户"),
    )
    phone = models.CharField(
        _("手机号"),
        max_length=11,
        null=True,
        blank=True,
        unique=True,
        validators=[MOBILE],
        help_text=_("登录人的手机号：花名册以它识别人，单点登录以它对应账号。"),
    )
    staff_no = models.CharField(_("工号"), max_length=30, blank=True)
    source = models.CharField(
        _("来源"), max_length=20, choices=Source.choices, default=Source.MANUAL
    )
    must_change_password = models.BooleanField(
        _("须修改密码"), default=False, help_text=_("下次登录时必须先修改密码。")
    )
    password_changed_at = models.DateTimeField(_("密码修改时间"), null=True, blank=True)
    first_password_issued_at = models.DateTimeField(
        _("首次密码下发时间"),
        null=True,
        blank=True,
        help_text=_("为空：账号已开通，首次密码尚未生成下发，还不能登录。"),
    )
    status_reason = models.CharField(_("停用/启用原因"), max_length=200, blank=True)

    history = HistoricalRecords(bases=[HistoryRequestMeta], history_manager=PortalHistoryManager)

    class Meta:
        verbose_name = _("账号")
        verbose_name_plural = _("账号")
        ordering = ["user__username"]
        constraints = [
            models.UniqueConstraint(
                fields=["staff_no"],
                condition=~Q(staff_no=""),
                name="account_staff_no_unique",
                violation_error_message=_("该工号已属于另一个账号。"),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.user.get_username()}"

    @property
    def awaiting_first_password(self) -> bool:
        return self.first_password_issued_at is None and self.user.is_active


class AccountEvent(models.Model):
    """One line of the account log: who signed in, out, failed, was reset or deactivated.
    Written once, never edited."""

    class Kind(models.TextChoices):
        LOGIN = "login", _("登录")
        LOGOUT = "logout", _("退出")
        LOGIN_FAILED = "login_failed", _("登录失败")
        LOCKED_OUT = "locked_out", _("登录锁定")
        IDLE_TIMEOUT = "idle_timeout", _("超时退出")
        PASSWORD_CHANGED = "password_changed", _("修改密码")
        PASSWORD_RESET = "password_reset", _("重置密码")
        CREDENTIALS_ISSUED = "credentials_issued", _("下发首次密码")
        CREATED = "created", _("开通账号")
        DEACTIVATED = "deactivated", _("停用账号")
        REACTIVATED = "reactivated", _("启用账号")
        SESSIONS_ENDED = "sessions_ended", _("退出其他设备")
        SSO_LOGIN = "sso_login", _("单点登录")

    at = models.DateTimeField(_("时间"), default=timezone.now, db_index=True)
    kind = models.CharField(_("事件"), max_length=20, choices=Kind.choices, db_index=True)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="account_events",
        verbose_name=_("账号"),
    )
    username = models.CharField(_("登录名"), max_length=150, blank=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("操作人"),
    )
    reason = models.CharField(_("原因/说明"), max_length=200, blank=True)
    ip = models.GenericIPAddressField(_("IP 地址"), null=True, blank=True)
    user_agent = models.CharField(_("浏览器"), max_length=200, blank=True)
    county_id_at = models.PositiveBigIntegerField(
        _("所属县(市、区)编号"), null=True, blank=True, db_index=True
    )

    class Meta:
        verbose_name = _("账号日志")
        verbose_name_plural = _("账号日志")
        ordering = ["-at", "-id"]

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M} {self.username} {self.get_kind_display()}"


class UserSession(models.Model):
    """A signed-in browser: shown in 个人中心 and ended by 退出其他设备, a reset or a
    deactivation."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="portal_sessions",
        verbose_name=_("用户"),
    )
    session_key = models.CharField(_("会话"), max_length=40, unique=True)
    created_at = models.DateTimeField(_("登录时间"), default=timezone.now)
    last_seen_at = models.DateTimeField(_("最近活动"), default=timezone.now)
    ip = models.GenericIPAddressField(_("IP 地址"), null=True, blank=True)
    user_agent = models.CharField(_("浏览器"), max_length=200, blank=True)
    ended_at = models.DateTimeField(_("结束时间"), null=True, blank=True)

    class Meta:
        verbose_name = _("登录会话")
        verbose_name_plural = _("登录会话")
        ordering = ["-last_seen_at"]
        indexes = [models.Index(fields=["user", "ended_at"], name="session_user_open")]

    def __str__(self) -> str:
        return f"{self.user} {self.created_at:%Y-%m-%d %H:%M}"


class CredentialSheet(models.Model):
    """First (or reset) passwords, readable by the official who generated them for a short
    while (CREDENTIAL_SHEET_MINUTES), encrypted at rest, then wiped."""

    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("生成人"),
    )
    created_at = models.DateTimeField(_("生成时间"), default=timezone.now)
    expires_at = models.DateTimeField(_("可下载至"))
    accounts = models.PositiveIntegerField(_("账号数"), default=0)
    regenerated = models.PositiveIntegerField(
        _("重新生成数"), default=0, help_text=_("其中此前已下发过、本次重新生成的账号数。")
    )
    payload = models.TextField(_("密文"), blank=True)
    wiped_at = models.DateTimeField(_("清除时间"), null=True, blank=True)

    class Meta:
        verbose_name = _("开通通知")
        verbose_name_plural = _("开通通知")
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.created_at:%Y-%m-%d %H:%M} · {self.accounts} 个账号"

    @property
    def readable(self) -> bool:
        return bool(self.payload) and self.wiped_at is None and timezone.now() < self.expires_at
