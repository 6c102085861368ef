"""The home page's panels, in the manner of Wagtail's home-page panels: each app registers
what it shows on the home page (in its apps.py `ready()`), and the home page (core.views)
shows the panels that apply to the signed-in user, in order, knowing none of the apps.

A panel is a template and a function giving its context for a request. `applies(user)`
decides whom it is for; the context function may answer None: nothing to show this time
(its scripts are then not loaded either). The template is rendered inside the home page's
context (the user, `scope`, the CSP nonce: what the context processors give) with the
panel's own context on top (`{% render_panel %}`, core_panels)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class HomePanel:
    name: str
    order: int
    template: str
    applies: Callable[[object], bool]
    context: Callable[[object], dict | None]
    scripts: tuple[str, ...] = ()


@dataclass(frozen=True)
class ShownPanel:
    """A panel as the home page shows it to one request: its template and context."""

    name: str
    template: str
    context: dict
    scripts: tuple[str, ...] = ()


_PANELS: dict[str, HomePanel] = {}


def _everyone(user) -> bool:
    return True


def _no_context(request) -> dict:
    return {}


def register_home_panel(
    name: str,
    *,
    order: int,
    template: str,
    applies: Callable[[object], bool] = _everyone,
    context: Callable[[object], dict | None] = _no_context,
    scripts: tuple[str, ...] = (),
) -> HomePanel:
    """Show `template` on the home page at `order` (smaller first) to the users `applies`
    accepts, with `context(request)`, loading the static `scripts` after the page. A second
    registration under the same name replaces the first."""
    panel = HomePanel(name, order, template, applies, context, tuple(scripts))
    _PANELS[name] = panel
    return panel


def home_panels() -> list[HomePanel]:
    """Every registered panel, in order."""
    return sorted(_PANELS.values(), key=lambda panel: (panel.order, panel.name))


def home_panels_for(request) -> list[ShownPanel]:
    """The panels `request`'s user sees, in order, each with its context for the request."""
    shown = []
    for panel in home_panels():
        if not panel.applies(request.user):
            continue
        context = panel.context(request)
        if context is None:
            continue
        shown.append(ShownPanel(panel.name, panel.template, context, panel.scripts))
    return shown


def panel_scripts(panels: list[ShownPanel]) -> list[str]:
    """The static scripts the shown panels need, each once, in the panels' order."""
    return list(dict.fromkeys(src for panel in panels for src in panel.scripts))
