"""Issue 16, "done when": the demo's cadre roster, imported on a portal that holds only the
demo's areas, opens one login per cadre; a county official's 开通通知 (the printable page and
the workbook) holds the cadres of their county and nobody else's."""

import io
import re

import pytest
from django.contrib.auth import get_user_model
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db.models import Q
from django.test import Client
from django.urls import reverse
from openpyxl import load_workbook

from accounts import services
from accounts.models import Account
from accounts.selectors import credential_sheet_rows
from core.models import ExportJob, ImportJob
from villages.demo import seed_demo as seed_villages
from villages.models import Assignment, Cadre, County, WorkUnit
from villages.services import export_job_create, import_job_run_now

# 40 s: once, in CI's PostgreSQL pass (tests/conftest.py), or anywhere with ALL_PASSES=1.
pytestmark = [pytest.mark.django_db, pytest.mark.postgres_pass]

User = get_user_model()
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _in_county(county: County):
    """The cadres a county's officials look after: linked to one of its villages or
    townships, or sent by one of its units."""
    return Cadre.objects.filter(
        Q(assignments__village__township__county=county)
        | Q(assignments__township__county=county)
        | Q(work_unit__county=county)
    ).distinct()


def test_the_demo_cadre_roster_opens_one_login_each_and_every_county_gets_its_own_slips(
    django_capture_on_commit_callbacks,
):
    # given: the demo's areas and cadres, and its cadre roster as the portal exports it
    seed_villages()
    admin = User.objects.get(username="admin")
    with django_capture_on_commit_callbacks(execute=True):
        export = export_job_create(actor=admin, kind="cadres")
    export.refresh_from_db()
    assert export.state == ExportJob.State.DONE
    with export.file.open("rb") as fh:
        roster = fh.read()
    phones = set(Cadre.objects.values_list("phone", flat=True))
    links = Assignment.objects.count()
    # ... and a portal that has the areas but no cadres, links, units or cadre logins yet
    Assignment.objects.all().delete()
    Cadre.objects.all().delete()
    WorkUnit.objects.all().delete()
    assert not Account.objects.exists()

    # when: the city admin imports the roster
    job = import_job_run_now(
        actor=admin,
        kind="cadres",
        upload=SimpleUploadedFile("帮扶干部及联系点.xlsx", roster, content_type=XLSX),
    )

    # then: every cadre and link is back, each cadre with one login of their own
    assert job.state == ImportJob.State.DONE, job.error
    assert set(Cadre.objects.values_list("phone", flat=True)) == phones
    assert Assignment.objects.count() == links
    assert job.summary["accounts_created"] == len(phones)
    assert f"新建账号 {len(phones)} 个" in job.summary["notes"]
    logins = Cadre.objects.exclude(user=None).values_list("user__username", "phone")
    assert sorted(logins) == sorted((phone, phone) for phone in phones)
    assert Account.objects.filter(source=Account.Source.CADRE_ROSTER).count() == len(phones)

    # when: 鄢陵县's official draws the first passwords
    official = User.objects.get(username="county_yanling")
    yanling = County.objects.get(code="411024")
    sheet = services.credentials_issue(actor=official)

    # then: the sheet holds exactly the cadres of 鄢陵县, nobody else
    mine = set(_in_county(yanling).values_list("phone", flat=True))
    rows = credential_sheet_rows(sheet)
    assert {row["username"] for row in rows} == mine
    assert 0 < len(mine) < len(phones)

    # ... and so do its printable page and its workbook, for that official only
    client = Client()
    client.force_login(official)
    page = client.get(reverse("accounts:sheet_print", args=[sheet.pk])).content.decode()
    workbook = client.get(reverse("accounts:sheet_xlsx", args=[sheet.pk]))
    sheet_rows = list(
        load_workbook(io.BytesIO(workbook.content)).active.iter_rows(values_only=True)
    )
    headers = sheet_rows[0]
    in_book = {row[headers.index("登录名")] for row in sheet_rows[1:]}
    assert in_book == mine
    on_page = set(re.findall(r"1[3-9]\d{9}", page))
    assert mine <= on_page
    assert not (on_page & (phones - mine))
    other = User.objects.get(username="county_changge")
    stranger = Client()
    stranger.force_login(other)
    assert stranger.get(reverse("accounts:sheet_print", args=[sheet.pk])).status_code == 404
