"""Load the two star schemes (ten stars) and their key tasks, so a fresh database has them."""

from django.db import migrations


def load(apps, schema_editor):
    from stars.schemes import ensure_star_types

    ensure_star_types(apps.get_model("stars", "StarType"), apps.get_model("stars", "StarTask"))


class Migration(migrations.Migration):
    dependencies = [("stars", "0001_initial")]

    operations = [migrations.RunPython(load, migrations.RunPython.noop)]
