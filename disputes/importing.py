"""The 三零企事业单位 roster sheet (import kind `units`), run by the villages import
pipeline (reader, normalise, engine, preview, annotated error workbook). Registered from
DisputesConfig.ready(). A unit is matched on its township and name."""

from __future__ import annotations

from core.importing import normalise as n
from core.importing.bulk import create_with_history, update_with_history
from core.importing.engine import CHANGED, NEW, UNCHANGED, Column, Context, Item, SheetKind
from core.importing.engine import register as register_sheet
from disputes.models import ThreeZeroUnit
from villages.models import Township, Village

TYPE_OPTIONS = {str(label): value for value, label in ThreeZeroUnit.Type.choices}
TYPE_OPTIONS |= {"生产营业网点": ThreeZeroUnit.Type.OUTLET, "营业网点": ThreeZeroUnit.Type.OUTLET}


def _cell(add_error, key, parse, *args, **kwargs):
    try:
        return parse(*args, **kwargs)
    except n.CellError as exc:
        add_error(key, str(exc))
        return None


def _year(add_error, key, value, label, *, required):
    if n.is_blank(value):
        if required:
            add_error(key, f"{label}不能为空")
        return None
    year = _cell(add_error, key, n.optional_int, value, label=label)
    if year is not None and not 2000 <= year <= 2100:
        add_error(key, f"{label}应为 2000 到 2100 之间的年份")
        return None
    return year


class UnitSheet(SheetKind):
    key = "units"
    label = "三零企事业单位名册"
    key_columns = ("area_code", "name")
    columns = (
        Column("name", "单位名称", aliases=("名称", "企事业单位名称"), width=30),
        Column(
            "unit_type",
            "单位类型",
            aliases=("类型",),
            options=tuple(str(label) for _, label in ThreeZeroUnit.Type.choices),
            width=14,
        ),
        Column(
            "area_code",
            "所在区划代码",
            aliases=("区划代码", "所在村(社区)代码", "统计用区划代码"),
            note="所在村(社区)的 12 位统计用区划代码；不属于某村的，填乡镇(街道)的 9 位代码。",
            width=18,
            is_text=True,
        ),
        Column("credit_code", "统一社会信用代码", required=False, width=22, is_text=True),
        Column("contact_name", "负责人", required=False, width=10),
        Column("contact_phone", "联系电话", required=False, width=14, is_text=True),
        Column("year_from", "纳入年度", note="开始参加三零创建的年度，如 2022。", width=10),
        Column(
            "year_to", "退出年度", required=False, note="不再参加的，填最后一个年度。", width=10
        ),
    )
    labels = {
        "unit_type": "单位类型",
        "village_id": "所在村(社区)",
        "credit_code": "统一社会信用代码",
        "contact_name": "负责人",
        "contact_phone": "联系电话",
        "year_from": "纳入年度",
        "year_to": "退出年度",
    }
    display_labels = {"unit_type": dict(ThreeZeroUnit.Type.choices)}

    def parse(self, cells, add_error) -> dict:
        row = {
            "name": n.text(cells.get("name")),
            "unit_type": _cell(
                add_error,
                "unit_type",
                n.choice,
                cells.get("unit_type"),
                options=TYPE_OPTIONS,
                label="单位类型",
            ),
            "area_code": _cell(
                add_error,
                "area_code",
                n.digits,
                cells.get("area_code"),
                lengths=(9, 12),
                label="所在区划代码",
            ),
            "credit_code": n.text(cells.get("credit_code")).upper(),
            "contact_name": n.text(cells.get("contact_name"))[:30],
            "contact_phone": n.text(cells.get("contact_phone")),
            "year_from": _year(
                add_error, "year_from", cells.get("year_from"), "纳入年度", required=True
            ),
            "year_to": _year(
                add_error, "year_to", cells.get("year_to"), "退出年度", required=False
            ),
        }
        if not row["name"]:
            add_error("name", "单位名称不能为空")
        elif len(row["name"]) > 100:
            add_error("name", "单位名称不能超过 100 个字")
        if row["credit_code"] and len(row["credit_code"]) != 18:
            add_error("credit_code", "统一社会信用代码应为 18 位")
        if len(row["contact_phone"]) > 20:
            add_error("contact_phone", "联系电话不能超过 20 个字符")
        if row["year_from"] and row["year_to"] and row["year_to"] < row["year_from"]:
            add_error("year_to", "退出年度不能早于纳入年度")
        return row

    def load(self, rows, ctx: Context) -> None:
        codes = {r["area_code"] for r in rows if r.get("area_code")}
        township_codes = {c[:9] for c in codes}
        townships = {
            t.code: t
            for t in Township.objects.filter(code__in=township_codes).select_related("county")
        }
        villages = {
            v.code: v for v in Village.objects.filter(code__in={c for c in codes if len(c) == 12})
        }
        ctx.cache["townships"] = townships
        ctx.cache["villages"] = villages
        ctx.cache["units"] = {
            (u.township_id, u.name): u
            for u in ThreeZeroUnit.objects.filter(township__code__in=township_codes)
        }

    def check(self, item: Item, ctx: Context, add_error) -> None:
        data = item.data
        code = data["area_code"]
        township = ctx.cache["townships"].get(code[:9])
        village = ctx.cache["villages"].get(code) if len(code) == 12 else None
        if township is None or (len(code) == 12 and village is None):
            add_error("area_code", f"区划代码 {code} 不存在，请先导入村(社区)花名册")
            return
        if ctx.county is not None and township.county_id != ctx.county.pk:
            add_error("area_code", f"{township.name}不在您管辖的{ctx.county.name}")
            return
        # One name per township (the units' unique key): rows that name the same unit by
        # its village's code and by its township's code are the same unit twice.
        seen = ctx.cache.setdefault("seen", {})
        first = seen.setdefault((township.pk, data["name"]), item.row)
        if first != item.row:
            add_error("name", f"单位名称“{data['name']}”在{township.name}与第{first}行重复")
            return
        data["township_id"] = township.pk
        data["village_id"] = village.pk if village else None
        item.label = f"{township.county.name} {township.name} {data['name']}"
        existing = ctx.cache["units"].get((township.pk, data["name"]))
        wanted = {k: data[k] for k in self.labels}
        if existing is None:
            item.status = NEW
            return
        item.target = existing
        changes = {}
        for field, new in wanted.items():
            old = getattr(existing, field)
            if old != new:
                changes[self.labels[field]] = [self.display(field, old), self.display(field, new)]
        item.changes = changes
        item.status = CHANGED if changes else UNCHANGED

    def commit(self, items: list[Item], ctx: Context) -> dict:
        to_create, to_update = [], []
        for item in items:
            data = {k: item.data[k] for k in self.labels}
            if item.status == NEW:
                to_create.append(
                    ThreeZeroUnit(
                        name=item.data["name"], township_id=item.data["township_id"], **data
                    )
                )
            elif item.status == CHANGED:
                unit = item.target
                for field, value in data.items():
                    setattr(unit, field, value)
                to_update.append(unit)
        create_with_history(ThreeZeroUnit, to_create, actor=ctx.actor, reason="导入三零单位名册")
        update_with_history(
            ThreeZeroUnit, to_update, list(self.labels), actor=ctx.actor, reason="导入三零单位名册"
        )
        return {"created": len(to_create), "updated": len(to_update)}


register_sheet(UnitSheet())
