"""What dashboards shows on the officials' home page (core.panels; registered in apps.py):
the card that opens the 目标看板 (templates/dashboards/home_card.html)."""

from core.panels import register_home_panel
from villages.panels import for_officials


def register() -> None:
    register_home_panel(
        "dashboards.home_card",
        order=50,
        template="dashboards/home_card.html",
        applies=for_officials,
    )
