"""What other apps do when a programme year opens or closes.

`villages` owns the programme year (roster, links, status) and imports no other app, so
the steps that belong elsewhere (targets and final snapshots in dashboards, the review
queue in visits, the 公示 in stars, the 三零 rule in disputes) are registered here by
those apps from their `AppConfig.ready()`. The lifecycle services in `villages.services`
call them in registration order.

A step's callables:
- `describe(year)`: lines for the preview of opening `year` (what will carry over);
- `on_open(actor=, year=)`: do it, inside the opening transaction; returns lines done;
- `blockers(year)`: what prevents closing `year` (each a Chinese sentence);
- `on_close(actor=, year=)`: inside the closing transaction, before the year is marked
  closed (the final snapshots); returns lines done.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class YearStep:
    key: str
    label: str
    describe: Callable[[int], list[str]] | None = None
    on_open: Callable[..., list[str]] | None = None
    blockers: Callable[[int], list[str]] | None = None
    on_close: Callable[..., list[str]] | None = None


STEPS: dict[str, YearStep] = {}


def register(step: YearStep) -> None:
    STEPS[step.key] = step


def steps() -> list[YearStep]:
    return list(STEPS.values())
