from django.apps import AppConfig


class AccountsConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "accounts"
    verbose_name = "账号与登录"

    def ready(self):
        from accounts import exports, receivers  # noqa: F401  (exports registers its kind)

        receivers.connect()
