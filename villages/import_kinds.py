"""The two roster sheets: 村(社区)花名册 and 帮扶干部及联系点."""

from __future__ import annotations

import unicodedata
from collections import defaultdict
from decimal import Decimal, InvalidOperation

from core.importing import normalise as n
from core.importing.bulk import create_with_history, update_with_history
from core.importing.engine import (
    CHANGED,
    MOVED,
    NEW,
    UNCHANGED,
    Column,
    Context,
    Item,
    SheetKind,
    register,
)
from villages.auth import forget_logins
from villages.geo import gcj02_to_wgs84
from villages.models import (
    HOUSEHOLDS,
    POPULATION,
    Assignment,
    Cadre,
    County,
    LocationSource,
    Township,
    Village,
    WorkUnit,
)
from villages.outlines import county_outline
from villages.selectors import cadre_list_for_user

WGS84, GCJ02 = "wgs84", "gcj02"
# What people write in the 坐标系 column (upper-cased, spaces dropped). Blank is WGS-84.
DATUMS = {
    "": WGS84,
    "WGS-84": WGS84,
    "WGS84": WGS84,
    "WGS": WGS84,
    "GPS": WGS84,
    "CGCS2000": WGS84,  # 天地图: within a metre of WGS-84
    "GCJ-02": GCJ02,
    "GCJ02": GCJ02,
    "GCJ": GCJ02,
    "火星坐标": GCJ02,
    "火星坐标系": GCJ02,
    "国测局坐标": GCJ02,
    "高德": GCJ02,
    "高德地图": GCJ02,
    "腾讯": GCJ02,
    "腾讯地图": GCJ02,
}
OUTLINE_TOLERANCE_KM = 20


def _cell(add_error, key: str, parse, *args, **kwargs):
    try:
        return parse(*args, **kwargs)
    except n.CellError as exc:
        add_error(key, str(exc))
        return None


def _degrees(value, *, label: str, limit: int) -> Decimal:
    """A coordinate cell as decimal degrees (six places), within ±limit."""
    if isinstance(value, bool):
        raise n.CellError(f"{label}必须是数字")
    if isinstance(value, int | float):
        raw = repr(value)
    else:
        raw = unicodedata.normalize("NFKC", n.text(value)).replace(" ", "").rstrip("°")
    if len(raw) > 30:
        raise n.CellError(f"{label}必须是数字（十进制度数）")
    try:
        number = Decimal(raw)
    except InvalidOperation:
        raise n.CellError(
            f"{label}“{n.text(value)[:30]}”必须是数字（十进制度数，如 113.852311）"
        ) from None
    if not number.is_finite() or not -limit <= number <= limit:
        raise n.CellError(f"{label}“{n.text(value)[:30]}”超出范围（-{limit} 到 {limit}）")
    return number


def _coordinates(cells, add_error) -> dict:
    """{"latitude", "longitude"} in WGS-84 (Decimals), {} when both cells are blank or a
    cell is wrong (reported with add_error)."""
    has_lon, has_lat = (not n.is_blank(cells.get(k)) for k in ("longitude", "latitude"))
    if not (has_lon or has_lat):
        return {}
    datum = DATUMS.get(
        unicodedata.normalize("NFKC", n.text(cells.get("datum"))).upper().replace(" ", "")
    )
    if datum is None:
        add_error(
            "datum",
            f"坐标系“{n.text(cells.get('datum'))[:20]}”无法识别：请填 WGS-84 或 GCJ-02"
            "（百度坐标须先转换）",
        )
    if not has_lat:
        add_error("latitude", "填了经度就须同时填纬度")
        return {}
    if not has_lon:
        add_error("longitude", "填了纬度就须同时填经度")
        return {}
    lon = _cell(add_error, "longitude", _degrees, cells["longitude"], label="经度", limit=180)
    lat = _cell(add_error, "latitude", _degrees, cells["latitude"], label="纬度", limit=90)
    if lat is None or lon is None or datum is None:
        return {}
    if datum == GCJ02:
        lat, lon = (Decimal(f"{v:.6f}") for v in gcj02_to_wgs84(float(lat), float(lon)))
    q = Decimal("0.000001")
    return {"latitude": lat.quantize(q), "longitude": lon.quantize(q)}


def _county_kind(name: str) -> str:
    if name.endswith("县"):
        return County.Kind.COUNTY
    if name.endswith("市"):
        return County.Kind.CITY
    if name.endswith("区") and "开发区" not in name and "功能区" not in name:
        return County.Kind.DISTRICT
    return County.Kind.ZONE


def _township_kind(name: str) -> str:
    for suffix, kind in (
        ("街道", Township.Kind.SUBDISTRICT),
        ("镇", Township.Kind.TOWN),
        ("乡", Township.Kind.TOWNSHIP),
    ):
        if name.endswith(suffix):
            return kind
    return Township.Kind.ZONE


def _changes(sheet: SheetKind, obj, wanted: dict) -> dict:
    """{column label: [old, new]} for the fields that differ, shown as a person writes them."""
    changes = {}
    for field, new in wanted.items():
        old = getattr(obj, field)
        if old != new:
            changes[sheet.labels[field]] = [sheet.display(field, old), sheet.display(field, new)]
    return changes


def _show(value):
    if value is None:
        return ""
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return value if isinstance(value, int | str) else str(value)


class VillageSheet(SheetKind):
    key = "villages"
    label = "村(社区)花名册"
    key_columns = ("code",)
    kind_options = {str(label): value for value, label in Village.Kind.choices}
    columns = (
        Column("county_name", "县(市、区)", aliases=("县市区", "县(市,区)", "县区"), width=16),
        Column("township_name", "乡镇(街道)", aliases=("乡镇", "乡镇街道", "街道(乡镇)"), width=16),
        Column(
            "name",
            "村(社区)名称",
            aliases=("村(社区)", "村名", "村名称", "社区名称"),
            note="可填统计用名称（如“裴庄村委会”“金地社区居委会”）：显示为“裴庄村”“金地社区”，"
            "统计用名称另行保存。",
            width=20,
        ),
        Column(
            "code",
            "统计用区划代码",
            aliases=("区划代码", "村代码", "村(社区)代码"),
            note="12 位数字；前 6 位为县级代码，前 9 位为乡级代码。",
            width=18,
            is_text=True,
        ),
        Column(
            "kind",
            "类型",
            required=False,
            options=tuple(str(label) for _, label in Village.Kind.choices),
            note="留空时，已有的村(社区)保持原类型；新的村(社区)按名称判断：以“村”“村委会”结尾为"
            "行政村，以“社区”“居委会”结尾为农村社区。城市社区须填写。",
            width=12,
        ),
        Column("households", "户数", required=False, width=8),
        Column("population", "人口", required=False, width=8),
        Column("secretary_name", "党组织书记", required=False, width=12),
        Column("secretary_phone", "联系电话", required=False, width=14, is_text=True),
        Column(
            "old_code",
            "原区划代码",
            required=False,
            note="村(社区)改隶其他乡镇、区划代码随之改变时，填原来的 12 位代码；否则留空。",
            width=18,
            is_text=True,
        ),
        Column(
            "longitude",
            "经度",
            required=False,
            aliases=("东经",),
            note="可选：村委会(社区居委会)所在地的经度，十进制度数，如 113.852311；"
            "与“纬度”成对填写。坐标系见“坐标系”列。",
            width=12,
        ),
        Column(
            "latitude",
            "纬度",
            required=False,
            aliases=("北纬",),
            note="可选：十进制度数，如 34.035812；与“经度”成对填写。",
            width=12,
        ),
        Column(
            "datum",
            "坐标系",
            required=False,
            options=("WGS-84", "GCJ-02"),
            note="经纬度所用的坐标系。WGS-84：手机 GPS、奥维、天地图等（留空即为 WGS-84）；"
            "GCJ-02：在高德、腾讯地图上取的点（“火星坐标”）。平台统一换算为 WGS-84 保存。"
            "不支持百度坐标(BD-09)。坐标须在所属县(市、区)范围内（边界外 20 公里以内）。",
            width=10,
        ),
    )
    display_labels = {"kind": dict(Village.Kind.choices)}
    labels = {
        "name": "名称",
        "official_name": "统计名称",
        "kind": "类型",
        "households": "户数",
        "population": "人口",
        "secretary_name": "党组织书记",
        "secretary_phone": "联系电话",
        "code": "统计用区划代码",
        "township": "乡镇(街道)",
        "latitude": "纬度",
        "longitude": "经度",
    }

    def parse(self, cells, add_error) -> dict:
        raw_name = n.text(cells.get("name"))
        names = n.village_name(raw_name)
        row = {
            "county_name": n.text(cells.get("county_name")),
            "township_name": n.text(cells.get("township_name")),
            "name": names.name,
            "code": _cell(
                add_error,
                "code",
                n.digits,
                cells.get("code"),
                lengths=(12,),
                label="统计用区划代码",
            ),
        }
        if names.official_name:
            row["official_name"] = names.official_name
        if not n.is_blank(cells.get("kind")):
            row["kind"] = _cell(
                add_error,
                "kind",
                n.choice,
                cells.get("kind"),
                options=self.kind_options,
                label="类型",
            )
        if not raw_name:
            add_error("name", "村(社区)名称不能为空")
        elif len(raw_name) > 60:
            add_error("name", "村(社区)名称不能超过 60 个字")
        for key, bounds in (("households", HOUSEHOLDS), ("population", POPULATION)):
            if key in cells:
                row[key] = _cell(add_error, key, n.optional_int, cells[key], label=bounds.label)
                if refusal := bounds.refusal(row[key]):
                    add_error(key, refusal)
                    row[key] = None
        if not n.is_blank(cells.get("old_code")):
            row["old_code"] = _cell(
                add_error,
                "old_code",
                n.digits,
                cells["old_code"],
                lengths=(12,),
                label="原区划代码",
            )
        if "secretary_name" in cells:
            row["secretary_name"] = n.text(cells["secretary_name"])[:30]
        if "secretary_phone" in cells:
            phone = n.text(cells["secretary_phone"])
            if isinstance(cells["secretary_phone"], int | float) and phone:
                phone = (
                    _cell(
                        add_error,
                        "secretary_phone",
                        n.digits,
                        cells["secretary_phone"],
                        lengths=tuple(range(5, 21)),
                        label="联系电话",
                    )
                    or ""
                )
            if len(phone) > 20:
                add_error("secretary_phone", "联系电话不能超过 20 个字符")
            row["secretary_phone"] = phone
        row.update(_coordinates(cells, add_error))
        return row

    def load(self, rows, ctx: Context) -> None:
        county_codes = {r["code"][:6] for r in rows} | {
            r["old_code"][:6] for r in rows if r.get("old_code")
        }
        township_codes = {r["code"][:9] for r in rows}
        ctx.cache["counties"] = {c.code: c for c in County.objects.filter(code__in=county_codes)}
        ctx.cache["townships"] = {
            t.code: t
            for t in Township.objects.filter(code__in=township_codes).select_related("county")
        }
        villages = list(
            Village.objects.filter(township__county__code__in=county_codes).select_related(
                "township"
            )
        )
        ctx.cache["villages"] = {v.code: v for v in villages}
        by_name = defaultdict(list)
        for v in villages:
            by_name[(v.code[:6], v.name)].append(v)
        ctx.cache["by_name"] = by_name
        # Every code in the file, rows with errors included: a village whose old code is
        # still listed somewhere in the file is not "moved" by another row.
        ctx.cache["file_codes"] = {r["code"] for r in ctx.all_rows if r.get("code")}
        ctx.cache["file_townships"] = {c[:9] for c in ctx.cache["file_codes"]}
        ctx.cache["moved"] = {}
        ctx.cache["new_counties"] = {}
        ctx.cache["new_townships"] = {}

    def _check_area(self, item, ctx, add_error) -> bool:
        row = item.data
        county_code, township_code = row["code"][:6], row["code"][:9]
        if ctx.county is not None and county_code != ctx.county.code:
            add_error("code", f"区划代码 {row['code']} 不在您的辖区（{ctx.county.name}）内")
            return False
        ok = True
        for key, code, existing, planned, what in (
            ("county_name", county_code, ctx.cache["counties"], ctx.cache["new_counties"], "县级"),
            (
                "township_name",
                township_code,
                ctx.cache["townships"],
                ctx.cache["new_townships"],
                "乡级",
            ),
        ):
            given = row[key]
            if code in existing:
                if given and given != existing[code].name:
                    add_error(
                        key, f"“{given}”与{what}代码 {code} 对应的“{existing[code].name}”不符"
                    )
                    ok = False
            elif not given:
                add_error(key, f"{what}代码 {code} 尚不存在，须填写名称才能新建")
                ok = False
            elif code in planned and planned[code][0] != given:
                add_error(
                    key,
                    f"“{given}”与第{planned[code][1]}行为{what}代码 {code} 填写的“{planned[code][0]}”不一致",
                )
                ok = False
            else:
                planned.setdefault(code, (given, item.row))
        return ok

    def check(self, item: Item, ctx: Context, add_error) -> None:
        row = item.data
        if not self._check_area(item, ctx, add_error):
            return
        item.label = f"{row['county_name'] or row['code'][:6]} {row['township_name']} {row['name']}（{row['code']}）"
        if "latitude" in row and not self._check_outline(row, ctx, add_error):
            return
        wanted = {
            k: row[k]
            for k in (
                "name",
                "official_name",
                "kind",
                "households",
                "population",
                "secretary_name",
                "secretary_phone",
                "latitude",
                "longitude",
            )
            if k in row
        }
        existing = ctx.cache["villages"].get(row["code"])
        old_code = row.get("old_code")
        if existing is not None and old_code and old_code != row["code"]:
            if old_code in ctx.cache["villages"]:
                # Both codes exist: this is no move (a re-upload after a move leaves the
                # old code gone), so the row is probably mixed up.
                add_error(
                    "old_code",
                    f"本行的统计用区划代码已存在，原区划代码 {old_code} 又指向另一个村(社区)，请核对",
                )
                return
        if existing is not None:
            item.target = existing
            item.changes = _changes(self, existing, wanted)
            item.status = CHANGED if item.changes else UNCHANGED
            return
        old = self._moved_from(item, ctx, add_error)
        if old is False:
            return
        if old is not None:
            first = ctx.cache["moved"].setdefault(old.pk, item.row)
            if first != item.row:
                add_error(
                    "name",
                    f"{old.name}（{old.code}）已由第{first}行迁移，同一村(社区)不能迁移到两个代码",
                )
                return
            item.target, item.status = old, MOVED
            item.changes = {"统计用区划代码": [old.code, row["code"]]}
            if old.code[:9] != row["code"][:9]:
                item.changes["乡镇(街道)"] = [
                    old.township.name,
                    row["township_name"] or row["code"][:9],
                ]
            item.changes.update(_changes(self, old, wanted))
            return
        if "kind" not in row:
            is_village = n.village_name(row["name"]).is_village
            if is_village is None:
                add_error(
                    "kind",
                    f"类型不能为空：新的村(社区)“{row['name']}”从名称看不出是村还是社区",
                )
                return
            row["kind"] = Village.Kind.VILLAGE if is_village else Village.Kind.RURAL_COMMUNITY
        item.status = NEW

    def _check_outline(self, item_row: dict, ctx: Context, add_error) -> bool:
        """A coordinate more than OUTLINE_TOLERANCE_KM outside the village's county is
        refused (a swapped pair, the wrong datum, another county's village). Counties the
        vendored outlines do not cover are only range-checked (in parse)."""
        county = ctx.cache["counties"].get(item_row["code"][:6])
        name = county.name if county is not None else item_row["county_name"]
        outline = county_outline(name)
        if outline is None:
            return True
        lat, lon = float(item_row["latitude"]), float(item_row["longitude"])
        km = outline.km_outside(lat, lon)
        if km > OUTLINE_TOLERANCE_KM:
            add_error(
                "longitude",
                f"坐标（纬度 {item_row['latitude']}，经度 {item_row['longitude']}）在{name}边界外"
                f"约 {km:.0f} 公里（超过 {OUTLINE_TOLERANCE_KM} 公里）：请核对经纬度是否填反、"
                "坐标系是否填对",
            )
            return False
        return True

    def _moved_from(self, item: Item, ctx: Context, add_error):
        """The existing village a row with a new code moves, None, or False (an error).

        A move is either declared (原区划代码) or inferred, and an inference needs all of:
        the same name in the same county exactly once, its old code absent from the file,
        and the file listing the old township (so the file speaks for that township: a
        partial file of new villages never re-codes a namesake elsewhere)."""
        row = item.data
        old_code = row.get("old_code")
        if old_code:
            old = ctx.cache["villages"].get(old_code)
            if old is None or (ctx.county is not None and old_code[:6] != ctx.county.code):
                add_error("old_code", f"原区划代码 {old_code} 不存在或不在您的辖区内")
                return False
            if old_code in ctx.cache["file_codes"]:
                add_error("old_code", f"原区划代码 {old_code} 在本文件中另有一行，不能同时迁移")
                return False
            return old
        candidates = [
            v
            for v in ctx.cache["by_name"].get((row["code"][:6], row["name"]), [])
            if v.code[:9] != row["code"][:9]
            and v.code not in ctx.cache["file_codes"]
            and v.code[:9] in ctx.cache["file_townships"]
        ]
        return candidates[0] if len(candidates) == 1 else None

    def commit(self, items: list[Item], ctx: Context) -> dict:
        actor = ctx.actor
        # Create only the counties and townships that the rows being written need: a row
        # with an error (skipped under "valid rows only") must not leave an empty county.
        needed = {i.data["code"][:9] for i in items}
        counties = ctx.cache["counties"]
        new_counties = [
            County(code=code, name=name, kind=_county_kind(name))
            for code, (name, _) in ctx.cache["new_counties"].items()
            if any(t.startswith(code) for t in needed)
        ]
        reason = "Excel 导入：村(社区)花名册"
        create_with_history(County, new_counties, actor=actor, reason=reason)
        if new_counties:
            counties.update(
                {c.code: c for c in County.objects.filter(code__in=[c.code for c in new_counties])}
            )
        townships = ctx.cache["townships"]
        new_townships = [
            Township(code=code, name=name, kind=_township_kind(name), county=counties[code[:6]])
            for code, (name, _) in ctx.cache["new_townships"].items()
            if code in needed
        ]
        create_with_history(Township, new_townships, actor=actor, reason=reason)
        if new_townships:
            townships.update(
                {
                    t.code: t
                    for t in Township.objects.filter(code__in=[t.code for t in new_townships])
                }
            )

        fields = [
            "name",
            "official_name",
            "kind",
            "households",
            "population",
            "secretary_name",
            "secretary_phone",
            "latitude",
            "longitude",
        ]
        to_create, to_update, update_fields = [], [], set()
        for item in items:
            row = item.data
            values = {k: row[k] for k in fields if k in row}
            if "latitude" in values:
                values["location_source"] = LocationSource.ROSTER
            if item.status == NEW:
                to_create.append(
                    Village(code=row["code"], township=townships[row["code"][:9]], **values)
                )
            elif item.status in (CHANGED, MOVED):
                village = item.target
                if "latitude" in values and (village.latitude, village.longitude) == (
                    values["latitude"],
                    values["longitude"],
                ):
                    # the same point again (an export re-imported): it keeps its source
                    del values["location_source"]
                for k, v in values.items():
                    if getattr(village, k) != v:
                        setattr(village, k, v)
                        update_fields.add(k)
                if item.status == MOVED:
                    village.code, village.township = row["code"], townships[row["code"][:9]]
                    update_fields.update({"code", "township"})
                to_update.append(village)
        create_with_history(Village, to_create, actor=actor, reason=reason)
        update_with_history(Village, to_update, sorted(update_fields), actor=actor, reason=reason)
        return {"counties_created": len(new_counties), "townships_created": len(new_townships)}


class CadreSheet(SheetKind):
    key = "cadres"
    label = "帮扶干部及联系点"
    key_columns = ("phone", "area_code", "year")
    level_options = {str(label): value for value, label in Cadre.Level.choices}
    display_labels = {"level": dict(Cadre.Level.choices), "kind": dict(Assignment.Kind.choices)}
    kind_options = {str(label): value for value, label in Assignment.Kind.choices}
    columns = (
        Column("name", "姓名", width=10),
        Column(
            "phone",
            "手机号",
            aliases=("手机", "手机号码", "联系电话"),
            note="11 位手机号，用于识别干部。",
            width=14,
            is_text=True,
        ),
        Column(
            "unit",
            "派出单位",
            aliases=("单位", "工作单位"),
            note="不存在的单位会自动新建。",
            width=22,
        ),
        Column("position", "职务", required=False, width=14),
        Column(
            "level",
            "干部层级",
            options=tuple(str(label) for _, label in Cadre.Level.choices),
            width=10,
        ),
        Column(
            "kind",
            "联系类型",
            options=tuple(str(label) for _, label in Assignment.Kind.choices),
            width=10,
        ),
        Column(
            "area_code",
            "联系点区划代码",
            aliases=("联系点代码", "区划代码"),
            note="联乡填 9 位乡镇(街道)代码，帮村填 12 位村(社区)统计用区划代码。",
            width=18,
            is_text=True,
        ),
        Column("year", "年度", width=8),
        Column("start", "开始日期", note="如 2023-01-01、2023/1/1 或 2023年1月1日。", width=12),
        Column("end", "结束日期", width=12),
    )

    def parse(self, cells, add_error) -> dict:
        row = {
            "name": n.text(cells.get("name")),
            "phone": _cell(
                add_error, "phone", n.digits, cells.get("phone"), lengths=(11,), label="手机号"
            ),
            "unit": n.text(cells.get("unit")),
            "position": n.text(cells.get("position"))[:60],
            "level": _cell(
                add_error,
                "level",
                n.choice,
                cells.get("level"),
                options=self.level_options,
                label="干部层级",
            ),
            "kind": _cell(
                add_error,
                "kind",
                n.choice,
                cells.get("kind"),
                options=self.kind_options,
                label="联系类型",
            ),
            "area_code": _cell(
                add_error,
                "area_code",
                n.digits,
                cells.get("area_code"),
                lengths=(9, 12),
                label="联系点区划代码",
            ),
            "year": _cell(add_error, "year", n.optional_int, cells.get("year"), label="年度"),
            "start": _cell(add_error, "start", n.date, cells.get("start"), label="开始日期"),
            "end": _cell(add_error, "end", n.date, cells.get("end"), label="结束日期"),
        }
        if not row["name"]:
            add_error("name", "姓名不能为空")
        if row["phone"] and not row["phone"].startswith("1"):
            add_error("phone", f"手机号“{row['phone']}”应以 1 开头")
        if not row["unit"]:
            add_error("unit", "派出单位不能为空")
        if row["year"] is None and n.is_blank(cells.get("year")):
            add_error("year", "年度不能为空")
        elif row["year"] is not None and not 2000 <= row["year"] <= 2100:
            add_error("year", f"年度“{row['year']}”不在 2000–2100 之间")
        if row["kind"] and row["area_code"]:
            wanted = 9 if row["kind"] == Assignment.Kind.TOWNSHIP else 12
            if len(row["area_code"]) != wanted:
                what = (
                    "联乡应填 9 位乡镇(街道)代码" if wanted == 9 else "帮村应填 12 位村(社区)代码"
                )
                add_error("area_code", f"“{row['area_code']}”与联系类型不符：{what}")
        if row["start"] and row["end"] and row["end"] < row["start"]:
            add_error("end", "结束日期不能早于开始日期")
        if row["start"] and row["year"] and row["start"].year != row["year"]:
            add_error("start", f"开始日期 {row['start'].isoformat()} 不在 {row['year']} 年度内")
        return row

    def load(self, rows, ctx: Context) -> None:
        phones = {r["phone"] for r in rows}
        ctx.cache["cadres"] = {
            c.phone: c for c in Cadre.objects.filter(phone__in=phones).select_related("work_unit")
        }
        ctx.cache["units"] = {
            u.name: u for u in WorkUnit.objects.filter(name__in={r["unit"] for r in rows})
        }
        ctx.cache["townships"] = {
            t.code: t
            for t in Township.objects.filter(
                code__in={r["area_code"] for r in rows if len(r["area_code"]) == 9}
            ).select_related("county")
        }
        ctx.cache["villages"] = {
            v.code: v
            for v in Village.objects.filter(
                code__in={r["area_code"] for r in rows if len(r["area_code"]) == 12}
            ).select_related("township__county")
        }
        existing = Assignment.objects.filter(
            cadre__phone__in=phones, year__in={r["year"] for r in rows}
        ).select_related("cadre")
        ctx.cache["assignments"] = {
            (a.cadre.phone, a.village.code if a.village_id else a.township.code, a.year): a
            for a in existing.select_related("village", "township")
        }
        ctx.cache["people"] = {}
        ctx.cache["new_units"] = {}
        # A county official may only touch cadres they can see (phone numbers are unique
        # city-wide, so another county's cadre must not be renamed or re-posted from here).
        ctx.cache["visible_cadres"] = (
            None
            if ctx.county is None
            else set(
                cadre_list_for_user(user=ctx.actor)
                .filter(phone__in=phones)
                .values_list("phone", flat=True)
            )
        )

    def check(self, item: Item, ctx: Context, add_error) -> None:
        row = item.data
        area = (
            ctx.cache["townships"]
            if row["kind"] == Assignment.Kind.TOWNSHIP
            else ctx.cache["villages"]
        ).get(row["area_code"])
        county = (
            None
            if area is None
            else (area.county if isinstance(area, Township) else area.township.county)
        )
        if area is None or (ctx.county is not None and county.pk != ctx.county.pk):
            # One message for "missing" and "not yours": nothing about other areas leaks.
            add_error(
                "area_code",
                f"联系点区划代码 {row['area_code']} 不存在或不在您的辖区内"
                "（新的村(社区)请先导入村(社区)花名册）",
            )
            return
        visible = ctx.cache["visible_cadres"]
        if (
            visible is not None
            and row["phone"] in ctx.cache["cadres"]
            and row["phone"] not in visible
        ):
            add_error("phone", "该手机号已登记为其他辖区的干部，请联系市级管理员处理")
            return
        person = (row["name"], row["unit"], row["position"], row["level"])
        seen = ctx.cache["people"].get(row["phone"])
        if seen is not None and seen[0] != person:
            add_error("phone", f"同一手机号在第{seen[1]}行填写的姓名、单位、职务或层级与本行不一致")
            return
        ctx.cache["people"].setdefault(row["phone"], (person, item.row))
        if row["unit"] not in ctx.cache["units"]:
            # A unit created by a county official's import belongs to that county.
            unit_level = row["level"]
            if ctx.county is not None and unit_level == WorkUnit.Level.CITY:
                unit_level = WorkUnit.Level.COUNTY
            ctx.cache["new_units"].setdefault(row["unit"], (unit_level, county))
        row["area"] = area
        item.label = f"{row['name']}（{row['phone']}）{Assignment.Kind(row['kind']).label!s} {area.name} {row['year']}年"

        changes = {}
        cadre = ctx.cache["cadres"].get(row["phone"])
        if cadre is not None:
            for label, old, new in (
                ("姓名", cadre.name, row["name"]),
                ("派出单位", cadre.work_unit.name, row["unit"]),
                ("职务", cadre.position, row["position"]),
                ("干部层级", str(cadre.get_level_display()), str(Cadre.Level(row["level"]).label)),
            ):
                if old != new:
                    changes[label] = [old, new]
        assignment = ctx.cache["assignments"].get((row["phone"], row["area_code"], row["year"]))
        if assignment is None:
            item.status = NEW
        else:
            item.target = assignment
            for label, old, new in (
                ("开始日期", assignment.start_date, row["start"]),
                ("结束日期", assignment.end_date, row["end"]),
            ):
                if old != new:
                    changes[label] = [_show(old), _show(new)]
            item.status = CHANGED if changes else UNCHANGED
        item.changes = changes

    def cadre_logins(self, items: list[Item], ctx: Context) -> dict[str, int]:
        """The login (user id) each cadre of `items` is to be linked to, by phone, written
        before the cadres are. None here: the accounts app's sheet, which replaces this one
        in the registry, opens or finds the logins (accounts.import_kinds)."""
        return {}

    def commit(self, items: list[Item], ctx: Context) -> dict:
        actor = ctx.actor
        reason = "Excel 导入：帮扶干部及联系点"
        units = ctx.cache["units"]
        wanted_units = {i.data["unit"] for i in items} - set(units)
        new_units = [
            WorkUnit(
                name=name, level=level, county=None if level == WorkUnit.Level.CITY else county
            )
            for name, (level, county) in ctx.cache["new_units"].items()
            if name in wanted_units
        ]
        create_with_history(WorkUnit, new_units, actor=actor, reason=reason)
        if new_units:
            units.update(
                {u.name: u for u in WorkUnit.objects.filter(name__in=[u.name for u in new_units])}
            )

        logins = self.cadre_logins(items, ctx)
        cadres = ctx.cache["cadres"]
        create_cadres, update_cadres = {}, {}
        for item in items:
            row = item.data
            values = {
                "name": row["name"],
                "work_unit": units[row["unit"]],
                "position": row["position"],
                "level": row["level"],
            }
            cadre = cadres.get(row["phone"])
            if cadre is not None or row["phone"] in logins:
                values["user_id"] = logins.get(row["phone"], getattr(cadre, "user_id", None))
            if cadre is None:
                create_cadres.setdefault(row["phone"], Cadre(phone=row["phone"], **values))
            elif any(getattr(cadre, k) != v for k, v in values.items()):
                for k, v in values.items():
                    setattr(cadre, k, v)
                update_cadres[row["phone"]] = cadre
        create_with_history(Cadre, list(create_cadres.values()), actor=actor, reason=reason)
        if create_cadres:
            cadres.update({c.phone: c for c in Cadre.objects.filter(phone__in=list(create_cadres))})
        forget_logins([c.user_id for c in update_cadres.values()])  # their names, units
        update_with_history(
            Cadre,
            list(update_cadres.values()),
            ["name", "work_unit", "position", "level", "user"],
            actor=actor,
            reason=reason,
        )

        create_assignments, update_assignments = [], []
        for item in items:
            row = item.data
            if item.status == NEW:
                area = row["area"]
                create_assignments.append(
                    Assignment(
                        cadre=cadres[row["phone"]],
                        kind=row["kind"],
                        village=area if isinstance(area, Village) else None,
                        township=area if isinstance(area, Township) else None,
                        year=row["year"],
                        start_date=row["start"],
                        end_date=row["end"],
                    )
                )
            elif item.status == CHANGED and item.target is not None:
                a = item.target
                if (a.start_date, a.end_date) != (row["start"], row["end"]):
                    a.start_date, a.end_date = row["start"], row["end"]
                    update_assignments.append(a)
        create_with_history(Assignment, create_assignments, actor=actor, reason=reason)
        update_with_history(
            Assignment, update_assignments, ["start_date", "end_date"], actor=actor, reason=reason
        )
        return {
            "work_units_created": len(new_units),
            "cadres_created": len(create_cadres),
            "cadres_updated": len(update_cadres),
        }


register(VillageSheet())
register(CadreSheet())
