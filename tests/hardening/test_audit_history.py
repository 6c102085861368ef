"""Audit history (issue 8, point 2).

Every change to visits, problems, star awards and their steps, 软弱涣散 cases, the four
三零 ledgers, 三零 overrides, targets and assignments is kept (django-simple-history) with
who, when, what changed and what made it: the request (id, method, path, client address),
or outside a request the Celery task, import job or management command. Officials read
it on each object's page, scoped like everything else (another area's object is a 404).
Nothing in the portal deletes history: not the pages, the API or the admin, and deleting
an object leaves its history with a "deleted" row.

The world is the `area` fixture (tests/conftest.py): county A (甲县, townships A1 and A2)
and county B (乙县); the county official is county A's, the township official A1's.
"""

from __future__ import annotations

import datetime
import io
import sys
import uuid
from contextlib import contextmanager
from decimal import Decimal

import pytest
from django.contrib import admin
from django.core.management import call_command
from django.http import Http404
from django.test import RequestFactory
from rest_framework.test import APIClient
from simple_history.models import HistoricalRecords

from core.history import HistoryRequestMeta, history_origin
from dashboards import selectors as dashboards_selectors
from dashboards.models import Target
from dashboards.services import target_delete, target_save
from disputes import selectors as disputes_selectors
from disputes.models import Dispute, HazardCheck, Incident, Petition, SanlingStatus
from disputes.services import ledger_delete, ledger_update, sanling_override_set, sanling_recompute
from stars import selectors as stars_selectors
from stars.models import StarAward, StarAwardEvent, StarTask, StarType, WeakBranchCase
from stars.schemes import ensure_star_types
from stars.services import (
    award_apply,
    award_township_review,
    task_check_set,
    weak_case_identify,
    weak_case_rectify,
)
from tests.disputes.factories import DisputeFactory, HazardFactory, IncidentFactory, PetitionFactory
from tests.imports.builders import as_upload, assignment_values, cadres_xlsx
from villages import selectors as villages_selectors
from villages.admin import ReadOnlyHistoryAdmin
from villages.demo import role_groups
from villages.models import Assignment, UserRole
from villages.services import import_job_confirm, import_job_create, record_delete, record_save
from visits import selectors as visits_selectors
from visits.models import Problem, Visit
from visits.services import problem_create, problem_update, visit_approve, visit_create

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.filterwarnings("ignore:No directory at:UserWarning"),
]

YEAR = 2024
DAY = datetime.date(2024, 5, 14)
IP = "203.0.113.7"


@pytest.fixture(autouse=True)
def star_types(db):
    ensure_star_types(StarType, StarTask)


@contextmanager
def in_request(user, path="/audit/probe/", method="post", **meta):
    """Run the block as HistoryRequestMiddleware runs a view: with this request current."""
    request = getattr(RequestFactory(), method)(path, REMOTE_ADDR=IP, **meta)
    request.user = user
    HistoricalRecords.context.request = request
    try:
        yield request
    finally:
        del HistoricalRecords.context.request


def rows(obj) -> list:
    return list(obj.history.order_by("history_id"))


def changed(row, previous) -> dict:
    return {c.field: (c.old, c.new) for c in row.diff_against(previous).changes}


def assert_change(obj, *, user, field, old, new):
    """The newest history row of `obj`: by `user`, dated, with `field` old → new."""
    *earlier, row = rows(obj)
    assert earlier, "a change needs a row to diff against"
    assert row.history_type == "~"
    assert row.history_user == user
    assert row.history_user_name == user.username
    assert row.history_date is not None and row.history_date >= earlier[-1].history_date
    assert changed(row, earlier[-1])[field] == (old, new)
    return row


def assert_request(row, *, source, method, path, ip):
    assert row.history_source == source
    assert len(row.history_request_id) == 32
    assert (row.history_request_method, row.history_request_path) == (method, path)
    assert row.history_ip == ip


def applied_award(area, user) -> StarAward:
    """The rural branch star, applied for by `user` for branch a1v1 (state "applied")."""
    return award_apply(
        actor=user,
        branch=area.branches["a1v1"],
        year=YEAR,
        star_type=StarType.objects.get(scheme="rural", code="branch"),
    )


def identified_case(area, user) -> WeakBranchCase:
    """A 软弱涣散 case for branch a1v2, identified by `user` (status "identified")."""
    return weak_case_identify(
        actor=user,
        branch=area.branches["a1v2"],
        year=YEAR,
        identified_on=datetime.date(2024, 2, 1),
        reasons=["disunity"],
    )


# ----- one change per audited model, through its service -----


def _visit(area, users):
    visit, _created = visit_create(
        actor=users["cadre_user"],
        client_uuid=uuid.uuid4(),
        village=area.villages["a1v1"],
        date=DAY,
        day_part=Visit.DayPart.FULL,
        activities=[Visit.Activity.MEETING],
        meetings=1,
        people_reached=10,
        households_visited=2,
    )
    user = users["county_official"]
    with in_request(user) as request:
        visit_approve(actor=user, visit=visit, comment="已核实")
    return visit, user, "state", Visit.State.SUBMITTED, Visit.State.APPROVED, request


def _problem(area, users):
    problem = problem_create(
        actor=users["cadre_user"],
        village=area.villages["a1v1"],
        category=Problem.Category.INFRASTRUCTURE,
        description="村口路灯不亮",
    )
    user = users["township_official"]
    with in_request(user) as request:
        problem_update(actor=user, problem=problem, status=Problem.Status.IN_PROGRESS)
    return problem, user, "status", "pending", "in_progress", request


def _star_award(area, users):
    user = users["township_official"]
    award = applied_award(area, user)
    with in_request(user) as request:
        award_township_review(actor=user, award=award, comment="材料齐全")
    return award, user, "state", "applied", "township_ok", request


def _weak_case(area, users):
    user = users["county_official"]
    case = identified_case(area, user)
    with in_request(user) as request:
        weak_case_rectify(
            actor=user,
            case=case,
            plan="整顿方案",
            responsible_leader="王书记",
            first_secretary="李四",
        )
    return case, user, "status", "identified", "rectifying", request


def _ledger(factory, who, field, old, new):
    """A 三零 ledger record made by `factory`, then `ledger_update(actor=…, record=record,
    field=new)` by `users[who]` in a request."""

    def change(area, users):
        user = users[who]
        record = factory(village=area.villages["a1v1"])
        with in_request(user) as request:
            ledger_update(actor=user, record=record, **{field: new})
        return record, user, field, old, new, request

    return change


_dispute = _ledger(
    DisputeFactory, "county_official",
    "responsible", "村调委会", "镇调委会",
)  # fmt: skip
_petition = _ledger(
    PetitionFactory, "township_official",
    "subject", "反映宅基地审批问题", "反映宅基地审批进度",
)  # fmt: skip
_incident = _ledger(IncidentFactory, "county_official", "place", "村东", "村西")
_hazard = _ledger(HazardFactory, "county_official", "responsible", "赵六", "钱七")


def _sanling_override(area, users):
    user = users["county_official"]
    sanling_recompute(year=YEAR)
    status = SanlingStatus.objects.get(year=YEAR, village=area.villages["a1v1"])
    with in_request(user) as request:
        sanling_override_set(
            actor=user, year=YEAR, value="not_met", reason="县里复核", village=area.villages["a1v1"]
        )
    return status, user, "override", "", "not_met", request


def _target(area, users):
    user = users["city_admin"]
    target = target_save(
        actor=user,
        target=Target(year=YEAR, indicator="visits", comparison="gte", threshold=Decimal("80")),
    )
    target.threshold = Decimal("90")
    with in_request(user) as request:
        target_save(actor=user, target=target)
    return target, user, "threshold", Decimal("80.00"), Decimal("90"), request


def _assignment(area, users):
    user = users["county_official"]
    assignment = Assignment.objects.get(pk=area.assignments["a1v1"].pk)
    assignment.end_date = datetime.date(2024, 10, 31)
    with in_request(user) as request:
        record_save(actor=user, instance=assignment)
    return assignment, user, "end_date", datetime.date(2024, 12, 31), assignment.end_date, request


SERVICE_CHANGES = {
    "visit": _visit,
    "problem": _problem,
    "star_award": _star_award,
    "weak_case": _weak_case,
    "dispute": _dispute,
    "petition": _petition,
    "incident": _incident,
    "hazard": _hazard,
    "sanling_override": _sanling_override,
    "target": _target,
    "assignment": _assignment,
}


@pytest.mark.parametrize("kind", SERVICE_CHANGES)
def test_a_change_through_the_service_keeps_who_when_what_and_the_request(kind, area, users):
    obj, user, field, old, new, request = SERVICE_CHANGES[kind](area, users)

    row = assert_change(obj, user=user, field=field, old=old, new=new)
    assert_request(row, source="web", method="POST", path="/audit/probe/", ip=IP)
    assert row.history_request_id == request._history_request_id


def test_the_rows_of_one_request_share_its_id_and_a_proxy_id_is_kept(area, users, settings):
    # the request came through the portal's proxy (IP), which names its client
    settings.TRUSTED_PROXIES = [IP]
    user = users["township_official"]
    award = applied_award(area, user)
    proxy_id = "edge-7f3a9c01d2"
    forwarded = "192.0.2.1, 198.51.100.4"  # the client wrote the first, the proxy the second
    with in_request(user, HTTP_X_REQUEST_ID=proxy_id, HTTP_X_FORWARDED_FOR=forwarded):
        award_township_review(actor=user, award=award)

    award_row = award.history.latest()
    event_row = StarAwardEvent.history.filter(award_id=award.pk).latest()
    assert award_row.history_request_id == event_row.history_request_id == proxy_id
    assert (award_row.history_ip, award_row.history_forwarded_for) == ("198.51.100.4", IP)


def test_each_step_of_an_award_is_kept_as_a_history_row_of_its_own(area, users):
    official = users["township_official"]
    award = applied_award(area, official)
    with in_request(official):
        award_township_review(actor=official, award=award, comment="材料齐全")

    steps = list(StarAwardEvent.history.filter(award_id=award.pk).order_by("history_id"))
    assert [(r.step, r.history_type, r.history_user) for r in steps] == [
        ("apply", "+", official),
        ("township_review", "+", official),
    ]
    assert steps[0].history_source.startswith("process:")  # no request: the process
    assert steps[1].history_source == "web" and steps[1].comment == "材料齐全"


def test_a_key_task_tick_is_kept_with_its_actor(area, users):
    official = users["township_official"]
    task = StarTask.objects.filter(star_type__scheme="rural").first()
    with in_request(official):
        check = task_check_set(
            actor=official,
            branch=area.branches["a1v1"],
            year=YEAR,
            task=task,
            met=True,
            evidence="会议记录",
        )
    row = check.history.get()
    assert (row.history_user, row.met, row.history_source) == (official, True, "web")


# ----- the same changes through the pages and the API -----


def api(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


def latest_row(model, pk):
    return model.history.filter(id=pk).order_by("history_id").last()


def test_visit_through_the_api_and_the_review_page(area, users, client):
    cadre, official = users["cadre_user"], users["county_official"]
    body = {
        "client_uuid": str(uuid.uuid4()),
        "village": area.villages["a1v1"].pk,
        "date": DAY.isoformat(),
        "day_part": "full",
        "activities": ["meeting"],
        "meetings": 1,
        "people_reached": 5,
        "households_visited": 1,
    }
    created = api(cadre).post("/api/visits/", body, format="json")
    assert created.status_code == 201, created.content
    pk = created.json()["id"]
    row = latest_row(Visit, pk)
    assert (row.history_type, row.history_user) == ("+", cadre)
    assert_request(row, source="api", method="POST", path="/api/visits/", ip="127.0.0.1")

    client.force_login(official)
    assert client.post(f"/visits/{pk}/approve/").status_code == 302
    row = assert_change(Visit.objects.get(pk=pk), user=official, field="state",
                        old="submitted", new="approved")  # fmt: skip
    assert_request(row, source="web", method="POST", path=f"/visits/{pk}/approve/", ip="127.0.0.1")


def test_problem_through_the_page_and_the_api(area, users, client):
    cadre, official = users["cadre_user"], users["township_official"]
    problem = problem_create(
        actor=cadre, village=area.villages["a1v1"], category="other", description="路灯"
    )
    client.force_login(official)
    url = f"/problems/{problem.pk}/"
    form = {"handler": "村委会", "explanation": "", "resolved_on": "", "satisfaction": ""}
    assert client.post(url, {**form, "status": "in_progress"}).status_code == 302
    row = assert_change(problem, user=official, field="status", old="pending", new="in_progress")
    assert_request(row, source="web", method="POST", path=url, ip="127.0.0.1")

    response = api(official).patch(f"/api/problems/{problem.pk}/", {"handler": "镇政府"},
                                   format="json")  # fmt: skip
    assert response.status_code == 200, response.content
    row = assert_change(problem, user=official, field="handler", old="村委会", new="镇政府")
    assert_request(
        row, source="api", method="PATCH", path=f"/api/problems/{problem.pk}/", ip="127.0.0.1"
    )


def test_star_award_through_the_api_and_the_card(area, users, client):
    official = users["township_official"]
    body = {
        "branch": area.branches["a1v1"].pk,
        "year": YEAR,
        "star_type": StarType.objects.get(scheme="rural", code="branch").pk,
    }
    created = api(official).post("/api/star-awards/", body, format="json")
    assert created.status_code == 201, created.content
    award = StarAward.objects.get(pk=created.json()["id"])
    assert_request(award.history.get(), source="api", method="POST",
                   path="/api/star-awards/", ip="127.0.0.1")  # fmt: skip

    client.force_login(official)
    url = f"/stars/awards/{award.pk}/township_review/"
    assert client.post(url, {"comment": "同意"}).status_code == 302
    row = assert_change(award, user=official, field="state", old="applied", new="township_ok")
    assert_request(row, source="web", method="POST", path=url, ip="127.0.0.1")
    event = StarAwardEvent.history.filter(award_id=award.pk).latest()
    assert (event.step, event.history_user, event.history_request_id) == (
        "township_review",
        official,
        row.history_request_id,
    )


def test_weak_case_through_the_page(area, users, client):
    official = users["county_official"]
    case = identified_case(area, official)
    client.force_login(official)
    url = f"/stars/weak/{case.pk}/rectify/"
    data = {"plan": "方案", "responsible_leader": "王书记", "first_secretary": "李四"}
    assert client.post(url, data).status_code == 302
    row = assert_change(case, user=official, field="status", old="identified", new="rectifying")
    assert_request(row, source="web", method="POST", path=url, ip="127.0.0.1")


def test_dispute_through_the_page_and_the_api(area, users, client):
    official = users["county_official"]
    dispute = DisputeFactory(village=area.villages["a1v1"], registered_on=DAY)
    client.force_login(official)
    url = f"/disputes/disputes/{dispute.pk}/"
    data = {"status": "resolved", "resolved_on": "2024-05-20", "method": "people"}
    assert client.post(url, data).status_code == 302
    row = assert_change(dispute, user=official, field="status", old="registered", new="resolved")
    assert_request(row, source="web", method="POST", path=url, ip="127.0.0.1")

    response = api(official).patch(f"/api/disputes/{dispute.pk}/", {"responsible": "镇司法所"},
                                   format="json")  # fmt: skip
    assert response.status_code == 200, response.content
    row = assert_change(dispute, user=official, field="responsible", old="村调委会", new="镇司法所")
    assert_request(row, source="api", method="PATCH", path=url.replace("/disputes/disputes/",
                   "/api/disputes/"), ip="127.0.0.1")  # fmt: skip


@pytest.mark.parametrize(
    ("endpoint", "factory", "field", "old", "new"),
    [
        ("petitions", PetitionFactory, "subject", "反映宅基地审批问题", "反映宅基地审批进度"),
        ("incidents", IncidentFactory, "place", "村东", "村西"),
        ("hazards", HazardFactory, "responsible", "赵六", "钱七"),
    ],
)
def test_ledgers_through_the_api(area, users, endpoint, factory, field, old, new):
    official = users["county_official"]
    record = factory(village=area.villages["a1v1"])
    url = f"/api/{endpoint}/{record.pk}/"
    response = api(official).patch(url, {field: new}, format="json")
    assert response.status_code == 200, response.content
    row = assert_change(record, user=official, field=field, old=old, new=new)
    assert_request(row, source="api", method="PATCH", path=url, ip="127.0.0.1")


def test_sanling_override_through_the_page_and_the_api(area, users, client):
    official = users["county_official"]
    village = area.villages["a1v1"]
    sanling_recompute(year=YEAR)
    status = SanlingStatus.objects.get(year=YEAR, village=village)
    client.force_login(official)
    url = f"/disputes/sanling/village/{village.pk}/{YEAR}/"
    assert client.post(url, {"value": "not_met", "reason": "县里复核"}).status_code == 302
    row = assert_change(status, user=official, field="override", old="", new="not_met")
    assert row.history_change_reason == "县里复核"
    assert_request(row, source="web", method="POST", path=url, ip="127.0.0.1")

    url = f"/api/sanling-statuses/{status.pk}/override/"
    response = api(official).post(url, {"override": "met", "reason": "核查"}, format="json")
    assert response.status_code == 200, response.content
    row = assert_change(status, user=official, field="override", old="not_met", new="met")
    assert_request(row, source="api", method="POST", path=url, ip="127.0.0.1")


def test_target_through_the_page(area, users, client):
    admin_user = users["city_admin"]
    target = target_save(
        actor=admin_user,
        target=Target(year=YEAR, indicator="visits", comparison="gte", threshold=Decimal("80")),
    )
    client.force_login(admin_user)
    url = f"/dashboards/targets/{target.pk}/"
    data = {"year": YEAR, "indicator": "visits", "comparison": "gte", "threshold": "95",
            "area_level": "", "note": "提高"}  # fmt: skip
    assert client.post(url, data).status_code == 302
    row = assert_change(target, user=admin_user, field="threshold",
                        old=Decimal("80.00"), new=Decimal("95.00"))  # fmt: skip
    assert_request(row, source="web", method="POST", path=url, ip="127.0.0.1")


def staff(user, role):
    user.is_staff = True
    user.save(update_fields=["is_staff"])
    user.groups.add(role_groups()[role])
    return user


def test_assignment_through_the_admin(area, users, client):
    official = staff(users["county_official"], UserRole.Role.COUNTY_OFFICIAL)
    assignment = area.assignments["a1v1"]
    client.force_login(official)
    url = f"/admin/villages/assignment/{assignment.pk}/change/"
    data = {
        "cadre": assignment.cadre_id,
        "kind": "village",
        "township": "",
        "village": assignment.village_id,
        "year": YEAR,
        "start_date": "2024-01-01",
        "end_date": "2024-09-30",
        "_save": "保存",
    }
    response = client.post(url, data)
    assert response.status_code == 302, response.context["adminform"].form.errors
    row = assert_change(assignment, user=official, field="end_date",
                        old=datetime.date(2024, 12, 31), new=datetime.date(2024, 9, 30))  # fmt: skip
    assert_request(row, source="web", method="POST", path=url, ip="127.0.0.1")


# ----- outside a request: the task, import or command that made the change -----


def test_a_celery_task_names_itself_on_the_rows_it_writes(area, users):
    from disputes.tasks import sanling_recompute as sanling_recompute_task

    DisputeFactory(village=area.villages["a1v1"], registered_on=DAY, risk_level=Dispute.Risk.RED)
    sanling_recompute_task.delay(YEAR)

    statuses = SanlingStatus.history.filter(year=YEAR)
    assert statuses.exists()
    for row in statuses:
        assert row.history_source == "task:disputes.tasks.sanling_recompute"
        assert (row.history_request_id, row.history_ip, row.history_user) == ("", None, None)
        assert row.history_source_display == "后台任务 disputes.tasks.sanling_recompute"


def test_an_import_names_its_job_and_its_importer(area, users, django_capture_on_commit_callbacks):
    admin_user = users["city_admin"]
    assignment = area.assignments["a1v1"]
    data = cadres_xlsx([assignment_values(assignment, 结束日期=datetime.date(2024, 11, 30))])
    with django_capture_on_commit_callbacks(execute=True):
        job = import_job_create(actor=admin_user, kind="cadres", upload=as_upload(data))
    job.refresh_from_db()
    with django_capture_on_commit_callbacks(execute=True):
        import_job_confirm(actor=admin_user, job=job)
    job.refresh_from_db()
    assert job.state == job.State.DONE, job.error

    row = assert_change(assignment, user=admin_user, field="end_date",
                        old=datetime.date(2024, 12, 31), new=datetime.date(2024, 11, 30))  # fmt: skip
    assert row.history_source == f"import:{job.pk}"
    assert row.history_source_display == f"数据导入 #{job.pk}"


def test_a_management_command_names_itself(area, users, monkeypatch):
    DisputeFactory(village=area.villages["a1v1"], registered_on=DAY, risk_level=Dispute.Risk.RED)
    monkeypatch.setattr(sys, "argv", ["manage.py", "sanling_recompute", str(YEAR)])
    call_command("sanling_recompute", str(YEAR), stdout=io.StringIO())

    row = SanlingStatus.history.filter(village=area.villages["a1v1"]).get()
    assert row.history_source == "command:sanling_recompute"
    assert row.history_source_display == "命令 sanling_recompute"


def test_a_service_called_by_another_kind_of_job_is_named_by_it(area, users):
    official = users["county_official"]
    dispute = DisputeFactory(village=area.villages["a1v1"])
    with history_origin("task:nightly-check"):
        ledger_update(actor=official, record=dispute, responsible="镇调委会")
    row = dispute.history.latest()
    assert (row.history_source, row.history_user) == ("task:nightly-check", official)


def test_who_survives_the_deletion_of_the_login(area, users):
    official = users["county_official"]
    dispute = DisputeFactory(village=area.villages["a1v1"])
    ledger_update(actor=official, record=dispute, responsible="镇调委会")
    official.delete()

    row = dispute.history.latest()
    assert (row.history_user, row.history_user_name) == (None, "county_a")


# ----- the history panels -----


@pytest.fixture
def audited(area, users):
    """One changed object of each audited kind in county A (township A1): the page that
    shows it, a change its panel lists, and its history selector (`read(user)`)."""
    official = users["county_official"]
    township = users["township_official"]
    cadre = users["cadre_user"]
    a1v1 = area.villages["a1v1"]
    objects = {}

    visit, _created = visit_create(
        actor=cadre, client_uuid=uuid.uuid4(), village=a1v1, date=DAY,
        activities=["meeting"], meetings=1, people_reached=3, households_visited=1,
    )  # fmt: skip
    visit_approve(actor=official, visit=visit, comment="已核实")
    objects["visit"] = (
        f"/visits/{visit.pk}/",
        "审核状态：待审核 → 已通过",
        lambda user: visits_selectors.visit_history(user=user, visit=visit),
    )

    problem = problem_create(actor=cadre, village=a1v1, category="other", description="路灯")
    problem_update(actor=township, problem=problem, status="in_progress")
    objects["problem"] = (
        f"/problems/{problem.pk}/",
        "状态：待办 → 办理中",
        lambda user: visits_selectors.problem_history(user=user, problem=problem),
    )

    award = applied_award(area, township)
    award_township_review(actor=township, award=award)
    objects["award"] = (
        f"/stars/branches/{area.branches['a1v1'].pk}/?year={YEAR}",
        "状态：已申报 → 乡镇已初审",
        lambda user: stars_selectors.card_history(user=user, awards=[award], checks=[]),
    )

    case = identified_case(area, official)
    weak_case_rectify(
        actor=official, case=case, plan="方案", responsible_leader="王书记", first_secretary="李四"
    )
    objects["weak_case"] = (
        f"/stars/weak/{case.pk}/",
        "状态：已认定 → 整顿中",
        lambda user: stars_selectors.weak_case_history(user=user, case=case),
    )

    for ledger, factory, update, label in (
        ("disputes", DisputeFactory, lambda r: ledger_update(actor=official, record=r, responsible="镇调委会"), "化解责任人/单位：村调委会 → 镇调委会"),
        ("petitions", PetitionFactory, lambda r: ledger_update(actor=official, record=r, status="accepted", accepted_on=datetime.date(2024, 3, 6)), "办理状态：待受理 → 办理中"),
        ("incidents", IncidentFactory, lambda r: ledger_update(actor=official, record=r, place="村西"), "发生地点：村东 → 村西"),
        ("hazards", HazardFactory, lambda r: ledger_update(actor=official, record=r, regulated_items=["chemicals"]), "涉及管控物品：（空） → 危险化学品"),
    ):  # fmt: skip
        record = factory(village=a1v1)
        update(record)
        objects[ledger] = (
            f"/disputes/{ledger}/{record.pk}/",
            label,
            lambda user, r=record: disputes_selectors.record_history(user=user, obj=r),
        )

    sanling_recompute(year=YEAR)
    sanling_override_set(
        actor=official, year=YEAR, value="not_met", reason="县里复核", village=a1v1
    )
    objects["sanling"] = (
        f"/disputes/sanling/village/{a1v1.pk}/{YEAR}/",
        "人工认定：（空） → 不达标",
        lambda user: disputes_selectors.record_history(
            user=user, obj=SanlingStatus.objects.get(year=YEAR, village=a1v1)
        ),
    )

    target = target_save(
        actor=users["city_admin"],
        target=Target(year=YEAR, indicator="visits", comparison="gte", threshold=Decimal("80")),
    )
    target.comparison = "lte"
    target_save(actor=users["city_admin"], target=target)
    objects["target"] = (
        f"/dashboards/targets/{target.pk}/history/",
        "比较方式：不低于 → 不高于",
        lambda user: dashboards_selectors.target_history(user=user, target=target),
    )

    assignment = Assignment.objects.get(pk=area.assignments["a1v1"].pk)
    assignment.end_date = datetime.date(2024, 10, 31)
    record_save(actor=official, instance=assignment)
    objects["assignment"] = (
        f"/assignments/{assignment.pk}/",
        "结束日期：",
        lambda user: villages_selectors.assignment_history(user=user, assignment=assignment),
    )
    return objects


PANELS = (
    "visit",
    "problem",
    "award",
    "weak_case",
    "disputes",
    "petitions",
    "incidents",
    "hazards",
    "sanling",
    "target",
    "assignment",
)


def panel_of(page: str) -> str:
    return page.split('<section class="history-panel', 1)[1].split("</section>", 1)[0]


@pytest.mark.parametrize("who", ["county_official", "township_official", "city_admin"])
def test_officials_read_the_history_panels_in_chinese(client, users, audited, who):
    client.force_login(users[who])
    for kind in PANELS:
        url, change, _read = audited[kind]
        response = client.get(url)
        assert response.status_code == 200, kind
        panel = panel_of(response.content.decode())
        assert change in panel, kind
        assert "<th>操作人</th>" in panel and "<th>来源</th>" in panel, kind
        for english in ("None", "True", "False", "Deleted", "history_"):
            assert english not in panel, (kind, english)


def test_another_areas_official_gets_a_404_for_every_panel(client, users, audited):
    client.force_login(users["other_county_official"])
    for kind in PANELS:
        if kind != "target":
            assert client.get(audited[kind][0]).status_code == 404, kind


def test_history_selectors_are_scoped(users, audited):
    for kind in PANELS:
        url, change, read = audited[kind]
        entries = read(users["county_official"])
        labels = {c["label"] for entry in entries for c in entry["changes"]}
        assert change.split("：")[0] in labels, kind
        outsider = users["cadre_user" if kind == "target" else "other_county_official"]
        with pytest.raises(Http404):
            read(outsider)


def test_targets_are_city_wide_and_their_history_is_404_for_those_without_dashboards(
    client, users, audited
):
    url, change, _read = audited["target"]
    client.force_login(users["other_county_official"])
    assert change in client.get(url).content.decode()
    for who in ("cadre_user", "no_role_user"):
        client.force_login(users[who])
        assert client.get(url).status_code == 404


def test_the_panel_names_who_and_where_from_and_officials_see_the_address(client, users, area):
    official = users["county_official"]
    official.first_name = "张主任"
    official.save(update_fields=["first_name"])
    dispute = DisputeFactory(village=area.villages["a1v1"])
    with in_request(official, path="/disputes/disputes/1/", HTTP_X_REQUEST_ID="req-0123456789"):
        ledger_update(actor=official, record=dispute, responsible="镇调委会")
    url = f"/disputes/disputes/{dispute.pk}/"

    client.force_login(official)
    panel = panel_of(client.get(url).content.decode())
    assert "张主任" in panel
    assert "网页 POST /disputes/disputes/1/" in panel
    assert f"IP {IP}" in panel and "请求编号 req-0123456789" in panel

    client.force_login(users["cadre_user"])
    panel = panel_of(client.get(url).content.decode())
    assert "网页 POST /disputes/disputes/1/" in panel
    assert IP not in panel and "req-0123456789" not in panel


def test_the_panel_masks_id_and_phone_numbers_for_those_who_may_not_see_them(client, users, area):
    official = users["county_official"]
    petition = PetitionFactory(village=area.villages["a1v1"])
    ledger_update(actor=official, record=petition, petitioner_phone="13700001111")
    url = f"/disputes/petitions/{petition.pk}/"
    client.force_login(users["city_viewer"])
    panel = panel_of(client.get(url).content.decode())
    assert "139****1111 → 137****1111" in panel
    assert "13900001111" not in panel and "13700001111" not in panel


def test_a_panel_costs_a_fixed_number_of_queries(area, users, django_assert_max_num_queries):
    from disputes.selectors import record_history

    official = users["county_official"]
    dispute = DisputeFactory(village=area.villages["a1v1"])
    ledger_update(actor=official, record=dispute, village=area.villages["a1v2"])
    with django_assert_max_num_queries(4) as few:
        record_history(user=official, obj=dispute)
    for n in range(10):
        ledger_update(actor=official, record=dispute, responsible=f"第{n}组")
        ledger_update(actor=official, record=dispute,
                       village=area.villages["a1v3" if n % 2 else "a1v1"])  # fmt: skip
    with django_assert_max_num_queries(len(few.captured_queries)):
        entries = record_history(user=official, obj=dispute)
    assert len(entries) == 22
    assert entries[0]["changes"][0]["label"] == "村(社区)"


# ----- nothing deletes history -----


def test_no_admin_edits_or_deletes_history_rows():
    historical = [m for m in admin.site._registry if issubclass(m, HistoryRequestMeta)]
    assert historical == []
    history_admins = [a for a in admin.site._registry.values() if hasattr(a, "history_form_view")]
    assert history_admins
    assert all(isinstance(a, ReadOnlyHistoryAdmin) for a in history_admins)


def test_an_old_version_cannot_be_restored_even_by_a_superuser(area, users, client):
    root = users["superuser"]
    target = target_save(
        actor=users["city_admin"],
        target=Target(year=YEAR, indicator="visits", comparison="gte", threshold=Decimal("80")),
    )
    first = target.history.get()
    target.threshold = Decimal("90")
    target_save(actor=users["city_admin"], target=target)
    client.force_login(root)
    url = f"/admin/dashboards/target/{target.pk}/history/{first.history_id}/"
    data = {"year": YEAR, "indicator": "visits", "comparison": "gte", "threshold": "80",
            "area_level": "", "note": "", "_save": "保存"}  # fmt: skip

    page = client.get(url)
    assert page.status_code == 200 and "恢复" not in page.content.decode()
    assert client.post(url, data).status_code == 403
    target.refresh_from_db()
    assert target.threshold == Decimal("90") and target.history.count() == 2


def _delete_dispute_on_its_page(area, users, client):
    obj = DisputeFactory(village=area.villages["a1v1"])
    yield obj
    client.force_login(users["county_official"])
    assert client.post(f"/disputes/disputes/{obj.pk}/delete/").status_code == 302
    yield users["county_official"], "web"


def _delete_petition_through_the_api(area, users, client):
    obj = PetitionFactory(village=area.villages["a1v1"])
    yield obj
    assert api(users["county_official"]).delete(f"/api/petitions/{obj.pk}/").status_code == 204
    yield users["county_official"], "api"


def _delete_dispute_through_its_service(area, users, client):
    obj = DisputeFactory(village=area.villages["a1v1"])
    ledger_update(actor=users["township_official"], record=obj, responsible="镇调委会")
    yield obj
    with in_request(users["county_official"]):
        ledger_delete(actor=users["county_official"], record=obj)
    yield users["county_official"], "web"


def _delete_target_in_the_admin_as_superuser(area, users, client):
    obj = target_save(
        actor=users["city_admin"],
        target=Target(year=YEAR, indicator="visits", comparison="gte", threshold=1),
    )
    yield obj
    client.force_login(users["superuser"])
    url = f"/admin/dashboards/target/{obj.pk}/delete/"
    assert client.post(url, {"post": "yes"}).status_code == 302
    yield users["superuser"], "web"


def _delete_assignment_in_the_admin(area, users, client):
    obj = area.assignments["a1v1"]
    yield obj
    city_admin = staff(users["city_admin"], UserRole.Role.CITY_ADMIN)
    client.force_login(city_admin)
    url = f"/admin/villages/assignment/{obj.pk}/delete/"
    assert client.post(url, {"post": "yes"}).status_code == 302
    yield city_admin, "web"


def _delete_target_through_its_service(area, users, client):
    obj = target_save(
        actor=users["city_admin"],
        target=Target(year=YEAR, indicator="visits", comparison="gte", threshold=1),
    )
    yield obj
    target_delete(actor=users["city_admin"], target=obj)
    yield users["city_admin"], "process:"


def _delete_assignment_through_its_service(area, users, client):
    obj = area.assignments["b1v1"]
    yield obj
    record_delete(actor=users["city_admin"], instance=obj)
    yield users["city_admin"], "process:"


DELETIONS = {
    "dispute_page": _delete_dispute_on_its_page,
    "petition_api": _delete_petition_through_the_api,
    "dispute_service": _delete_dispute_through_its_service,
    "target_admin_superuser": _delete_target_in_the_admin_as_superuser,
    "assignment_admin": _delete_assignment_in_the_admin,
    "target_service": _delete_target_through_its_service,
    "assignment_service": _delete_assignment_through_its_service,
}


@pytest.mark.parametrize("way", DELETIONS)
def test_deleting_an_object_keeps_its_history_with_a_deleted_row(area, users, client, way):
    steps = DELETIONS[way](area, users, client)
    obj = next(steps)
    model, pk, before = type(obj), obj.pk, [r.history_id for r in rows(obj)]

    actor, source = next(steps)

    assert not model.objects.filter(pk=pk).exists()
    history = list(model.history.filter(id=pk).order_by("history_id"))
    assert [r.history_id for r in history[:-1]] == before
    assert history[-1].history_type == "-"
    assert history[-1].history_user == actor
    assert history[-1].history_source.startswith(source)


@pytest.mark.parametrize(
    "model",
    [
        Visit,
        Problem,
        StarAward,
        StarAwardEvent,
        WeakBranchCase,
        Dispute,
        Petition,
        Incident,
        HazardCheck,
        SanlingStatus,
        Target,
        Assignment,
    ],  # fmt: skip
)
def test_every_audited_model_keeps_history_with_the_request(model):
    history = model.history.model
    assert issubclass(history, HistoryRequestMeta)
    names = {f.name for f in history._meta.fields}
    assert {"history_user", "history_date", "history_source", "history_request_id",
            "history_request_method", "history_request_path", "history_ip"} <= names  # fmt: skip
