"""simple-history's tidy-up commands never delete the audit trail (issue 15, point 5).

`clean_old_history` and `clean_duplicate_history` are core's versions of the library's
commands: naming a protected model is refused in Chinese before anything is deleted, and
--auto skips the protected models (naming each) and tidies only the reference tables'
history (settings.HISTORY_TIDY_MODELS). Any other delete of a protected history row
through the ORM is refused as well.
"""

from __future__ import annotations

import io

import pytest
from django.apps import apps
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied
from django.core.management import CommandError, call_command, get_commands
from django.db import transaction

from core.history import history_protected, protected_history_models
from tests.visits.helpers import visit_fields
from villages.models import Assignment, Cadre, County, UserRole, Village
from visits.models import Visit, VisitEvent, VisitPhoto
from visits.services import visit_create

pytestmark = pytest.mark.django_db

User = get_user_model()


def counts(*models) -> dict:
    return {m._meta.label: m.history.count() for m in models}


@pytest.fixture
def visit(area, cadre_user):
    made, _ = visit_create(actor=cadre_user, **visit_fields(area.villages["a1v1"]))
    return made


def test_the_portal_s_commands_replace_the_library_s():
    commands = get_commands()
    assert commands["clean_old_history"] == "core"
    assert commands["clean_duplicate_history"] == "core"


def test_the_audited_models_are_protected_and_the_reference_tables_are_not():
    from disputes.models import Dispute, Incident, Petition, SanlingStatus
    from stars.models import StarAward, StarAwardEvent, WeakBranchCase
    from visits.models import Problem

    for model in (User, Cadre, Assignment, UserRole, Visit, VisitEvent, VisitPhoto, Problem):
        assert history_protected(model), model
    for model in (StarAward, StarAwardEvent, WeakBranchCase):
        assert history_protected(model), model
    for model in (Dispute, Petition, Incident, SanlingStatus):
        assert history_protected(model), model
    assert not history_protected(County) and not history_protected(Village)
    # every name of the list is a model with history (no typo silently protects nothing)
    for label in settings.HISTORY_TIDY_MODELS:
        assert hasattr(apps.get_model(label), "history"), label
    tables = set(protected_history_models())
    assert User.history.model in tables and County.history.model not in tables
    assert {m.__name__ for m in tables} >= {"HistoricalUser_groups", "HistoricalVisitEvent"}


@pytest.mark.parametrize("command", ["clean_old_history", "clean_duplicate_history"])
@pytest.mark.parametrize("label", ["visits.Visit", "auth.User", "villages.Assignment"])
def test_naming_a_protected_model_is_refused_and_nothing_is_deleted(area, visit, command, label):
    # given
    before = counts(Visit, User, Assignment, County)
    options = {"days": 0} if command == "clean_old_history" else {}

    # when / then
    with pytest.raises(CommandError) as exc:
        call_command(command, "villages.County", label, stdout=io.StringIO(), **options)
    message = str(exc.value)
    assert message.startswith("拒绝执行：") and label in message
    assert "审计记录，不能删除" in message
    assert counts(Visit, User, Assignment, County) == before


def test_old_history_auto_tidies_the_reference_tables_and_skips_the_audit_trail(area, visit):
    # given
    audited = counts(Visit, VisitEvent, User, Cadre, Assignment, UserRole)
    assert all(audited.values()) and County.history.exists() and Village.history.exists()
    out = io.StringIO()

    # when: everything older than now
    call_command("clean_old_history", "--auto", days=0, stdout=out)

    # then
    assert not County.history.exists() and not Village.history.exists()
    assert counts(Visit, VisitEvent, User, Cadre, Assignment, UserRole) == audited
    text = out.getvalue()
    assert "跳过 auth.User（用户）：审计记录，不删除。" in text
    assert "跳过 visits.Visit（下沉记录）：审计记录，不删除。" in text
    assert "跳过 villages.County" not in text


def test_a_named_reference_table_is_tidied(area):
    # when
    call_command("clean_old_history", "villages.County", days=0, stdout=io.StringIO())

    # then
    assert not County.history.exists()
    assert Village.history.exists()


def test_duplicate_history_auto_keeps_the_audit_trail_s_repeated_rows(area, visit):
    # given: a second, identical row for a county and for the visit
    county = County.objects.first()
    county.save()
    county_rows = County.history.filter(id=county.pk).count()
    Visit.objects.get(pk=visit.pk).save()
    visit_rows = Visit.history.filter(id=visit.pk).count()
    assert visit_rows == 2

    # when
    call_command("clean_duplicate_history", "--auto", stdout=io.StringIO())

    # then
    assert County.history.filter(id=county.pk).count() == county_rows - 1
    assert Visit.history.filter(id=visit.pk).count() == visit_rows


def test_no_delete_through_the_orm_removes_an_audit_row(area, visit):
    # given
    before = counts(Visit, User)

    # when / then
    for queryset in (Visit.history.all(), User.history.all(), Visit.history.first()):
        with pytest.raises(PermissionDenied, match="历史记录是审计记录，不能删除"):
            with transaction.atomic():
                queryset.delete()
    assert counts(Visit, User) == before
    # the reference tables' history is not guarded
    County.history.all().delete()
    assert not County.history.exists()
