"""The 星级评定结果 sheet (kind `star_ratings`) on the villages import pipeline.

Columns: 年度 | 统计用区划代码 | 村(社区) | one column per star (是/否, √/×, 1/0; blank is
否). A star column left out of the file leaves that star alone. 是 makes the branch's
award of that star 已授星 (created or updated); 否 withdraws a star it held, as an
import correction. The preview shows each branch's level change.
"""

from __future__ import annotations

import time
import unicodedata

from django.db import transaction
from django.utils import timezone

from core.importing import normalise as n
from core.importing.bulk import create_with_history, update_with_history
from core.importing.engine import CHANGED, NEW, UNCHANGED, Column, Context, Item, SheetKind
from stars.models import (
    RatingYear,
    Scheme,
    StarAward,
    StarAwardEvent,
    StarSettings,
    StarType,
    scheme_of_kind,
)
from stars.schemes import SCHEMES
from villages.models import Roster, RosterEntry, Village

YES = {"是", "√", "✓", "✔", "1", "Y", "YES", "TRUE", "有", "★"}
NO = {"否", "×", "✗", "✘", "X", "0", "N", "NO", "FALSE", "无", "-", "—"}
COLUMN_CACHE_SECONDS = 60
IMPORT_REASON = "年度评定结果导入"


def yes_no(value, *, label: str) -> bool:
    if n.is_blank(value):
        return False
    if isinstance(value, bool):
        return value
    if isinstance(value, int | float):
        if value in (0, 1):
            return bool(value)
        raise n.CellError(f"{label}“{value}”只能填 是/否、√/×、1/0")
    raw = unicodedata.normalize("NFKC", n.text(value)).upper()
    if raw in YES:
        return True
    if raw in NO:
        return False
    raise n.CellError(f"{label}“{n.text(value)}”只能填 是/否、√/×、1/0（空白为否）")


def star_names() -> list[str]:
    """Every star name, in scheme order (rural first), each once."""
    try:
        names = list(
            StarType.objects.order_by("scheme", "order", "id").values_list("name", flat=True)
        )
    except Exception:  # no database yet (e.g. building docs): the names first loaded
        names = []
    if not names:
        names = [name for scheme in (Scheme.RURAL, Scheme.URBAN) for _, name, *_ in SCHEMES[scheme]]
    return list(dict.fromkeys(names))


class StarRatingSheet(SheetKind):
    key = "star_ratings"
    label = "星级评定结果"
    key_columns = ("year", "code")
    base_columns = (
        Column("year", "年度", aliases=("评定年度",), note="例如 2023。", width=8),
        Column(
            "code",
            "统计用区划代码",
            aliases=("区划代码", "村代码", "村(社区)代码"),
            note="12 位数字。",
            width=18,
            is_text=True,
        ),
        Column("name", "村(社区)", aliases=("村(社区)名称", "村名", "社区名称"), width=18),
    )
    _cached: tuple[float, tuple[Column, ...]] = (0.0, ())

    @property
    def columns(self) -> tuple[Column, ...]:
        stamp, cols = self._cached
        if cols and time.monotonic() - stamp < COLUMN_CACHE_SECONDS:
            return cols
        cols = self.base_columns + tuple(
            Column(
                f"star:{name}",
                name,
                required=False,
                options=("是", "否"),
                note="是/否、√/×、1/0，空白为否；只填本村(社区)所属方案的星。",
                width=12,
            )
            for name in star_names()
        )
        type(self)._cached = (time.monotonic(), cols)
        return cols

    def parse(self, cells, add_error) -> dict:
        row = {"name": n.text(cells.get("name")), "stars": {}}
        try:
            row["year"] = n.optional_int(cells.get("year"), label="年度")
        except n.CellError as exc:
            add_error("year", str(exc))
            row["year"] = None
        else:
            if row["year"] is None:
                add_error("year", "年度不能为空")
            elif not 2000 <= row["year"] <= 2100:
                add_error("year", f"年度“{row['year']}”不正确")
        try:
            row["code"] = n.digits(cells.get("code"), lengths=(12,), label="统计用区划代码")
        except n.CellError as exc:
            add_error("code", str(exc))
            row["code"] = None
        for key, value in cells.items():
            if not key.startswith("star:"):
                continue
            name = key[5:]
            try:
                row["stars"][name] = yes_no(value, label=name)
            except n.CellError as exc:
                add_error(key, str(exc))
        return row

    def load(self, rows, ctx: Context) -> None:
        codes = {r["code"] for r in rows if r.get("code")}
        years = {r["year"] for r in rows if r.get("year")}
        villages = Village.objects.filter(code__in=codes).select_related("township__county")
        ctx.cache["villages"] = {v.code: v for v in villages}
        ctx.cache["rosters"] = set(
            Roster.objects.filter(year__in=years).values_list("year", flat=True)
        )
        entries = RosterEntry.objects.filter(roster__year__in=years, village__code__in=codes)
        by_key = {}
        for e in entries.values_list("roster__year", "village_id", "branch_id", "branch__name"):
            by_key[(e[0], e[1])] = (e[2], e[3])
        ctx.cache["entries"] = by_key
        branch_ids = {b for b, _ in by_key.values()}
        awards: dict[tuple[int, int], dict[int, StarAward]] = {}
        for award in StarAward.objects.filter(branch_id__in=branch_ids, year__in=years):
            awards.setdefault((award.branch_id, award.year), {})[award.star_type_id] = award
        ctx.cache["awards"] = awards
        stars: dict[str, dict[str, StarType]] = {Scheme.RURAL: {}, Scheme.URBAN: {}}
        for star in StarType.objects.all():
            stars.setdefault(star.scheme, {})[star.name] = star
        ctx.cache["stars"] = stars
        ctx.cache["locked"] = set(
            RatingYear.objects.filter(year__in=years, locked=True).values_list("year", flat=True)
        )
        ctx.cache["foundation_required"] = StarSettings.current().foundation_required
        ctx.cache["branch_rows"] = {}

    def check(self, item: Item, ctx: Context, add_error) -> None:
        row = item.data
        year, code = row["year"], row["code"]
        village = ctx.cache["villages"].get(code)
        if village is None:
            add_error("code", f"统计用区划代码 {code} 不存在")
            return
        county = village.township.county
        if ctx.county is not None and county.pk != ctx.county.pk:
            add_error("code", f"区划代码 {code} 不在您的辖区（{ctx.county.name}）内")
            return
        if row["name"] and row["name"] not in (village.name, village.official_name):
            add_error("name", f"“{row['name']}”与代码 {code} 对应的“{village.name}”不符")
            return
        if year not in ctx.cache["rosters"]:
            add_error("year", f"{year}年度没有村(社区)名册，不能导入评定结果")
            return
        if year in ctx.cache["locked"]:
            add_error("year", f"{year}年度评定已锁定，请市级管理员先解锁")
            return
        entry = ctx.cache["entries"].get((year, village.pk))
        if entry is None:
            add_error("code", f"{village.name}不在{year}年度名册中")
            return
        branch_id, branch_name = entry
        scheme = scheme_of_kind(village.kind)
        own = ctx.cache["stars"].get(scheme, {})
        kind_label = village.get_kind_display()
        ok = True
        for name, value in row["stars"].items():
            if name not in own and value:
                other = "城市社区" if scheme == Scheme.RURAL else "农村"
                add_error(
                    f"star:{name}",
                    f"“{name}”是{other}的星，不能授予{kind_label}“{village.name}”",
                )
                ok = False
        if not ok:
            return
        wanted = {own[name].pk: value for name, value in row["stars"].items() if name in own}
        current = ctx.cache["awards"].get((branch_id, year), {})
        held = {sid for sid, a in current.items() if a.state == StarAward.State.AWARDED}
        after = (held | {sid for sid, v in wanted.items() if v}) - {
            sid for sid, v in wanted.items() if not v
        }
        foundation = next((s for s in own.values() if s.is_foundation), None)
        if (
            foundation is not None
            and ctx.cache["foundation_required"]
            and foundation.pk not in after
        ):
            # judged on the stars held after the row, so a 否 for 支部过硬星 cannot leave
            # other stars (held before, columns left out) standing without it
            others = [s for s in own.values() if not s.is_foundation and s.pk in after]
            if others:
                add_error(
                    f"star:{foundation.name}",
                    f"未获{foundation.name}（基础星），不能获得或保留"
                    + "、".join(s.name for s in others),
                )
                return
        seen = ctx.cache["branch_rows"].get((branch_id, year))
        if seen is not None:
            first_row, first_wanted = seen
            if first_wanted != wanted:
                add_error(
                    "code",
                    f"{village.name}与第{first_row}行同属{branch_name}，两行的星级不一致",
                )
                return
        else:
            ctx.cache["branch_rows"][(branch_id, year)] = (item.row, wanted)
        names = {s.pk: s.name for s in own.values()}
        changes = {}
        for sid, value in wanted.items():
            before = sid in held
            if value != before:
                changes[names[sid]] = ["是" if before else "否", "是" if value else "否"]
        if changes:
            changes = {"星级": [f"{len(held)}星", f"{len(after)}星"], **changes}
        item.target = (branch_id, year, wanted)
        item.status = NEW if not current else (CHANGED if changes else UNCHANGED)
        if item.status == NEW and not changes:
            item.status = UNCHANGED
        item.changes = changes
        item.label = (
            f"{county.name} {village.township.name} {village.name}（{code}）{year}年度 "
            f"{len(held)}星 → {len(after)}星"
        )

    def commit(self, items: list[Item], ctx: Context) -> dict:
        actor = ctx.actor
        now, today = timezone.now(), timezone.localdate()
        to_create, to_update, events = [], [], []
        done: set[tuple[int, int]] = set()
        for item in items:
            if item.target is None:
                continue
            branch_id, year, wanted = item.target
            if (branch_id, year) in done:
                continue
            done.add((branch_id, year))
            current = ctx.cache["awards"].get((branch_id, year), {})
            for sid, value in wanted.items():
                award = current.get(sid)
                held = award is not None and award.state == StarAward.State.AWARDED
                if value and not held:
                    if award is None:
                        award = StarAward(branch_id=branch_id, year=year, star_type_id=sid)
                        to_create.append(award)
                    else:
                        to_update.append(award)
                    award.state, award.awarded_on = StarAward.State.AWARDED, today
                    award.withdrawn_reason, award.withdrawn_on = "", None
                    events.append((award, f"{IMPORT_REASON}（第{item.row}行）：授星"))
                elif held and not value:
                    award.state = StarAward.State.WITHDRAWN
                    award.withdrawn_reason = f"{IMPORT_REASON}更正"
                    award.withdrawn_on = today
                    to_update.append(award)
                    events.append((award, f"{IMPORT_REASON}（第{item.row}行）：摘星"))
        with transaction.atomic(savepoint=False):
            for award in to_create:
                award.created_at = award.updated_at = now
            create_with_history(StarAward, to_create, actor=actor, reason=IMPORT_REASON)
            for award in to_update:
                award.updated_at = now
            update_with_history(
                StarAward,
                to_update,
                ["state", "awarded_on", "withdrawn_reason", "withdrawn_on", "updated_at"],
                actor=actor,
                reason=IMPORT_REASON,
            )
            if to_create:
                ids = {
                    (a.branch_id, a.year, a.star_type_id): a.pk
                    for a in StarAward.objects.filter(
                        branch_id__in={a.branch_id for a in to_create},
                        year__in={a.year for a in to_create},
                    )
                }
                for award in to_create:
                    award.pk = ids[(award.branch_id, award.year, award.star_type_id)]
            create_with_history(
                StarAwardEvent,
                [
                    StarAwardEvent(
                        award_id=award.pk,
                        step=StarAwardEvent.Step.IMPORT,
                        actor=actor,
                        comment=comment[:500],
                        at=now,
                    )
                    for award, comment in events
                ],
                actor=actor,
                reason=IMPORT_REASON,
            )
        return {"awards_created": len(to_create), "awards_updated": len(to_update)}
