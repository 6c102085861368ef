"""What stars shows on the officials' home page (core.panels; registered in apps.py): its
card (五星支部), which reads its own figures (templates/stars/home_card.html)."""

from core.panels import register_home_panel
from villages.panels import for_officials


def register() -> None:
    register_home_panel(
        "stars.home_card", order=30, template="stars/home_card.html", applies=for_officials
    )
