from django.apps import AppConfig


class VillagesConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "villages"
    verbose_name = "村庄与干部"

    def ready(self):
        from celery.signals import task_postrun, task_prerun
        from simple_history.signals import pre_create_historical_record

        from villages import history
        from villages.importing import kinds  # noqa: F401  (registers the roster sheets)

        # Every history row records the request, task, import or command behind it.
        pre_create_historical_record.connect(history.fill_request_meta, dispatch_uid="history")
        task_prerun.connect(history.task_started, dispatch_uid="history", weak=False)
        task_postrun.connect(history.task_finished, dispatch_uid="history", weak=False)
