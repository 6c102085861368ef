"""The job tables moved from villages to core (core 0001/0002, villages 0012) without a
copy: a database migrated forward from the state before the move keeps every row of them,
their files, links and states, and the outbox's calls are renamed to the tasks' new names.
The database is migrated back to the old state, seeded there with the old models, and
migrated forward again."""

import pytest
from django.core.management import call_command
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

pytestmark = pytest.mark.django_db(transaction=True)

BEFORE = [("villages", "0011_user_history_village_ranges"), ("core", None)]


def _migrate(targets):
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(targets)
    nodes = [target for target in targets if target[1] is not None]
    if ("villages", "0011_user_history_village_ranges") in nodes:
        nodes.append(("contenttypes", "0002_remove_content_type_name"))
    return executor.loader.project_state(nodes).apps


def _seed_old(old_apps) -> dict:
    County = old_apps.get_model("villages", "County")
    User = old_apps.get_model("auth", "User")
    ImportJob = old_apps.get_model("villages", "ImportJob")
    ExportJob = old_apps.get_model("villages", "ExportJob")
    PendingTask = old_apps.get_model("villages", "PendingTask")
    ContentType = old_apps.get_model("contenttypes", "ContentType")
    county = County.objects.create(code="419999", name="迁移县", kind="county")
    user = User.objects.create(username="迁移前的管理员")
    done = ImportJob.objects.create(
        kind="villages",
        user=user,
        county=county,
        file="imports/2026/11/villages.xlsx",
        original_name="村名册.xlsx",
        state="done",
        summary={"rows": 3, "errors": 0},
        preview={"changes": []},
    )
    running = ImportJob.objects.create(
        kind="cadres", user=user, file="imports/2026/11/cadres.xlsx", state="validating"
    )
    export = ExportJob.objects.create(
        kind="villages", user=user, params={"county": "1"}, state="done", row_count=12
    )
    kept = [
        PendingTask.objects.create(key="a" * 64, task="villages.tasks.import_job_validate"),
        PendingTask.objects.create(
            key="b" * 64, task="disputes.tasks.sanling_recompute", kwargs={"year": 2026}
        ),
    ]
    ContentType.objects.get_or_create(app_label="villages", model="importjob")
    return {
        "county": county.pk,
        "user": user.pk,
        "imports": [done.pk, running.pk],
        "export": export.pk,
        "pending": [row.pk for row in kept],
    }


def test_a_database_from_before_core_keeps_every_job_row_and_can_go_back():
    leaves = MigrationExecutor(connection).loader.graph.leaf_nodes()
    try:
        seeded = _seed_old(_migrate(BEFORE))
        # the tables are villages' own before the move
        tables = connection.introspection.table_names()
        assert {"villages_importjob", "villages_exportjob", "villages_pendingtask"} <= set(tables)

        new_apps = _migrate(leaves)

        ImportJob = new_apps.get_model("core", "ImportJob")
        ExportJob = new_apps.get_model("core", "ExportJob")
        PendingTask = new_apps.get_model("core", "PendingTask")
        ContentType = new_apps.get_model("contenttypes", "ContentType")
        done, running = (ImportJob.objects.get(pk=pk) for pk in seeded["imports"])
        assert (done.kind, done.state, done.county_id, done.user_id) == (
            "villages",
            "done",
            seeded["county"],
            seeded["user"],
        )
        assert done.file.name == "imports/2026/11/villages.xlsx"
        assert (done.original_name, done.summary) == ("村名册.xlsx", {"rows": 3, "errors": 0})
        assert (running.state, running.county_id) == ("validating", None)
        export = ExportJob.objects.get(pk=seeded["export"])
        assert (export.kind, export.params, export.row_count) == ("villages", {"county": "1"}, 12)
        assert dict(PendingTask.objects.values_list("pk", "task")) == {
            seeded["pending"][0]: "core.tasks.import_job_validate",  # renamed
            seeded["pending"][1]: "disputes.tasks.sanling_recompute",  # not core's: kept
        }
        # the content type (and with it permissions and admin log entries) is core's now
        assert ContentType.objects.filter(app_label="core", model="importjob").exists()
        assert not ContentType.objects.filter(app_label="villages", model="importjob").exists()

        # and back: the move is reversible, with the rows and the old task names
        old_apps = _migrate(BEFORE)
        assert old_apps.get_model("villages", "ImportJob").objects.count() == 2
        assert old_apps.get_model("villages", "PendingTask").objects.get(
            pk=seeded["pending"][0]
        ).task == ("villages.tasks.import_job_validate")
    finally:
        _migrate(leaves)
        call_command("flush", verbosity=0, interactive=False)
