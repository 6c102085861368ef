"""The job tasks moved from villages.tasks to core.tasks: calls the outbox kept under the
old names (the broker was down during the upgrade) are renamed, so that they are sent."""

from django.db import migrations

TASKS = (
    "export_job_run",
    "import_job_validate",
    "import_job_commit",
    "import_job_annotate",
    "pending_tasks_send",
    "import_jobs_reap",
    "export_jobs_tidy",
)


def _rename(apps, source: str, target: str) -> None:
    PendingTask = apps.get_model("core", "PendingTask")
    for name in TASKS:
        PendingTask.objects.filter(task=f"{source}.{name}").update(task=f"{target}.{name}")


def forwards(apps, schema_editor):
    _rename(apps, "villages.tasks", "core.tasks")


def backwards(apps, schema_editor):
    _rename(apps, "core.tasks", "villages.tasks")


class Migration(migrations.Migration):
    dependencies = [("core", "0001_initial")]

    operations = [migrations.RunPython(forwards, backwards)]
