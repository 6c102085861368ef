"""What visits shows on the home page (core.panels; registered in apps.py): the cadre's
workday progress, year totals and visits waiting or returned, and the officials' links to
review, compliance and the problem ledger."""

from core.panels import register_home_panel
from villages.panels import for_officials
from villages.selectors import scope_for_user
from visits.views import cadre_home_context


def for_cadres_with_record(user) -> bool:
    scope = scope_for_user(user)
    return scope.is_cadre and bool(scope.cadre_id)


def cadre_progress_context(request) -> dict | None:
    user = request.user
    ctx = cadre_home_context(user=user, cadre_id=scope_for_user(user).cadre_id)
    return ctx if ctx["progress"] else None


def register() -> None:
    register_home_panel(
        "visits.cadre_progress",
        order=10,
        template="visits/home/cadre_progress.html",
        applies=for_cadres_with_record,
        context=cadre_progress_context,
        scripts=("js/visit-queue.js",),
    )
    register_home_panel(
        "visits.official_links",
        order=20,
        template="visits/home/official_links.html",
        applies=for_officials,
    )
