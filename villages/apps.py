from django.apps import AppConfig


class VillagesConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "villages"
    verbose_name = "村庄与干部"

    def ready(self):
        from celery.signals import task_postrun, task_prerun
        from django.contrib.auth import get_user_model
        from django.db.models.signals import post_delete, post_save, pre_delete, pre_save
        from simple_history.signals import pre_create_historical_record

        from core.limits import MB, register_upload_limit
        from villages import auth, history, panels
        from villages.importing import kinds  # noqa: F401  (registers the roster sheets)
        from villages.importing.reader import MAX_BYTES
        from villages.models import Cadre, Township, UserRole

        panels.register()
        register_upload_limit(
            "villages.import", order=10, text=f"每个导入文件不超过 {MAX_BYTES / MB:g} MB"
        )

        # Every history row records the request, task, import or command behind it.
        pre_create_historical_record.connect(history.fill_request_meta, dispatch_uid="history")
        task_prerun.connect(history.task_started, dispatch_uid="history", weak=False)
        task_postrun.connect(history.task_finished, dispatch_uid="history", weak=False)
        # The audit trail's rows are never deleted (villages.history.TIDY_HISTORY).
        for table in history.protected_history_models():
            pre_delete.connect(
                history.refuse_history_delete, sender=table, dispatch_uid="history-protected"
            )
        # A cached login (villages.auth) is dropped when its user, role or cadre changes.
        for model in (get_user_model(), UserRole, Cadre):
            post_save.connect(auth.forget_login, sender=model, dispatch_uid="login-cache")
            post_delete.connect(auth.forget_login, sender=model, dispatch_uid="login-cache")
        for model in (UserRole, Cadre):
            pre_save.connect(auth.note_previous_login, sender=model, dispatch_uid="login-cache")
        post_save.connect(
            auth.forget_township_officials, sender=Township, dispatch_uid="login-cache"
        )
