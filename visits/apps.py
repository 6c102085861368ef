from django.apps import AppConfig


class VisitsConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "visits"
    verbose_name = "双十工作日"

    def ready(self):
        from core.limits import MB, register_upload_limit
        from visits import panels
        from visits.services import MAX_PHOTO_BYTES, MAX_PHOTOS
        from visits.years import register_steps

        register_steps()
        from visits import exports  # noqa: F401  (registers the export kinds)

        panels.register()
        register_upload_limit(
            "visits.photos",
            order=20,
            text=f"每张照片不超过 {MAX_PHOTO_BYTES / MB:g} MB（每条记录最多 {MAX_PHOTOS} 张）",
        )
