from django.apps import AppConfig


class DisputesConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "disputes"
    verbose_name = "三零创建"

    def ready(self):
        from disputes import exports, importing  # noqa: F401  (register export and import kinds)
