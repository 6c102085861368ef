from django.apps import AppConfig


class CoreConfig(AppConfig):
    """The ground floor: infrastructure that knows no domain and imports no other app of
    the project (they register what it needs with it: home panels, upload limits)."""

    default_auto_field = "django.db.models.BigAutoField"
    name = "core"
    verbose_name = "基础设施"
