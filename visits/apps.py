from django.apps import AppConfig


class VisitsConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "visits"
    verbose_name = "双十工作日"

    def ready(self):
        from visits.years import register_steps

        register_steps()
        from visits import exports  # noqa: F401  (registers the export kinds)
