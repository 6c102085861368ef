from django.apps import AppConfig


class StarsConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "stars"
    verbose_name = "五星支部"

    def ready(self):
        from stars.years import register_steps

        register_steps()
        from core.importing.engine import register
        from stars import exports  # noqa: F401  (registers the export kinds)
        from stars.importing import StarRatingSheet

        register(StarRatingSheet())
        from stars import panels

        panels.register()
