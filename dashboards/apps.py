from django.apps import AppConfig


class DashboardsConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "dashboards"
    verbose_name = "目标看板"

    def ready(self):
        from dashboards.years import register_steps

        register_steps()
        from dashboards import panels

        panels.register()
