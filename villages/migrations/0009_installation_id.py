import uuid

from django.db import migrations, models


def create_installation(apps, schema_editor):
    """The database's identity is drawn once, when the database is made."""
    Installation = apps.get_model("villages", "Installation")
    Installation.objects.using(schema_editor.connection.alias).get_or_create(pk=1)


class Migration(migrations.Migration):
    dependencies = [
        ("villages", "0008_programme_year"),
    ]

    operations = [
        migrations.CreateModel(
            name="Installation",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                (
                    "install_id",
                    models.UUIDField(
                        default=uuid.uuid4, editable=False, unique=True, verbose_name="安装标识"
                    ),
                ),
                ("created_at", models.DateTimeField(auto_now_add=True, verbose_name="创建时间")),
            ],
            options={
                "verbose_name": "数据库标识",
                "verbose_name_plural": "数据库标识",
            },
        ),
        migrations.RunPython(create_installation, migrations.RunPython.noop),
    ]
