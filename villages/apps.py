from django.apps import AppConfig


class VillagesConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "villages"
    verbose_name = "村庄与干部"

    def ready(self):
        from villages.importing import kinds  # noqa: F401  (registers the roster sheets)
