from django.apps import AppConfig


class AccountsConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "accounts"
    verbose_name = "账号与登录"

    def ready(self):
        # The roster sheets and their exports (the cadre roster's replace villages' own).
        from accounts import exports, import_kinds, receivers  # noqa: F401

        receivers.connect()
