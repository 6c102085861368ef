# A client-made id on each problem, so that a problem queued offline and sent twice is
# stored once. Existing problems each get their own id (a single default for all rows
# would break the unique constraint), and their history rows get the same one.

import uuid

from django.db import migrations, models


def give_each_problem_its_own_uuid(apps, schema_editor):
    Problem = apps.get_model("visits", "Problem")
    HistoricalProblem = apps.get_model("visits", "HistoricalProblem")
    for pk in Problem.objects.values_list("pk", flat=True).iterator():
        value = uuid.uuid4()
        Problem.objects.filter(pk=pk).update(client_uuid=value)
        HistoricalProblem.objects.filter(id=pk).update(client_uuid=value)


class Migration(migrations.Migration):
    dependencies = [
        ("visits", "0004_event_photo_history_visit_ranges"),
    ]

    operations = [
        migrations.AddField(
            model_name="historicalproblem",
            name="client_uuid",
            field=models.UUIDField(db_index=True, default=uuid.uuid4, verbose_name="客户端编号"),
        ),
        migrations.AddField(
            model_name="problem",
            name="client_uuid",
            field=models.UUIDField(null=True, verbose_name="客户端编号"),
        ),
        migrations.RunPython(give_each_problem_its_own_uuid, migrations.RunPython.noop),
        migrations.AlterField(
            model_name="problem",
            name="client_uuid",
            field=models.UUIDField(default=uuid.uuid4, unique=True, verbose_name="客户端编号"),
        ),
    ]
