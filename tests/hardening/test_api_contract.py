"""The API keeps its own contract (issue 15 §6), in every CI pass: a bounded OpenAPI fuzz of
every operation as a county official and as a cadre, and of every unsafe operation as a
county official whose script holds the session cookie but not the CSRF token, each answer
judged by every schemathesis check (tests/hardening/api_fuzz.py says which one is replaced,
which are added, and why). The exhaustive sweep (six roles, every coverage case) is
tests/hardening/test_api_fuzz.py."""

import pytest

from tests.hardening.api_fuzz import GenerationMode, run_fuzz, summary

ROLES = ("county_official", "cadre_user")
WITHOUT_CSRF = ("county_official",)
# per operation and role: a fixed sample of the coverage phase's cases, and fuzzing cases
COVERAGE_LIMIT = 10
EXAMPLES = {GenerationMode.POSITIVE: 1, GenerationMode.NEGATIVE: 1}


@pytest.mark.django_db
def test_every_operation_keeps_its_contract(capsys):
    figures = run_fuzz(
        roles=ROLES, examples=EXAMPLES, coverage_limit=COVERAGE_LIMIT, without_csrf=WITHOUT_CSRF
    )
    with capsys.disabled():
        print("\n" + summary(figures, ROLES, WITHOUT_CSRF))
    assert not figures.failures, "\n\n".join(figures.failures)
    assert set(figures.cases) == {op.label for op in figures.operations}
    # writes that succeeded were followed up (the deleted object is gone, the new one there)
    assert figures.follow_ups > 0
    # the requests without a CSRF token were refused, in JSON (errors_in_chinese)
    assert figures.statuses["POST", 403] > 0
