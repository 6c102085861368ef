"""The export registry. Each kind turns (user, params) into a sheet; the apps register
theirs with `register(...)` (from their AppConfig.ready(), or a module it imports), and
read through their scoping selectors, so an export never holds a row the user could not
open on a page. core runs them as background jobs (core.jobs)."""

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

from django.core.exceptions import ImproperlyConfigured
from django.db.models import QuerySet


@dataclass(frozen=True)
class ExportKind:
    key: str
    label: str
    headers: Sequence[str]
    widths: Sequence[int]
    queryset: Callable[..., QuerySet]
    row: Callable[[object], Sequence]

    def rows(self, qs: QuerySet) -> Iterable[Sequence]:
        for obj in qs.iterator(chunk_size=2000):
            yield self.row(obj)


EXPORT_KINDS: dict[str, ExportKind] = {}


def register(kind: ExportKind, *, replace: bool = False) -> None:
    """Add `kind` to the registry; a key is registered once, unless an app that extends
    another's export says `replace=True` (the key must then be registered already)."""
    if replace and kind.key not in EXPORT_KINDS:
        raise ImproperlyConfigured(f"导出类型 {kind.key} 尚未注册，无法替换。")
    if not replace and kind.key in EXPORT_KINDS:
        raise ImproperlyConfigured(f"导出类型 {kind.key} 已注册；替换须写明 replace=True。")
    EXPORT_KINDS[kind.key] = kind
