"""What disputes shows on the officials' home page (core.panels; registered in apps.py): its
card (三零创建), which reads its own figures (templates/disputes/home_card.html)."""

from core.panels import register_home_panel
from villages.panels import for_officials


def register() -> None:
    register_home_panel(
        "disputes.home_card", order=40, template="disputes/home_card.html", applies=for_officials
    )
