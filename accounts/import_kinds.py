"""The roster sheets that make logins, in the import pipeline (core.importing):

- 帮扶干部及联系点 (key "cadres"): villages' cadre roster, which here also opens one login
  per cadre (or links the one they have) and replaces villages' sheet under its key;
- 干部账号与角色 (key "roles"): officials, their role and area.

Both match people to existing logins through accounts.rosters, refuse a row whose phone,
login name or 工号 belongs to someone else, and deactivate (never delete) the logins of
people who left the roster, narrowly: on the cadre roster, cadres whose every assignment
from the file's earliest year on lies in a (year, township) the file covers; on the role
roster, township and county officials of a township or county the file lists officials
of. Nobody the file names, even on a row with an error, and no staff, superuser or the
importing official's own login is deactivated. A login deactivated for leaving the roster
is reactivated when its person is back; one an official deactivated stays so.
"""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.db.models import Q
from django.db.models.functions import Coalesce

from accounts.models import Account
from accounts.rosters import (
    Login,
    People,
    Present,
    describe,
    login_notes,
    may_leave,
    parse_staff_no,
    refuse_for_name,
    staff_no_clashes,
    staff_no_required,
    username_for,
)
from accounts.selectors import account_list_for_user
from accounts.services import roster_logins_write
from core.importing import normalise as n
from core.importing.engine import (
    CHANGED,
    NEW,
    UNCHANGED,
    Column,
    Context,
    Item,
    Plan,
    SheetKind,
    register,
)
from villages.import_kinds import CadreSheet
from villages.models import Assignment, Cadre, County, Township, UserRole
from villages.selectors import cadre_list_for_user

Role = UserRole.Role
OFFICIAL_ROLES = (Role.CITY_ADMIN, Role.CITY_VIEWER, Role.COUNTY_OFFICIAL, Role.TOWNSHIP_OFFICIAL)
STAFF_NO_NOTE = (
    "登录名按系统设置生成：手机号，或工号（设置 ACCOUNT_USERNAME 为 staff_no 时每行必填）。"
)


def _staff_no_column() -> Column:
    return Column(
        "staff_no",
        "工号",
        required=staff_no_required(),
        aliases=("干部工号", "职工号"),
        note=STAFF_NO_NOTE,
        width=12,
        is_text=True,
    )


def _visible(ctx: Context, users) -> set | None:
    """The ids among `users` a county official may manage (None: no limit)."""
    if ctx.county is None or ctx.actor is None:
        return None
    ids = [u.pk for u in users]
    return set(
        account_list_for_user(user=ctx.actor).filter(pk__in=ids).values_list("pk", flat=True)
    )


def _hidden(ctx: Context):
    visible = ctx.cache["acct_visible"]
    return None if visible is None else (lambda user: user.pk not in visible)


def _note_written(written: dict) -> list[str]:
    lines = []
    for key, text in (
        ("accounts_created", "新建账号 {} 个"),
        ("accounts_linked", "关联已有账号 {} 个"),
        ("accounts_reactivated", "恢复账号 {} 个"),
        ("accounts_deactivated", "停用账号 {} 个"),
    ):
        if written.get(key):
            lines.append(text.format(written[key]))
    return lines


def _person(ctx: Context, item: Item) -> None:
    """Remember the rows of each (phone, 工号) for the 工号 check across people."""
    row = item.data
    entry = ctx.cache["acct_rows"].setdefault((row["phone"], row["staff_no"]), (row["name"], []))
    entry[1].append(item.row)


class CadreLoginSheet(CadreSheet):
    """帮扶干部及联系点, opening one login per cadre: username by ACCOUNT_USERNAME, the
    cadre's name and phone, role 帮扶干部, no usable password until the first passwords
    are handed out."""

    @property
    def columns(self):
        return (*CadreSheet.columns, _staff_no_column())

    def parse(self, cells, add_error) -> dict:
        row = super().parse(cells, add_error)
        row["staff_no"] = parse_staff_no(cells, add_error)
        return row

    def load(self, rows, ctx: Context) -> None:
        super().load(rows, ctx)
        people = People.load(
            phones={r["phone"] for r in rows},
            usernames={username_for(r["phone"], r["staff_no"]) for r in rows},
            staff_nos={r["staff_no"] for r in rows},
        )
        ctx.cache.update(
            acct_people=people,
            acct_visible=_visible(ctx, people.users),
            acct_logins={},
            acct_clashes={},
            acct_rows={},
            acct_staff={},
            acct_leaving=[],
        )

    def _refuse(self, user, row: dict, ctx: Context) -> str | None:
        visible = ctx.cache["acct_visible"]
        if visible is not None and user.pk not in visible:
            return ""
        cadre = getattr(user, "cadre", None)
        if cadre is not None:
            return f"该账号已关联帮扶干部 {cadre.name}（{cadre.phone}）"
        role = getattr(user, "portal_role", None)
        if user.is_staff or user.is_superuser or (role is not None and role.role != Role.CADRE):
            return "该账号不是帮扶干部的账号"
        return refuse_for_name(user, row["name"])

    def check(self, item: Item, ctx: Context, add_error) -> None:
        failed = []

        def add(column: str, message: str) -> None:
            failed.append(column)
            add_error(column, message)

        super().check(item, ctx, add)
        if failed:
            return
        row = item.data
        _person(ctx, item)
        staff_no, first = ctx.cache["acct_staff"].setdefault(
            row["phone"], (row["staff_no"], item.row)
        )
        if staff_no != row["staff_no"]:
            add_error(
                "staff_no",
                f"同一手机号在第{first}行填写的工号“{staff_no}”与本行的“{row['staff_no']}”不一致",
            )
            return
        phone = row["phone"]
        if phone in ctx.cache["acct_clashes"]:
            add_error(*ctx.cache["acct_clashes"][phone])
            return
        login = ctx.cache["acct_logins"].get(phone)
        if login is not None:
            login.rows.append(item.row)
            return
        people = ctx.cache["acct_people"]
        cadre = ctx.cache["cadres"].get(phone)
        linked = people.by_cadre_phone.get(phone) if cadre is not None else None
        user, clash = people.match(
            phone=phone,
            staff_no=row["staff_no"],
            linked=linked,
            refuse=lambda u: self._refuse(u, row, ctx),
            hidden=_hidden(ctx),
        )
        if clash is not None:
            ctx.cache["acct_clashes"][phone] = clash
            add_error(*clash)
            return
        area = row["area"]
        ctx.cache["acct_logins"][phone] = Login(
            phone=phone,
            name=row["name"],
            staff_no=row["staff_no"],
            rows=[item.row],
            county_id=area.county_id if isinstance(area, Township) else area.township.county_id,
            user=user,
            linked=user is None or linked is not None,
        )

    def finish(self, plan: Plan, ctx: Context) -> None:
        staff_no_clashes(plan, ctx.cache["acct_rows"], {c.key: c.header for c in self.columns})
        valid = plan.valid_items()
        phones = {i.data["phone"] for i in valid}
        logins = [lg for phone, lg in ctx.cache["acct_logins"].items() if phone in phones]
        ctx.cache["acct_leaving"] = leaving = self._leaving(valid, ctx)
        plan.notes.extend(login_notes(logins, [user for user, _ in leaving]))

    def _leaving(self, valid: list[Item], ctx: Context) -> list[tuple]:
        """The cadres' logins to deactivate (see the module's docstring), with the county
        of their assignment for the account log."""
        pairs = set()
        for item in valid:
            area = item.data["area"]
            pairs.add(
                (item.data["year"], area.pk if isinstance(area, Township) else area.township_id)
            )
        if not pairs:
            return []
        years = {year for year, _ in pairs}
        townships = {township for _, township in pairs}
        touched = Cadre.objects.filter(
            Q(assignments__year__in=years)
            & (
                Q(assignments__township_id__in=townships)
                | Q(assignments__village__township_id__in=townships)
            ),
            user__is_active=True,
        )
        assignments = (
            Assignment.objects.filter(year__gte=min(years), cadre__in=touched.values("pk"))
            .annotate(
                area_township=Coalesce("township_id", "village__township_id"),
                area_county=Coalesce("township__county_id", "village__township__county_id"),
            )
            .values_list(
                "cadre_id", "year", "area_township", "area_county", "cadre__phone", "cadre__name"
            )
        )
        present = Present.of(ctx.all_rows)
        inside, outside, county_of = set(), set(), {}
        for cadre_id, year, township_id, county_id, phone, name in assignments:
            if phone in present.phones or name in present.names:
                continue
            if (year, township_id) in pairs:
                inside.add(cadre_id)
                county_of.setdefault(cadre_id, county_id)
            else:
                outside.add(cadre_id)
        left = inside - outside
        if not left:
            return []
        users = (
            get_user_model()
            .objects.filter(cadre__pk__in=left)
            .select_related("account", "cadre", "portal_role")
            .order_by("username")
        )
        return [
            (user, county_of[user.cadre.pk])
            for user in users
            if may_leave(user, ctx.actor)
            and not present.lists(user)
            and getattr(getattr(user, "portal_role", None), "role", Role.CADRE) == Role.CADRE
        ]

    def cadre_logins(self, items: list[Item], ctx: Context) -> dict[str, int]:
        phones = {i.data["phone"] for i in items}
        written = roster_logins_write(
            actor=ctx.actor,
            logins=[lg for phone, lg in ctx.cache["acct_logins"].items() if phone in phones],
            leaving=ctx.cache["acct_leaving"],
            source=Account.Source.CADRE_ROSTER,
            reason="Excel 导入：帮扶干部及联系点",
        )
        ctx.cache["acct_written"] = written
        return written.pop("users")

    def commit(self, items: list[Item], ctx: Context) -> dict:
        written = super().commit(items, ctx)
        accounts = ctx.cache.get("acct_written", {})
        written.update(accounts)
        written["notes"] = _note_written(accounts)
        return written


class RoleSheet(SheetKind):
    """干部账号与角色: one row per official. A city admin imports any of the four roles;
    a county official only township officials of their own county. New logins are not
    staff (the Django admin is given by hand) and have no usable password until the first
    passwords are handed out."""

    key = "roles"
    label = "干部账号与角色"
    key_columns = ("phone",)
    role_options = {str(label): value for value, label in Role.choices if value in OFFICIAL_ROLES}
    display_labels = {"role": dict(Role.choices)}

    @property
    def columns(self):
        return (
            Column("name", "姓名", width=10),
            Column(
                "phone",
                "手机号",
                aliases=("手机", "手机号码", "联系电话"),
                note="11 位手机号，用于识别账号。",
                width=14,
                is_text=True,
            ),
            Column("role", "角色", options=tuple(self.role_options), width=12),
            Column(
                "area_code",
                "辖区",
                aliases=("辖区代码", "区划代码"),
                note="县级干部填 6 位县(市、区)代码，乡级干部填 9 位乡镇(街道)代码；"
                "市级管理员、市级查看留空。",
                width=14,
                is_text=True,
            ),
            _staff_no_column(),
        )

    def parse(self, cells, add_error) -> dict:
        row = {
            "name": n.text(cells.get("name")),
            "phone": _cell(
                add_error, "phone", n.digits, cells.get("phone"), lengths=(11,), label="手机号"
            ),
            "role": _cell(
                add_error,
                "role",
                n.choice,
                cells.get("role"),
                options=self.role_options,
                label="角色",
            ),
            "area_code": None,
            "staff_no": parse_staff_no(cells, add_error),
        }
        if not row["name"]:
            add_error("name", "姓名不能为空")
        elif len(row["name"]) > 30:
            add_error("name", "姓名不能超过 30 个字")
        if row["phone"] and not row["phone"].startswith("1"):
            add_error("phone", f"手机号“{row['phone']}”应以 1 开头")
        if not n.is_blank(cells.get("area_code")):
            row["area_code"] = _cell(
                add_error, "area_code", n.digits, cells["area_code"], lengths=(6, 9), label="辖区"
            )
        code, role = row["area_code"], row["role"]
        if role == Role.COUNTY_OFFICIAL and (code is None or len(code) != 6):
            add_error("area_code", "县级干部的辖区应填 6 位县(市、区)代码")
        elif role == Role.TOWNSHIP_OFFICIAL and (code is None or len(code) != 9):
            add_error("area_code", "乡级干部的辖区应填 9 位乡镇(街道)代码")
        elif role in (Role.CITY_ADMIN, Role.CITY_VIEWER) and code:
            add_error("area_code", "市级管理员、市级查看的辖区应留空")
        return row

    def load(self, rows, ctx: Context) -> None:
        codes = {r["area_code"] for r in rows if r["area_code"]}
        phones = {r["phone"] for r in rows}
        people = People.load(
            phones=phones,
            usernames={username_for(r["phone"], r["staff_no"]) for r in rows},
            staff_nos={r["staff_no"] for r in rows},
        )
        ctx.cache.update(
            counties={c.code: c for c in County.objects.filter(code__in=codes)},
            townships={
                t.code: t for t in Township.objects.filter(code__in=codes).select_related("county")
            },
            cadres={
                c.phone: c
                for c in Cadre.objects.filter(phone__in=phones).select_related(
                    "user__account", "user__portal_role"
                )
            },
            acct_people=people,
            acct_visible=_visible(ctx, people.users),
            acct_logins={},
            acct_rows={},
            acct_leaving=[],
        )
        ctx.cache["visible_cadres"] = (
            None
            if ctx.county is None
            else set(
                cadre_list_for_user(user=ctx.actor)
                .filter(phone__in=phones)
                .values_list("phone", flat=True)
            )
        )

    def _refuse(self, user, row: dict, ctx: Context) -> str | None:
        visible = ctx.cache["acct_visible"]
        if visible is not None and user.pk not in visible:
            return ""
        cadre = getattr(user, "cadre", None)
        if cadre is not None:
            return f"该账号已关联帮扶干部 {cadre.name}（{cadre.phone}）"
        role = getattr(user, "portal_role", None)
        if role is not None and role.role == Role.CADRE:
            return "该账号是帮扶干部的账号，由“帮扶干部及联系点”名册管理"
        return refuse_for_name(user, row["name"])

    def _area(self, item: Item, ctx: Context, add_error):
        """(county, township) of the row's role, or False after an error."""
        row = item.data
        role, code = row["role"], row["area_code"]
        if ctx.county is not None and role != Role.TOWNSHIP_OFFICIAL:
            add_error(
                "role",
                f"县级干部只能导入本县(市、区)乡级干部的账号，不能导入“{Role(role).label}”",
            )
            return False
        if role == Role.COUNTY_OFFICIAL:
            county = ctx.cache["counties"].get(code)
            if county is None:
                add_error("area_code", f"县(市、区)代码 {code} 不存在")
                return False
            return county, None
        if role == Role.TOWNSHIP_OFFICIAL:
            township = ctx.cache["townships"].get(code)
            if township is None or (ctx.county is not None and township.county_id != ctx.county.pk):
                add_error("area_code", f"乡镇(街道)代码 {code} 不存在或不在您的辖区内")
                return False
            return None, township
        return None, None

    def check(self, item: Item, ctx: Context, add_error) -> None:
        row = item.data
        area = self._area(item, ctx, add_error)
        if area is False:
            return
        county, township = area
        phone = row["phone"]
        cadre = ctx.cache["cadres"].get(phone)
        if cadre is not None:
            visible = ctx.cache["visible_cadres"]
            if visible is not None and phone not in visible:
                add_error("phone", f"手机号 {phone} 已被其他辖区的账号使用，请联系市级管理员处理")
            else:
                who = f"，{describe(cadre.user)}" if cadre.user is not None else ""
                add_error(
                    "phone",
                    f"手机号 {phone} 已登记为帮扶干部 {cadre.name}{who}；"
                    "帮扶干部的账号由“帮扶干部及联系点”名册管理，不能覆盖",
                )
            return
        user, clash = ctx.cache["acct_people"].match(
            phone=phone,
            staff_no=row["staff_no"],
            refuse=lambda u: self._refuse(u, row, ctx),
            hidden=_hidden(ctx),
        )
        if clash is not None:
            add_error(*clash)
            return
        login = Login(
            phone=phone,
            name=row["name"],
            staff_no=row["staff_no"],
            rows=[item.row],
            county_id=county.pk if county else (township.county_id if township else None),
            user=user,
            role=row["role"],
            county=county,
            township=township,
            set_role=True,
        )
        changes = login.changes()
        if user is not None and ctx.actor is not None and user.pk == ctx.actor.pk and changes:
            add_error("phone", "不能通过导入修改您自己的账号，请联系其他管理员")
            return
        _person(ctx, item)
        ctx.cache["acct_logins"][phone] = login
        item.label = (
            f"{row['name']}（{phone}）{Role(row['role']).label} {login.area_label()}".strip()
        )
        item.target = user
        item.changes = changes
        item.status = NEW if user is None else (CHANGED if changes else UNCHANGED)

    def finish(self, plan: Plan, ctx: Context) -> None:
        staff_no_clashes(plan, ctx.cache["acct_rows"], {c.key: c.header for c in self.columns})
        phones = {i.data["phone"] for i in plan.valid_items()}
        logins = [lg for phone, lg in ctx.cache["acct_logins"].items() if phone in phones]
        ctx.cache["acct_leaving"] = leaving = self._leaving(logins, ctx)
        plan.notes.extend(login_notes(logins, [user for user, _ in leaving]))

    def _leaving(self, logins: list[Login], ctx: Context) -> list[tuple]:
        townships = {lg.township.pk for lg in logins if lg.role == Role.TOWNSHIP_OFFICIAL}
        counties = {lg.county.pk for lg in logins if lg.role == Role.COUNTY_OFFICIAL}
        if not townships and not counties:
            return []
        users = (
            get_user_model()
            .objects.filter(
                Q(portal_role__role=Role.TOWNSHIP_OFFICIAL, portal_role__township_id__in=townships)
                | Q(portal_role__role=Role.COUNTY_OFFICIAL, portal_role__county_id__in=counties),
                is_active=True,
            )
            .select_related(
                "account", "cadre", "portal_role__county", "portal_role__township__county"
            )
            .order_by("username")
        )
        present = Present.of(ctx.all_rows)
        leaving = []
        for user in users:
            if may_leave(user, ctx.actor) and not present.lists(user):
                role = user.portal_role
                leaving.append((user, role.county_id or role.township.county_id))
        return leaving

    def commit(self, items: list[Item], ctx: Context) -> dict:
        phones = {i.data["phone"] for i in items}
        written = roster_logins_write(
            actor=ctx.actor,
            logins=[lg for phone, lg in ctx.cache["acct_logins"].items() if phone in phones],
            leaving=ctx.cache["acct_leaving"],
            source=Account.Source.ROLE_ROSTER,
            reason="Excel 导入：干部账号与角色",
        )
        written.pop("users")
        written["notes"] = _note_written(written)
        return written


def _cell(add_error, key: str, parse, *args, **kwargs):
    try:
        return parse(*args, **kwargs)
    except n.CellError as exc:
        add_error(key, str(exc))
        return None


register(CadreLoginSheet(), replace=True)
register(RoleSheet())
