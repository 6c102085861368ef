from django.apps import AppConfig


class AccountsConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "accounts"
    verbose_name = "账号与登录"

    def ready(self):
        # The roster sheets and the export kinds (the cadre roster's replace villages' own,
        # and the account log's).
        from accounts import exports, import_kinds, receivers  # noqa: F401

        receivers.connect()
