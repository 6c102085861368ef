from django.apps import AppConfig


class VillagesConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "villages"
    verbose_name = "村庄与干部"

    def ready(self):
        from django.contrib.auth import get_user_model
        from django.db.models.signals import post_delete, post_save, pre_save

        import villages.exports  # noqa: F401  (registers the village and link exports)
        import villages.import_kinds  # noqa: F401  (registers the roster sheets)
        from villages import auth, panels
        from villages.models import Cadre, Township, UserRole

        panels.register()

        # A cached login (villages.auth) is dropped when its user, role or cadre changes.
        for model in (get_user_model(), UserRole, Cadre):
            post_save.connect(auth.forget_login, sender=model, dispatch_uid="login-cache")
            post_delete.connect(auth.forget_login, sender=model, dispatch_uid="login-cache")
        for model in (UserRole, Cadre):
            pre_save.connect(auth.note_previous_login, sender=model, dispatch_uid="login-cache")
        post_save.connect(
            auth.forget_township_officials, sender=Township, dispatch_uid="login-cache"
        )
