"""The job tables (ExportJob, ImportJob, PendingTask) now belong to core: villages lets go
of them in Django's state only; the tables stay, with every row (core 0001)."""

from django.db import migrations


class Migration(migrations.Migration):

    dependencies = [
        ('villages', '0011_user_history_village_ranges'),
        ('core', '0001_initial'),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
            migrations.RemoveField(
                model_name='exportjob',
                name='user',
            ),
            migrations.RemoveField(
                model_name='importjob',
                name='cancelled_by',
            ),
            migrations.RemoveField(
                model_name='importjob',
                name='county',
            ),
            migrations.RemoveField(
                model_name='importjob',
                name='user',
            ),
            migrations.DeleteModel(
                name='PendingTask',
            ),
            migrations.DeleteModel(
                name='ExportJob',
            ),
            migrations.DeleteModel(
                name='ImportJob',
            ),
            ],
            database_operations=[],
        ),
    ]
