"""The export registry. Each kind turns (user, params) into a sheet; the apps register
theirs with `register(...)` (from their AppConfig.ready(), or a module it imports), and
read through their scoping selectors, so an export never holds a row the user could not
open on a page. core runs them as background jobs (core.jobs)."""

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

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


def register(kind: ExportKind) -> None:
    EXPORT_KINDS[kind.key] = kind
