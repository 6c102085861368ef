from django.apps import AppConfig


class CoreConfig(AppConfig):
    """The ground floor, which knows no domain: background jobs (imports, exports, the
    outbox and the reaper), the import engine, the Excel writers, the history request
    metadata, the cache and the project's pages and API plumbing. It imports no other app of
    the project; the apps register with it their import kinds, export kinds, home panels and
    upload limits."""

    default_auto_field = "django.db.models.BigAutoField"
    name = "core"
    verbose_name = "基础设施"

    def ready(self):
        from celery.signals import task_postrun, task_prerun
        from django.db.models.signals import pre_delete
        from simple_history.signals import pre_create_historical_record

        from core import history
        from core.importing.reader import MAX_BYTES
        from core.limits import MB, register_upload_limit

        register_upload_limit(
            "core.import", order=10, text=f"每个导入文件不超过 {MAX_BYTES / MB:g} MB"
        )

        # Every history row records the request, task, import or command behind it.
        pre_create_historical_record.connect(history.fill_request_meta, dispatch_uid="history")
        task_prerun.connect(history.task_started, dispatch_uid="history", weak=False)
        task_postrun.connect(history.task_finished, dispatch_uid="history", weak=False)
        # The audit trail's rows are never deleted (settings.HISTORY_TIDY_MODELS names the
        # few whose history may be tidied). Every app's models are loaded by now.
        for table in history.protected_history_models():
            pre_delete.connect(
                history.refuse_history_delete, sender=table, dispatch_uid="history-protected"
            )
