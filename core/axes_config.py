"""django-axes (login lockout) in Chinese, without forking it.

Axes ships no Chinese catalogue and its app has no verbose name ("Axes"). This AppConfig
replaces "axes" in INSTALLED_APPS: it names the app 登录锁定, gives its models and fields
Chinese names, and re-registers its three admin pages with Chinese headings, filter and
action. Nothing here changes a table or a migration: Django's migration state reads the
models' declared Meta, not the names set here.
"""

from axes.apps import AppConfig as AxesAppConfig

MODELS = {
    "AccessAttempt": ("登录尝试", "登录尝试"),
    "AccessFailureLog": ("登录失败", "登录失败"),
    "AccessLog": ("登录日志", "登录日志"),
    "AccessAttemptExpiration": ("登录尝试到期", "登录尝试到期"),
}
FIELDS = {
    "user_agent": "浏览器标识",
    "ip_address": "IP 地址",
    "username": "用户名",
    "http_accept": "HTTP Accept 头",
    "path_info": "访问路径",
    "attempt_time": "尝试时间",
    "locked_out": "已锁定",
    "get_data": "GET 参数",
    "post_data": "POST 参数",
    "failures_since_start": "失败次数",
    "logout_time": "退出时间",
    "session_hash": "会话标识摘要(sha256)",
    "access_attempt": "登录尝试",
    "expires_at": "到期时间",
}


class AxesConfig(AxesAppConfig):
    verbose_name = "登录锁定"

    def ready(self):
        super().ready()
        for name, (one, many) in MODELS.items():
            meta = self.get_model(name)._meta
            meta.verbose_name, meta.verbose_name_plural = one, many
            for field in meta.get_fields(include_hidden=True):
                if field.concrete and field.name in FIELDS:
                    field.verbose_name = FIELDS[field.name]
        self.register_chinese_admin()

    def register_chinese_admin(self):
        from axes import admin as axes_admin
        from axes.conf import settings as axes_settings
        from django.contrib import admin

        limit = axes_settings.AXES_FAILURE_LIMIT

        def registered(name, default):
            """The admin class registered now (villages/admin.py wraps axes' own ones to
            check the permission before the object, so another area's record and a
            missing one answer alike); the Chinese one extends it."""
            model = self.get_model(name)
            if admin.site.is_registered(model):
                return type(admin.site.get_model_admin(model))
            return default

        class LockedOutFilter(axes_admin.IsLockedOutFilter):
            title = "是否锁定"

            def lookups(self, request, model_admin):
                return (("yes", "已锁定"), ("no", "未锁定"))

        def chinese(fieldsets):
            headings = {"Form Data": "表单数据", "Meta Data": "请求信息"}
            return tuple((headings.get(str(title), title), opts) for title, opts in fieldsets)

        class AccessAttemptAdmin(registered("AccessAttempt", axes_admin.AccessAttemptAdmin)):
            list_filter = [
                LockedOutFilter if f is axes_admin.IsLockedOutFilter else f
                for f in axes_admin.AccessAttemptAdmin.list_filter
            ]
            fieldsets = chinese(axes_admin.AccessAttemptAdmin.fieldsets)

            @admin.action(description="清理已到期的登录尝试")
            def cleanup_expired_attempts(self, request, queryset):
                count = self.handler.clean_expired_user_attempts(request=request)
                self.message_user(request, f"已清理 {count} 条到期的登录尝试。")

            @admin.display(description="到期时间")
            def expiration(self, obj):
                return obj.expiration.expires_at if hasattr(obj, "expiration") else "未设置"

            @admin.display(description="状态")
            def status(self, obj):
                if obj.failures_since_start < limit:
                    return f"还可尝试 {limit - obj.failures_since_start} 次"
                return "已锁定"

        class AccessLogAdmin(registered("AccessLog", axes_admin.AccessLogAdmin)):
            fieldsets = chinese(axes_admin.AccessLogAdmin.fieldsets)

        class AccessFailureLogAdmin(
            registered("AccessFailureLog", axes_admin.AccessFailureLogAdmin)
        ):
            fieldsets = chinese(axes_admin.AccessFailureLogAdmin.fieldsets)

        for name, model_admin in (
            ("AccessAttempt", AccessAttemptAdmin),
            ("AccessLog", AccessLogAdmin),
            ("AccessFailureLog", AccessFailureLogAdmin),
        ):
            model = self.get_model(name)
            if admin.site.is_registered(model):  # AXES_ENABLE_ADMIN may turn them off
                admin.site.unregister(model)
                admin.site.register(model, model_admin)
