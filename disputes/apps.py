from django.apps import AppConfig


class DisputesConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "disputes"
    verbose_name = "三零创建"

    def ready(self):
        # exports and importing register their export and import kinds when imported
        from disputes import exports, importing, panels  # noqa: F401

        panels.register()
