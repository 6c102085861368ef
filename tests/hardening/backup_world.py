"""The world tests/hardening/test_backup_restore.py backs up, built in its own process:

    DATABASE_URL=postgres://…/<fresh database> MEDIA_ROOT=<dir> python -m tests.hardening.backup_world

It migrates the database, runs `seed_demo` for villages, stars and disputes (their real
volumes: 2,529 villages, two years of star ratings, 15,000 disputes…), adds what the visits
demo would take half a minute to write in bulk through the services instead (visits with
photos, a return and an approval, a problem), an export and an import job (so the media
directory holds photos, an export and an upload), and finally the dashboards demo, which
computes every roster year's snapshots from all of that. Nothing is queued: Celery runs
inline (no broker in the environment).
"""

import datetime
import io
import os
import uuid

DEMO_APPS_FIRST = ["villages", "stars", "disputes"]


def _jpeg(colour: tuple[int, int, int]):
    from django.core.files.uploadedfile import SimpleUploadedFile
    from PIL import Image

    out = io.BytesIO()
    Image.new("RGB", (64, 48), colour).save(out, format="JPEG")
    return SimpleUploadedFile("photo.jpg", out.getvalue(), content_type="image/jpeg")


def _visits_and_problems() -> None:
    from django.contrib.auth import get_user_model

    from visits.models import Problem
    from visits.services import problem_create, visit_approve, visit_create, visit_return

    users = get_user_model().objects.in_bulk(
        ["cadre_peizhuang", "township_zhangqiao"], field_name="username"
    )
    cadre, reviewer = users["cadre_peizhuang"], users["township_zhangqiao"]
    village = cadre.cadre.assignments.filter(kind="village").first().village
    visits = []
    for day in range(1, 7):
        visit, created = visit_create(
            actor=cadre,
            client_uuid=uuid.uuid5(uuid.NAMESPACE_URL, f"backup-world-{day}"),
            photos=[_jpeg((40 * day, 90, 160))] if day <= 3 else [],
            village=village.pk,
            date=datetime.date(2023, 11, day),
            activities=["meeting", "household"],
            meetings=1,
            people_reached=10 + day,
            households_visited=day,
            notes=f"第{day}次走访。",
            latitude="34.021000",
            longitude="113.821000",
        )
        assert created
        visits.append(visit)
    visit_return(actor=reviewer, visit=visits[0], comment="请补充走访群众名单。")
    visit_approve(actor=reviewer, visit=visits[1])
    problem_create(
        actor=cadre,
        village=village,
        visit=visits[2],
        category=Problem.Category.INFRASTRUCTURE,
        description="村东道路破损，需要修补。",
        raised_by="村民王某",
    )


def _export_and_import() -> None:
    from django.contrib.auth import get_user_model
    from django.core.files.uploadedfile import SimpleUploadedFile

    from core.models import ExportJob, ImportJob
    from villages.services import export_job_create, import_job_create

    admin = get_user_model().objects.get(username="admin")
    export = export_job_create(actor=admin, kind="villages")
    export.refresh_from_db()
    assert export.state == ExportJob.State.DONE and export.file, export.error
    with export.file.open("rb") as fh:
        workbook = fh.read()
    job = import_job_create(
        actor=admin,
        kind="villages",
        upload=SimpleUploadedFile("roster.xlsx", workbook),
    )
    job.refresh_from_db()
    assert job.state == ImportJob.State.PREVIEWED and job.file, (job.state, job.error)


def main() -> None:
    import django

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "xuchang_portal.settings.test")
    django.setup()
    from django.core.management import call_command
    from django.db import transaction

    call_command("migrate", verbosity=0)
    quiet = open(os.devnull, "w")
    call_command("seed_demo", apps=DEMO_APPS_FIRST, stdout=quiet)
    with transaction.atomic():
        _visits_and_problems()
    _export_and_import()
    call_command("seed_demo", apps=["dashboards"], stdout=quiet)


if __name__ == "__main__":
    main()
