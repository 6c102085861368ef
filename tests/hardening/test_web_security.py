"""Issue 8, point 5 (web security), beyond what tests/test_security.py already proves:

- every page reachable by GET, for every role, carries a script nonce, no inline handler
  and no `javascript:` URL, under a CSP without 'unsafe-inline' / 'unsafe-eval' for scripts;
- the production settings answer with HSTS and Secure, HttpOnly, SameSite cookies;
- a locked account stays locked on every way in (portal, admin, API token), in Chinese;
- every upload refuses oversized and wrong-type files by name and stores nothing, and
  bodies over the limits get a Chinese 413 / 400 instead of a 500;
- `bandit -ll` is clean;
- ID and phone numbers of parties and petitioners are shown whole only to the roles that
  need them, and masked for every other role on pages, API, history, admin and exports.
"""

import io
import re
import subprocess

import openpyxl
import pytest
from rest_framework.test import APIClient

from core.models import ExportJob
from disputes.services import ledger_update
from tests.disputes.factories import DisputeFactory, PetitionFactory
from villages.demo import role_groups

pytestmark = pytest.mark.filterwarnings("ignore:No directory at:UserWarning")


# ===== ID and phone numbers: whole for those who need them, masked for everyone else =====
#
# The rule (README, 三零创建 "Personal data"; disputes.selectors.can_see_personal): city
# admins and the county and township officials of the area see the numbers; every other
# role sees them masked, and nobody sees anything of a record outside their area. A
# superuser counts as a city admin.

# One dispute and one petition per village, each with its own numbers; each record is
# then changed once, so its first numbers live on only in the history.
NUMBERS = {
    "a1v1": {
        "party_id": ("411024199001011234", "411024199101015555"),
        "party_phone": ("13812345678", "13712340001"),
        "petitioner_id": ("411024198502023456", "411024198602026666"),
        "petitioner_phone": ("13900001111", "13600002222"),
    },
    "a2v1": {
        "party_id": ("411024199202023333", "411024199302037777"),
        "party_phone": ("13822223333", "13722224444"),
        "petitioner_id": ("411024198702024444", "411024198802028888"),
        "petitioner_phone": ("13933335555", "13633336666"),
    },
    "b1v1": {
        "party_id": ("419024199401011212", "419024199501013434"),
        "party_phone": ("15812125656", "15712127878"),
        "petitioner_id": ("419024198901015656", "419024198001017878"),
        "petitioner_phone": ("15912349090", "15612341010"),
    },
}
LABELS = tuple(NUMBERS)

# who -> {village label: True (whole) / False (masked)}; a label left out is not visible.
PERSONAL_VISIBILITY = {
    "city_admin": {"a1v1": True, "a2v1": True, "b1v1": True},
    "superuser": {"a1v1": True, "a2v1": True, "b1v1": True},
    "city_viewer": {"a1v1": False, "a2v1": False, "b1v1": False},
    "county_official": {"a1v1": True, "a2v1": True},
    "other_county_official": {"b1v1": True},
    "township_official": {"a1v1": True},
    "cadre_user": {"a1v1": False},
    "township_cadre_user": {"a2v1": False},
    "no_role_user": {},
}
# The Django admin is open to the roles with an admin group (villages.demo.role_groups).
ADMIN_ROLE = {
    "city_admin": "city_admin",
    "city_viewer": "city_viewer",
    "county_official": "county_official",
    "other_county_official": "county_official",
    "township_official": "township_official",
}


def mask(number: str) -> str:
    keep = (6, 4) if len(number) == 18 else (3, 4)
    return number[: keep[0]] + "*" * (len(number) - sum(keep)) + number[-keep[1] :]


def all_numbers(label: str) -> list[str]:
    return [n for pair in NUMBERS[label].values() for n in pair]


def current_numbers(label: str) -> list[str]:
    return [pair[1] for pair in NUMBERS[label].values()]


@pytest.fixture
def personal_records(area, users):
    """{label: (dispute, petition)}, each changed once by the city admin."""
    records = {}
    for label in LABELS:
        n = NUMBERS[label]
        village = area.villages[label]
        dispute = DisputeFactory(
            village=village, party_id_numbers=n["party_id"][0], party_phones=n["party_phone"][0]
        )
        petition = PetitionFactory(
            village=village,
            petitioner_id_number=n["petitioner_id"][0],
            petitioner_phone=n["petitioner_phone"][0],
        )
        admin = users["city_admin"]
        ledger_update(
            actor=admin,
            record=dispute,
            party_id_numbers=n["party_id"][1],
            party_phones=n["party_phone"][1],
        )
        ledger_update(
            actor=admin,
            record=petition,
            petitioner_id_number=n["petitioner_id"][1],
            petitioner_phone=n["petitioner_phone"][1],
        )
        records[label] = (dispute, petition)
    return records


def _export_rows(client, kind, capture) -> str:
    """The text of every cell of the export `kind` the client may make ("" when refused)."""
    before = ExportJob.objects.count()
    with capture(execute=True):
        posted = client.post(f"/exports/new/{kind}/", {})
    assert posted.status_code == 302
    if ExportJob.objects.count() == before:
        return ""  # a login without a role is refused (with a message)
    job = ExportJob.objects.order_by("-pk").first()
    assert job.state == "done", job.error
    download = client.get(f"/exports/{job.pk}/download/")
    assert download.status_code == 200
    book = openpyxl.load_workbook(io.BytesIO(b"".join(download.streaming_content)))
    return "\n".join(
        "\t".join("" if v is None else str(v) for v in row)
        for sheet in book.worksheets
        for row in sheet.iter_rows(values_only=True)
    )


def _surfaces(who, users, records, client, capture) -> dict[str, str]:
    """Every place a record's numbers can be read by `who`: name -> the text found there."""
    user = users[who]
    texts = {}
    if who in ADMIN_ROLE:
        user.is_staff = True
        user.save(update_fields=["is_staff"])
        user.groups.add(role_groups()[ADMIN_ROLE[who]])
    client.force_login(user)
    api = APIClient()
    api.force_authenticate(user)
    for ledger, api_name in (("disputes", "disputes"), ("petitions", "petitions")):
        texts[f"page list {ledger}"] = client.get(f"/disputes/{ledger}/").content.decode()
        texts[f"api list {ledger}"] = api.get(f"/api/{api_name}/").content.decode()
        texts[f"export {ledger}"] = _export_rows(client, ledger, capture)
    for label, (dispute, petition) in records.items():
        for ledger, model, obj in (
            ("disputes", "dispute", dispute),
            ("petitions", "petition", petition),
        ):
            pages = {
                "page detail (with history)": f"/disputes/{ledger}/{obj.pk}/",
                "page edit": f"/disputes/{ledger}/{obj.pk}/edit/",
                "api detail": f"/api/{ledger}/{obj.pk}/",
            }
            if user.is_staff or user.is_superuser:
                history = obj.history.order_by("history_id").first()
                pages |= {
                    "admin change": f"/admin/disputes/{model}/{obj.pk}/change/",
                    "admin history": f"/admin/disputes/{model}/{obj.pk}/history/",
                    "admin past version": (
                        f"/admin/disputes/{model}/{obj.pk}/history/{history.history_id}/"
                    ),
                }
            for surface, url in pages.items():
                reader = api if url.startswith("/api/") else client
                response = reader.get(url)
                assert response.status_code in (200, 403, 404), (url, response.status_code)
                if response.status_code == 200:
                    texts[f"{surface} {label} {model}"] = response.content.decode()
    return texts


@pytest.mark.django_db
@pytest.mark.parametrize("who", list(PERSONAL_VISIBILITY))
def test_id_and_phone_numbers_only_for_those_who_need_them(
    who, users, personal_records, client, django_capture_on_commit_callbacks
):
    # when
    texts = _surfaces(who, users, personal_records, client, django_capture_on_commit_callbacks)

    # then
    visible = PERSONAL_VISIBILITY[who]
    for label in LABELS:
        dispute, petition = personal_records[label]
        if label not in visible:
            # out of the area: not a digit of it anywhere, masked or not
            for number in all_numbers(label):
                leaks = [s for s, t in texts.items() if number in t or mask(number) in t]
                assert not leaks, f"{who} reads {label}'s {number} in {leaks}"
            for model, _obj in (("dispute", dispute), ("petition", petition)):
                assert f"page detail (with history) {label} {model}" not in texts
                assert f"api detail {label} {model}" not in texts
            continue
        whole = visible[label]
        for number in all_numbers(label):
            leaks = [s for s, t in texts.items() if number in t]
            if not whole:
                assert not leaks, f"{who} reads {label}'s {number} whole in {leaks}"
        for model in ("dispute", "petition"):
            detail = texts[f"page detail (with history) {label} {model}"]
            api_detail = texts[f"api detail {label} {model}"]
            keys = (
                ("party_id", "party_phone")
                if model == "dispute"
                else ("petitioner_id", "petitioner_phone")
            )
            for key in keys:
                old, new = NUMBERS[label][key]
                shown_new, shown_old = (new, old) if whole else (mask(new), mask(old))
                assert shown_new in detail and shown_new in api_detail, (who, label, key)
                assert shown_old in detail.split("变更记录")[1], (who, label, key)  # history
                ledger = "disputes" if model == "dispute" else "petitions"
                assert shown_new in texts[f"api list {ledger}"], (who, label, key)
                assert shown_new in texts[f"export {ledger}"], (who, label, key)
                admin_history = texts.get(f"admin history {label} {model}")
                if admin_history is not None:
                    assert shown_old in admin_history and shown_new in admin_history, (who, key)


# ===== uploads: size and type limited everywhere, refused by name, nothing stored =====
#
# The ways a file gets in: 数据导入 (/imports/, every import kind), the admin's 导入 button
# (村(社区), 帮扶干部), and visit photos (the visit form and its edit page, the API's create
# and update). ImportJob.file and VisitPhoto.image are the only uploaded FileFields;
# ExportJob.file is written by the portal itself.

MB = 1024 * 1024
ZIP_HEAD = b"PK\x03\x04"
OLE_HEAD = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"


def _media_files(settings) -> set:
    root = settings.MEDIA_ROOT
    return {p for p in root.rglob("*") if p.is_file()} if root.exists() else set()


def _image_bytes(fmt: str, size=(40, 30)) -> bytes:
    from PIL import Image

    buffer = io.BytesIO()
    Image.new("RGB", size, (20, 120, 200)).save(buffer, format=fmt)
    return buffer.getvalue()


# (file name, content, what the refusal says besides the name)
BAD_WORKBOOKS = {
    "oversized": ("超大名册.xlsx", ZIP_HEAD + b"\0" * (10 * MB), "超过 10 MB 上限"),
    "empty": ("空白.xlsx", b"", "文件是空的"),
    "pdf": ("说明.pdf", b"%PDF-1.4\n1 0 obj\n<<>>\nendobj\n", "只接受 Excel 工作簿（.xlsx）或 CSV"),
    "executable named .xlsx": ("名册.xlsx", b"MZ\x90\x00\x03" + b"\0" * 200, "文件不是表格"),
    "image named .xlsx": ("名册.xlsx", b"\x89PNG\r\n\x1a\n" + b"\0" * 64, "文件不是表格"),
    "text named .xlsx": ("名册.xlsx", "区划代码,名称\n1,甲\n".encode(), "不是 Excel 工作簿"),
    "zip named .csv": ("名册.csv", ZIP_HEAD + b"\x14\x00" * 20, "不是 CSV 文本"),
    "old .xls": ("旧名册.xls", OLE_HEAD + b"\0" * 512, "不支持旧版 .xls 格式"),
    "encrypted workbook": (
        "加密.xlsx",
        OLE_HEAD + b"\0" * 64 + "EncryptionInfo".encode("utf-16-le") + b"\0" * 64,
        "已加密",
    ),
}


@pytest.mark.django_db
@pytest.mark.parametrize("case", list(BAD_WORKBOOKS))
@pytest.mark.parametrize("kind", ["villages", "cadres", "star_ratings", "units"])
def test_import_page_refuses_bad_files_by_name_and_stores_nothing(
    client, city_admin, settings, case, kind
):
    from django.core.files.uploadedfile import SimpleUploadedFile

    from core.models import ImportJob

    # given
    name, data, reason = BAD_WORKBOOKS[case]
    files_before = _media_files(settings)
    client.force_login(city_admin)

    # when
    response = client.post(
        "/imports/", {"kind": kind, "file": SimpleUploadedFile(name, data)}, follow=True
    )

    # then
    assert response.status_code == 200
    html = response.content.decode()
    assert f"“{name}”" in html and reason in html, html[:3000]
    assert not ImportJob.objects.exists()
    assert _media_files(settings) == files_before


@pytest.mark.django_db
@pytest.mark.parametrize("case", list(BAD_WORKBOOKS))
@pytest.mark.parametrize("model", ["village", "cadre"])
def test_admin_import_refuses_bad_files_by_name_before_storing_them(
    client, city_admin, monkeypatch, case, model
):
    from django.core.files.uploadedfile import SimpleUploadedFile

    from core.models import ImportJob
    from villages.admin import PipelineImportMixin
    from villages.models import UserRole

    # given: django-import-export would keep the upload in its temporary storage
    stored = []
    monkeypatch.setattr(
        PipelineImportMixin, "write_to_tmp_storage", lambda *a, **k: stored.append(a)
    )
    name, data, reason = BAD_WORKBOOKS[case]
    city_admin.is_staff = True
    city_admin.save(update_fields=["is_staff"])
    city_admin.groups.add(role_groups()[UserRole.Role.CITY_ADMIN])
    client.force_login(city_admin)

    # when
    response = client.post(
        f"/admin/villages/{model}/import/",
        {"format": "0", "resource": "0", "import_file": SimpleUploadedFile(name, data)},
    )

    # then
    assert response.status_code == 200
    html = response.content.decode()
    assert f"“{name}”" in html and reason in html
    assert "process_import" not in html  # no confirm step offered
    assert stored == [] and not ImportJob.objects.exists()


# (file name, content, what the refusal says besides the name)
BAD_PHOTOS = {
    "oversized": ("大照片.png", _image_bytes("PNG") + b"\0" * (8 * MB), "超过 8 MB 上限"),
    "pdf named .jpg": ("现场.jpg", b"%PDF-1.4\n" + b"\0" * 100, "不是有效的图片"),
    "tiff image": ("扫描件.tif", _image_bytes("TIFF"), "不是有效的图片"),
    "eps named .jpg": (
        "海报.jpg",
        b"%!PS-Adobe-3.0 EPSF-3.0\n%%BoundingBox: 0 0 10 10\nshowpage\n",
        "不是有效的图片",
    ),
    "text": ("记录.txt", "走访记录".encode(), "不是有效的图片"),
}


def _visit_fields(area, **extra) -> dict:
    import uuid

    return {
        "client_uuid": str(uuid.uuid4()),
        "village": area.villages["a1v1"].pk,
        "date": "2024-05-14",
        "day_part": "full",
        "activities": ["meeting", "household"],
        "meetings": 1,
        "people_reached": 15,
        "households_visited": 4,
        "notes": "召开座谈会。",
    } | extra


def _visit_rows() -> tuple[int, int, int]:
    from visits.models import Visit, VisitEvent, VisitPhoto

    return Visit.objects.count(), VisitEvent.objects.count(), VisitPhoto.objects.count()


@pytest.mark.django_db
@pytest.mark.parametrize("case", list(BAD_PHOTOS))
@pytest.mark.parametrize("way", ["page new", "page edit", "api create", "api update"])
def test_visit_photos_refused_by_name_and_nothing_stored(
    client, area, cadre_user, settings, case, way
):
    from django.core.files.uploadedfile import SimpleUploadedFile

    from tests.visits.helpers import VisitFactory
    from visits.models import Visit

    # given: a good photo beside the bad one, so neither may be kept
    name, data, reason = BAD_PHOTOS[case]
    photos = [
        SimpleUploadedFile("好照片.png", _image_bytes("PNG")),
        SimpleUploadedFile(name, data),
    ]
    visit = VisitFactory(cadre=area.cadres["a1v1"], village=area.villages["a1v1"])
    before = Visit.objects.values().get(pk=visit.pk)
    rows, files = _visit_rows(), _media_files(settings)
    api = APIClient()
    api.force_login(cadre_user)
    client.force_login(cadre_user)
    fields = _visit_fields(area, notes="改过的记录")

    # when
    if way == "page new":
        response = client.post("/visits/new/", fields | {"photos": photos})
    elif way == "page edit":
        response = client.post(f"/visits/{visit.pk}/edit/", fields | {"photos": photos})
    elif way == "api create":
        response = api.post("/api/visits/", fields | {"photos": photos}, format="multipart")
    else:
        response = api.patch(
            f"/api/visits/{visit.pk}/",
            {"notes": "改过的记录", "photos": photos},
            format="multipart",
        )

    # then
    text = response.content.decode()
    if way.startswith("api"):
        assert response.status_code == 400
        text = " ".join(response.json()["photos"])
    else:
        assert response.status_code == 200  # the form again, with the message
    assert f"“{name}”" in text and reason in text, text[:2000]
    assert _visit_rows() == rows
    assert Visit.objects.values().get(pk=visit.pk) == before
    assert _media_files(settings) == files


# ----- request limits -----


def test_limits_are_set_deliberately(settings):
    from core.importing.reader import MAX_BYTES as IMPORT_MAX
    from visits.services import MAX_PHOTO_BYTES, MAX_PHOTOS

    # the largest legitimate body fits: 3 photos of 8 MB with the form, one workbook
    assert settings.UPLOAD_MAX_REQUEST_SIZE >= MAX_PHOTOS * MAX_PHOTO_BYTES + 64 * 1024
    assert settings.UPLOAD_MAX_REQUEST_SIZE >= IMPORT_MAX + 64 * 1024
    assert settings.UPLOAD_MAX_REQUEST_SIZE <= 32 * MB
    assert 64 * 1024 <= settings.DATA_UPLOAD_MAX_MEMORY_SIZE <= 5 * MB
    assert settings.FILE_UPLOAD_MAX_MEMORY_SIZE <= 10 * MB
    assert 300 < settings.DATA_UPLOAD_MAX_NUMBER_FIELDS <= 2000
    assert MAX_PHOTOS < settings.DATA_UPLOAD_MAX_NUMBER_FILES <= 20
    assert "core.middleware.RequestBodyLimitMiddleware" in settings.MIDDLEWARE


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("url", "who", "api"),
    [
        ("/imports/", "city_admin", False),
        ("/visits/new/", "cadre_user", False),
        ("/api/visits/", "cadre_user", True),
    ],
)
def test_multipart_body_over_the_limit_is_413_in_chinese(client, users, settings, url, who, api):
    from django.core.files.uploadedfile import SimpleUploadedFile

    from core.models import ImportJob

    # given: the limit lowered so the test stays small
    settings.UPLOAD_MAX_REQUEST_SIZE = 256 * 1024
    client.force_login(users[who])
    rows, files = _visit_rows(), _media_files(settings)

    # when
    response = client.post(
        url, {"kind": "villages", "file": SimpleUploadedFile("大文件.xlsx", b"x" * 300 * 1024)}
    )

    # then
    assert response.status_code == 413
    text = response.json()["detail"] if api else response.content.decode()
    assert "超过 0.25 MB 上限" in text and "未保存任何内容" in text
    if not api:
        html = text
        assert "提交的内容过大" in html
        assert 'lang="zh-CN"' in html
    assert not ImportJob.objects.exists() and _visit_rows() == rows
    assert _media_files(settings) == files


@pytest.mark.django_db
def test_json_body_over_the_limit_is_413_in_chinese(users, settings):
    # given
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 64 * 1024
    api = APIClient()
    api.force_login(users["county_official"])

    # when
    response = api.post(
        "/api/disputes/", {"summary": "长" * 40_000, "parties": "张三"}, format="json"
    )

    # then
    assert response.status_code == 413
    assert "超过" in response.json()["detail"] and "上限" in response.json()["detail"]


@pytest.mark.django_db
def test_too_many_fields_is_a_chinese_400_not_a_500(client, users, settings):
    # given
    client.force_login(users["county_official"])
    fields = {f"f{i}": "1" for i in range(settings.DATA_UPLOAD_MAX_NUMBER_FIELDS + 1)}

    # when
    page = client.post("/visits/review/approve/", fields)
    api = APIClient()
    api.force_login(users["county_official"])
    # (the token login takes forms; the ledgers take JSON only and answer a form with 415)
    api_answer = api.post("/api/auth/token/", fields, format="multipart")

    # then
    assert page.status_code == 400
    assert "请求无法处理" in page.content.decode()
    assert api_answer.status_code == 400
    assert "字段过多" in api_answer.json()["detail"]


@pytest.mark.django_db
def test_a_long_form_field_inside_a_multipart_body_is_a_chinese_400(client, users, settings):
    # given: under the multipart cap, but one text field is over DATA_UPLOAD_MAX_MEMORY_SIZE
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 32 * 1024
    client.force_login(users["cadre_user"])
    rows = _visit_rows()

    # when
    response = client.post("/visits/new/", {"notes": "长" * 20_000, "date": "2024-05-14"})

    # then
    assert response.status_code == 400
    assert "请求无法处理" in response.content.decode()
    assert _visit_rows() == rows


@pytest.mark.django_db
def test_too_many_files_is_a_chinese_400(client, users, settings):
    from django.core.files.uploadedfile import SimpleUploadedFile

    client.force_login(users["cadre_user"])
    photos = [
        SimpleUploadedFile(f"{i}.png", _image_bytes("PNG"))
        for i in range(settings.DATA_UPLOAD_MAX_NUMBER_FILES + 1)
    ]

    response = client.post("/visits/new/", {"photos": photos})

    assert response.status_code == 400
    assert "请求无法处理" in response.content.decode()


# ===== django-axes: a locked account is locked on every way in =====
#
# tests/test_security.py proves the portal login locks after 5 failures, per account. Here:
# the same lock holds on the admin's login and on the API's token login, whichever of the
# three the failures came through, and each says so in Chinese.

LOGIN_WAYS = {
    "portal": "/accounts/login/",
    "admin": "/admin/login/",
    "api token": "/api/auth/token/",
}


@pytest.fixture
def staff_account(db):
    from tests.factories import UserFactory

    user = UserFactory(username="locked_staff", is_staff=True, is_superuser=True)
    user.set_password("correct-horse-42")
    user.save()
    return user


def _attempt(client, way: str, password: str):
    data = {"username": "locked_staff", "password": password}
    if way == "admin":
        data["next"] = "/admin/"
    return client.post(LOGIN_WAYS[way], data)


@pytest.mark.django_db
@pytest.mark.parametrize("failed_on", list(LOGIN_WAYS))
@pytest.mark.parametrize("then_on", list(LOGIN_WAYS))
def test_lockout_holds_on_every_login(axes_on, client, staff_account, failed_on, then_on):
    from rest_framework.authtoken.models import Token

    # given
    for i in range(5):
        _attempt(client, failed_on, f"wrong-{i}")

    # when: the right password, through any way in
    response = _attempt(client, then_on, "correct-horse-42")

    # then
    assert response.status_code == 429
    if then_on == "api token":
        detail = response.json()["detail"]
        assert "账号已被临时锁定" in detail and "5 次" in detail
    else:
        html = response.content.decode()
        assert "登录失败次数过多" in html and "账号已被临时锁定" in html
    assert "_auth_user_id" not in client.session
    assert not Token.objects.filter(user=staff_account).exists()


@pytest.mark.django_db
@pytest.mark.parametrize("way", list(LOGIN_WAYS))
def test_four_failures_do_not_lock_any_login(axes_on, client, staff_account, way):
    from rest_framework.authtoken.models import Token

    for i in range(4):
        failed = _attempt(client, way, f"wrong-{i}")
        assert failed.status_code in (200, 400)  # the form again / the API's Chinese 400

    response = _attempt(client, way, "correct-horse-42")

    if way == "api token":
        assert response.status_code == 200
        assert response.json()["token"] == Token.objects.get(user=staff_account).key
    else:
        assert response.status_code == 302
        assert int(client.session["_auth_user_id"]) == staff_account.pk


@pytest.mark.django_db
def test_the_api_token_failure_message_is_chinese(axes_on, client, staff_account):
    response = _attempt(client, "api token", "wrong")

    assert response.status_code == 400
    assert response.json()["non_field_errors"] == ["无法使用提供的认证信息登录。"]


# ===== production settings: HSTS, Secure / HttpOnly / SameSite cookies =====
#
# tests/test_security.py checks the values of the settings; here the production settings
# module answers real requests (in a subprocess, on a throwaway SQLite file), and the
# headers and cookies a browser receives are read.

PROBE_RESPONSES = """
import json, django
django.setup()
from django.conf import settings
from django.contrib.sessions.middleware import SessionMiddleware
from django.core.management import call_command
from django.http import HttpResponse
from django.test import Client, RequestFactory

call_command("migrate", "sessions", verbosity=0)
client = Client()
plain = client.get("/accounts/login/")
secure = client.get("/accounts/login/", HTTP_X_FORWARDED_PROTO="https")

def writes_the_session(request):
    request.session["probe"] = 1
    return HttpResponse("ok")

request = RequestFactory().get("/", HTTP_X_FORWARDED_PROTO="https")
with_session = SessionMiddleware(writes_the_session)(request)

def cookie(response, name):
    morsel = response.cookies[name]
    return {"secure": bool(morsel["secure"]), "httponly": bool(morsel["httponly"]),
            "samesite": morsel["samesite"], "max_age": morsel["max-age"]}

print(json.dumps({
    "plain": [plain.status_code, plain.get("Location")],
    "status": secure.status_code,
    "hsts": secure.get("Strict-Transport-Security"),
    "csp": secure.get("Content-Security-Policy"),
    "csrf": cookie(secure, settings.CSRF_COOKIE_NAME),
    "session": cookie(with_session, settings.SESSION_COOKIE_NAME),
}))
"""


def test_production_answers_with_hsts_and_locked_down_cookies(tmp_path):
    import json

    from tests.test_security import _run_production

    # when
    result = _run_production(
        PROBE_RESPONSES,
        SECRET_KEY="prod-like-secret-" + "x" * 40,
        ALLOWED_HOSTS="testserver",
        DATABASE_URL=f"sqlite:///{tmp_path / 'probe.sqlite3'}",
    )

    # then
    assert result.returncode == 0, result.stderr
    seen = json.loads(result.stdout.strip().splitlines()[-1])
    assert seen["plain"] == [301, "https://testserver/accounts/login/"]
    assert seen["status"] == 200
    hsts = dict(
        (part.strip().partition("=")[0], part.strip().partition("=")[2])
        for part in seen["hsts"].split(";")
    )
    assert 31536000 <= int(hsts["max-age"]) <= 2 * 31536000  # one to two years
    assert "includeSubDomains" in hsts
    assert seen["csrf"]["secure"] and seen["csrf"]["samesite"] == "Lax"
    assert seen["session"]["secure"] and seen["session"]["httponly"]
    assert seen["session"]["samesite"] == "Lax"
    assert seen["session"]["max_age"] == 8 * 60 * 60
    script_src = next(d for d in seen["csp"].split(";") if d.strip().startswith("script-src"))
    assert "'nonce-" in script_src and "unsafe" not in script_src


# ===== bandit =====


def test_bandit_finds_nothing_of_medium_or_high_severity():
    import subprocess
    import sys
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    bandit = Path(sys.executable).with_name("bandit")
    result = subprocess.run(
        [str(bandit), "-c", "pyproject.toml", "-r", ".", "-ll", "-q", "-f", "txt"],
        cwd=root,
        capture_output=True,
        text=True,
        timeout=300,
    )

    assert result.returncode == 0, result.stdout + result.stderr


def test_every_nosec_says_why():
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    skip = {"tests", "migrations", "static", "staticfiles", "media"}
    # the project's own files (git knows them), not whatever venvs lie in the checkout
    tracked = subprocess.run(
        ["git", "ls-files", "*.py"], cwd=root, capture_output=True, text=True, check=True
    ).stdout.split()
    assert "manage.py" in tracked
    bare = []
    for name in tracked:
        path = root / name
        if skip & set(path.relative_to(root).parts):
            continue
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if "# nosec" in line and not re.search(r"# nosec B\d{3}(,B\d{3})* # \S.{10,}", line):
                bare.append(f"{path.relative_to(root)}:{number}")
    assert not bare, f"a # nosec needs its test id and a reason: {bare}"


# ===== the reverse proxy's body cap is documented and matches the portal's =====


def test_readme_and_compose_document_the_proxy_body_cap(settings):
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    cap = f"client_max_body_size {settings.UPLOAD_MAX_REQUEST_SIZE // MB}m;"
    readme = (root / "README.md").read_text(encoding="utf-8")
    deployment = readme.split("## Production deployment")[1].split("\n## ")[0]
    assert cap in deployment
    assert "413" in deployment
    compose = (root / "docker-compose.yml").read_text(encoding="utf-8")
    assert f"client_max_body_size {settings.UPLOAD_MAX_REQUEST_SIZE // MB}m" in compose


# ===== CSP: every page reachable by GET, for every role =====
#
# A crawler signs in as each role and opens, by GET, every URL pattern that needs no
# object (and /, /api/, /api/docs/, /admin/), then follows every same-site link (`href`,
# `hx-get`, GET forms, redirects) up to PER_ROUTE different URLs of each pattern: list,
# detail, edit and history pages, the browsable API (asked for text/html, as a browser
# does), the admin, htmx fragments (with HX-Request), error pages, and downloads. Every
# HTML answer is read for
#   - an executable <script> without the response's nonce, or any executable script in an
#     htmx fragment (a fresh nonce cannot match the page it is swapped into),
#   - an event-handler attribute (on…=, hx-on…) or a `javascript:` / `js:` URL or value,
#   - a <style> block where the policy does not allow inline styles (style attributes are
#     checked in the portal's own templates below: DRF's and the admin's have a few, which
#     the policy merely ignores),
#   - a policy whose script-src has no nonce, or allows 'unsafe-inline' / 'unsafe-eval';
# and no answer may be a 500. A second test checks that the crawls together reached every
# URL pattern answering GET. Every response body (workbooks opened) also feeds the check
# that no personal number is shown whole to a role that may only see it masked.

import collections  # noqa: E402
from html.parser import HTMLParser  # noqa: E402
from urllib.parse import urldefrag, urljoin, urlsplit  # noqa: E402

PER_ROUTE = 1
ROLES = [*PERSONAL_VISIBILITY, "anonymous"]
EXECUTABLE_SCRIPT_TYPES = {"", "text/javascript", "application/javascript", "module"}
URL_LIKE = re.compile(r"^\s*(javascript|vbscript)\s*:", re.IGNORECASE)


def csp_of(response) -> dict[str, list[str]]:
    directives = {}
    for part in (response.get("Content-Security-Policy") or "").split(";"):
        words = part.split()
        if words:
            directives[words[0]] = words[1:]
    return directives


class PageAudit(HTMLParser):
    """Reads one HTML answer: its problems, and the same-site links to follow."""

    def __init__(self, *, nonce: str | None, fragment: bool, inline_styles_allowed: bool):
        super().__init__(convert_charrefs=True)
        self.nonce = nonce
        self.fragment = fragment
        self.inline_styles_allowed = inline_styles_allowed
        self.problems: list[str] = []
        self.links: list[tuple[str, bool]] = []  # (url, as an htmx request)
        self._form_get: str | None = None

    def handle_starttag(self, tag, attrs):
        values = {name: value or "" for name, value in attrs}
        for name, value in values.items():
            if re.fullmatch(r"on[a-z]+", name) or name.startswith(("hx-on", "data-hx-on")):
                self.problems.append(f"inline event handler <{tag} {name}=…>")
            if URL_LIKE.match(value) or (
                name in ("hx-vals", "hx-headers", "data-hx-vals")
                and value.strip().startswith("js:")
            ):
                self.problems.append(f"script URL <{tag} {name}={value[:40]!r}>")
        if tag == "script":
            kind = values.get("type", "").strip().lower()
            if kind in EXECUTABLE_SCRIPT_TYPES:
                if self.fragment:
                    self.problems.append("executable <script> in an htmx fragment")
                elif "src" in values:
                    if urlsplit(values["src"]).netloc:
                        self.problems.append(f"script from another site: {values['src']}")
                elif values.get("nonce") != self.nonce:
                    self.problems.append("inline <script> without the response's nonce")
        if tag == "style" and not self.inline_styles_allowed:
            self.problems.append("<style> block (blocked by the CSP)")
        if tag == "a" and values.get("href"):
            self.links.append((values["href"], False))
        for name in ("hx-get", "data-hx-get"):
            if values.get(name):
                self.links.append((values[name], True))
        if tag == "form" and values.get("method", "get").lower() == "get":
            self.links.append((values.get("action") or "", False))


def _audit(response, url: str, fragment: bool) -> tuple[list[str], list[tuple[str, bool]]]:
    policy = csp_of(response)
    script_src = policy.get("script-src", policy.get("default-src", []))
    problems = []
    if not script_src:
        problems.append("no script-src in the CSP")
    for bad in ("'unsafe-inline'", "'unsafe-eval'", "'unsafe-hashes'", "*", "data:"):
        if bad in script_src:
            problems.append(f"script-src allows {bad}")
    # django-csp puts a nonce in the policy only when the page used one
    nonces = [s[7:-1] for s in script_src if s.startswith("'nonce-")]
    if len(nonces) > 1:
        problems.append("script-src has several nonces")
    style_src = policy.get("style-src", policy.get("default-src", []))
    audit = PageAudit(
        nonce=nonces[0] if nonces else None,
        fragment=fragment,
        inline_styles_allowed="'unsafe-inline'" in style_src,
    )
    audit.feed(response.content.decode("utf-8", "replace"))
    audit.close()
    return problems + audit.problems, audit.links


def _body_text(response) -> str:
    """What a response shows: its text, or every cell of a workbook."""
    kind = response.get("Content-Type", "")
    body = b"".join(response.streaming_content) if response.streaming else response.content
    if "spreadsheetml" in kind or body[:4] == ZIP_HEAD:
        try:
            book = openpyxl.load_workbook(io.BytesIO(body), read_only=True)
        except Exception:  # noqa: BLE001 - not a workbook after all
            return ""
        return "\n".join(
            str(v) for s in book.worksheets for row in s.iter_rows(values_only=True) for v in row
        )
    if kind.startswith(("text/", "application/json")):
        return body.decode("utf-8", "replace")
    return ""


def _all_routes() -> list[str]:
    """Every URL pattern of the project, as one string each (prefixes joined), in order."""
    from django.urls import URLPattern, URLResolver, get_resolver

    def walk(patterns, prefix=""):
        for p in patterns:
            if isinstance(p, URLResolver):
                yield from walk(p.url_patterns, prefix + str(p.pattern))
            elif isinstance(p, URLPattern):
                yield prefix + str(p.pattern)

    return list(dict.fromkeys(walk(get_resolver().url_patterns)))


def _static_seeds() -> list[str]:
    """Every URL pattern that needs no object, and the entry points."""
    seeds = ["/", "/api/", "/api/docs/", "/api/schema/", "/admin/", "/accounts/login/"]
    for route in _all_routes():
        path = route.replace("^", "").replace("$", "")
        if not re.search(r"[<(\[\\?*+]", path):
            seeds.append("/" + path)
    return list(dict.fromkeys(seeds))


def route_key(route: str) -> str:
    """A URL pattern as resolve() reports it (regex parts lose their leading ^)."""
    return route.replace("^", "")


def _api_detail_urls(list_path: str, body: bytes) -> list[str]:
    """The API answers with ids, not links: the first listed id gives the object's URL
    and its actions'."""
    import json

    try:
        data = json.loads(body)
    except ValueError:
        return []
    rows = data.get("results", data) if isinstance(data, dict) else data
    if not (isinstance(rows, list) and rows and isinstance(rows[0], dict) and "id" in rows[0]):
        return []
    pk = rows[0]["id"]
    prefix = list_path.strip("/") + "/"
    urls = []
    for route in _all_routes():
        plain = route_key(route)
        if plain.startswith(prefix + "(?P<pk>") and "(?P<format>" not in plain:
            rest = plain.split(")", 1)[1].removesuffix("$")
            urls.append(f"/{prefix}{pk}{rest}")
    return urls


def crawl(client, seeds=()) -> dict:
    """Open the site as `client` sees it: {route: [(url, status)]}, the problems found,
    and every response text."""
    from django.urls import Resolver404, resolve

    queue = collections.deque((url, False) for url in [*_static_seeds(), *seeds])
    seen_urls: set[tuple[str, bool]] = set()
    routes: dict[str, list] = collections.defaultdict(list)
    problems: dict[str, list[str]] = {}
    texts: dict[str, str] = {}
    while queue:
        url, hx = queue.popleft()
        url = urldefrag(url)[0]
        parts = urlsplit(url)
        if parts.netloc not in ("", "testserver") or not parts.path.startswith("/"):
            continue
        if parts.path.startswith(("/static/", "/media/")) or (url, hx) in seen_urls:
            continue
        try:
            match = resolve(parts.path)
        except Resolver404:
            continue
        key = route_key(match.route) + (" [htmx]" if hx else "")
        if len(routes[key]) >= PER_ROUTE:
            continue
        seen_urls.add((url, hx))
        headers = {"HTTP_ACCEPT": "text/html,application/xhtml+xml,*/*;q=0.8"}
        if hx:
            headers["HTTP_HX_REQUEST"] = "true"
        response = client.get(url, **headers)
        routes[key].append((url, response.status_code))
        texts[url] = _body_text(response)
        if response.status_code >= 500:
            problems[url] = [f"answered {response.status_code}"]
            continue
        if response.status_code in (301, 302, 303, 307, 308):
            queue.append((urljoin(url, response["Location"]), False))
            continue
        if parts.path.startswith("/api/") and response.status_code == 200 and not hx:
            as_json = client.get(parts.path, HTTP_ACCEPT="application/json")
            body = b"" if as_json.streaming else as_json.content
            for detail in _api_detail_urls(parts.path, body):
                queue.append((detail, False))
        if not response.get("Content-Type", "").startswith("text/html"):
            continue
        found, links = _audit(response, url, fragment=hx and "<html" not in texts[url][:500])
        if found:
            problems[url] = found
        for href, as_hx in links:
            queue.append((urljoin(url, href), as_hx))
    return {"routes": dict(routes), "problems": problems, "texts": texts}


@pytest.fixture
def crawl_world(area, users, personal_records, django_capture_on_commit_callbacks):
    """`area` with a record of every kind in county A (and B), so that every detail, edit,
    history and download page has something to show."""
    import datetime

    from django.contrib.auth import get_user_model
    from django.core.files.uploadedfile import SimpleUploadedFile
    from django.utils.timezone import now

    from accounts.services import credentials_issue
    from dashboards.models import Target
    from dashboards.services import compute_snapshots
    from disputes.models import ZeroReport
    from disputes.services import sanling_recompute
    from stars.models import StarAward, StarTask, StarType
    from stars.schemes import ensure_star_types
    from tests.disputes.factories import HazardFactory, IncidentFactory, UnitFactory
    from tests.factories import AssignmentFactory, CadreFactory
    from tests.imports.builders import village_values, villages_xlsx
    from tests.stars.factories import StarAwardFactory, WeakCaseFactory, star
    from tests.visits.helpers import ProblemFactory, VisitFactory
    from villages.models import ProgrammeYear
    from villages.services import export_job_create, import_job_create, programme_year_open
    from visits.services import visit_create

    D = datetime.date
    ensure_star_types(StarType, StarTask)
    v, b = area.villages, area.branches
    visit, _ = visit_create(
        actor=users["cadre_user"],
        client_uuid="7d1f4c0e-0000-4000-8000-000000000001",
        village=v["a1v1"],
        date=D(2024, 5, 14),
        day_part="full",
        activities=["meeting"],
        meetings=1,
        photos=[SimpleUploadedFile("现场.png", _image_bytes("PNG"))],
    )
    VisitFactory(cadre=area.cadres["lx_a2"], village=v["a2v1"], date=D(2024, 5, 15))
    VisitFactory(cadre=area.cadres["b1v1"], village=v["b1v1"], date=D(2024, 5, 15))
    for label in ("a1v1", "a2v1", "b1v1"):
        ProblemFactory(village=v[label])
        IncidentFactory(village=v[label])
        HazardFactory(village=v[label])
        UnitFactory(village=v[label])
    StarAwardFactory(branch=b["a1v1"], star_type=star("rural", "branch"))
    StarAwardFactory(
        branch=b["a1v2"], star_type=star("rural", "branch"), state=StarAward.State.APPLIED
    )
    WeakCaseFactory(branch=b["a2v1"])
    ZeroReport.objects.create(
        village=v["a1v2"], month=D(2024, 4, 1), reported_by=users["cadre_user"]
    )
    Target.objects.create(
        year=2024, indicator="dispute_resolution_rate", comparison="gte", threshold=97
    )
    sanling_recompute(year=2024)
    compute_snapshots(year=2024)
    # a login opened by the roster import, and the county's 开通通知 (its pages: the sheet,
    # the printable slips, the workbook) reached from 账号管理 by the official who made it
    newcomer = CadreFactory(work_unit=area.units["A"])
    AssignmentFactory(cadre=newcomer, village=v["a1v2"])
    # no password: create_user leaves it unusable, as the roster import does
    newcomer.user = get_user_model().objects.create_user(newcomer.phone, first_name=newcomer.name)
    newcomer.save(update_fields=["user"])
    credentials_issue(actor=users["county_official"])
    # 2023 closed (its reopen page); 2024 opened with 2023's links carried forward for
    # the counties (the pages that list and change them)
    AssignmentFactory(cadre=area.cadres["a1v1"], village=v["a1v1"], year=2023)
    AssignmentFactory(cadre=area.cadres["b1v1"], village=v["b1v1"], year=2023)
    ProgrammeYear.objects.create(year=2023, status=ProgrammeYear.Status.CLOSED, closed_at=now())
    programme_year_open(actor=users["city_admin"], year=2024)
    with django_capture_on_commit_callbacks(execute=True):
        import_job_create(
            actor=users["city_admin"],
            kind="villages",
            upload=SimpleUploadedFile(
                "名册.xlsx",
                villages_xlsx(
                    [
                        village_values(v["a1v1"], population=777),
                        village_values(v["a1v2"], 户数="很多"),  # an error to mark
                    ]
                ),
            ),
        )
        for who in PERSONAL_VISIBILITY:
            if who != "no_role_user":
                for kind in ("disputes", "petitions"):
                    export_job_create(actor=users[who], kind=kind)
    return area


def _crawl_as(who, users, client):
    if who in ADMIN_ROLE:
        user = users[who]
        user.is_staff = True
        user.save(update_fields=["is_staff"])
        user.groups.add(role_groups()[ADMIN_ROLE[who]])
    seeds = []
    if who != "anonymous":
        from core.models import ExportJob

        client.force_login(users[who])
        # an export's page is reached from the form that makes it (a POST): open the user's own
        seeds = [
            f"/exports/{pk}/"
            for pk in ExportJob.objects.filter(user=users[who]).values_list("pk", flat=True)
        ]
    return crawl(client, seeds)


CRAWLS: dict[str, dict] = {}


@pytest.mark.django_db
@pytest.mark.embedded_pass
@pytest.mark.parametrize("who", ROLES)
def test_every_page_keeps_to_the_csp(who, users, crawl_world, client):
    # when
    result = _crawl_as(who, users, client)
    CRAWLS[who] = result

    # then
    pages = sum(len(v) for v in result["routes"].values())
    assert pages > 10, result["routes"]
    assert not result["problems"], "\n".join(
        f"{url}: {'; '.join(found)}" for url, found in result["problems"].items()
    )
    # and no personal number reaches a role whole that may only see it masked, or at all
    visible = PERSONAL_VISIBILITY.get(who, {})
    for label in LABELS:
        if visible.get(label):
            continue
        for number in all_numbers(label):
            leaks = [url for url, text in result["texts"].items() if number in text]
            assert not leaks, f"{who} reads {label}'s {number} whole on {leaks}"


def _probe_url(route: str) -> str | None:
    """A URL of `route` for a route no crawl reached: the admin's object routes with the
    model's first row (None when it has none), other routes with placeholder values."""
    from django.apps import apps

    plain = route_key(route)
    admin_object = re.match(r"admin/(\w+)/(\w+)/(<path:object_id>|\(\[/\]\+\))", plain)
    values = ["0", "0"]  # no row has id 0: outside the admin, only a POST-only route passes
    if admin_object:
        model = apps.get_model(admin_object[1], admin_object[2])
        obj = model._default_manager.first()
        if obj is None:
            return None
        values = [str(obj.pk)]
        if hasattr(model, "history"):
            pk = model._meta.pk.attname
            live = model._default_manager.values("pk")
            row = model.history.filter(**{f"{pk}__in": live}).order_by("history_id").first()
            if row is not None:
                values = [str(getattr(row, pk)), str(row.history_id)]
            elif "history/(" in plain:
                return None  # no past version to open
    values = iter(values)
    path = re.sub(r"<(?:\w+:)?\w+>|\([^)]*\)", lambda m: next(values, "0"), plain)
    return "/" + path.replace("$", "")


# Routes that are no page, each with the reason. The test below also accepts, without
# listing them here, every route that answers a superuser 403 or 405 (forms' POST targets,
# actions nobody may take), the admin's object routes of a model without rows, and the
# format-suffix copies of the API's routes.
NOT_A_PAGE = {
    r"admin/\w+/\w+/<path:object_id>/": "the admin's redirect of an old change URL",
    r"admin/\(\?P<url>\.\*\)\$": "the admin's catch-all (404 or a redirect)",
    r"admin/r/<path:content_type_id>/<path:object_id>/": "the admin's view-on-site redirect",
    r"api/\.\*/\$": "the API's JSON 404 for any unknown /api/ address",
}


@pytest.mark.django_db
def test_the_crawls_reach_every_page(users, crawl_world):
    from django.test import Client

    # given: the crawls of the test above (made again here when run alone)
    for who in ROLES:
        if who not in CRAWLS:
            CRAWLS[who] = _crawl_as(who, users, Client())
    reached = {
        route.removesuffix(" [htmx]") for crawl_ in CRAWLS.values() for route in crawl_["routes"]
    }
    root = Client()
    root.force_login(users["superuser"])

    # when: a route no crawl reached is opened by the superuser, and read like the others
    missing, problems, probed = [], {}, 0
    for route in _all_routes():
        plain = route_key(route)
        if plain in reached or any(re.fullmatch(p, plain) for p in NOT_A_PAGE):
            continue
        if "(?P<format>" in plain or "<drf_format_suffix:format>" in plain:
            continue
        url = _probe_url(route)
        if url is None:
            continue
        response = root.get(url, HTTP_ACCEPT="text/html,*/*;q=0.8")
        if response.status_code in (403, 405):
            continue
        if response.status_code == 200:
            probed += 1
            if response.get("Content-Type", "").startswith("text/html"):
                found, _ = _audit(response, url, fragment=False)
                if found:
                    problems[url] = found
            continue
        missing.append(f"{route} ({url} → {response.status_code})")

    # then
    assert not missing, "no crawl rendered these GET pages:\n" + "\n".join(missing)
    assert not problems, problems
    pages = sum(len(v) for crawl_ in CRAWLS.values() for v in crawl_["routes"].values())
    assert pages > 500 and probed < 50, (pages, probed)


def test_the_portals_own_templates_and_scripts_need_no_inline_code():
    """Every template of the portal, including fragments no crawl can tell apart: every
    <script> carries the nonce, and no handler, `javascript:` URL or inline style; the
    portal's own JavaScript never evaluates strings (the CSP has no 'unsafe-eval')."""
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    problems = []
    for path in sorted((root / "templates").rglob("*.html")):
        text = re.sub(r"{#.*?#}|{% comment %}.*?{% endcomment %}", "", path.read_text(), flags=re.S)
        name = path.relative_to(root)
        for tag in re.findall(r"<script\b[^>]*>", text, flags=re.I):
            if "application/json" not in tag and 'nonce="{{ request.csp_nonce }}"' not in tag:
                problems.append(f"{name}: {tag} has no nonce")
        for pattern, what in (
            (r"\son[a-z]+\s*=", "event handler attribute"),
            (r"\shx-on", "htmx inline handler"),
            (r"javascript:", "javascript: URL"),
            (r"\sstyle\s*=|<style\b", "inline style"),
        ):
            if re.search(pattern, text, flags=re.I):
                problems.append(f"{name}: {what}")
    for path in sorted((root / "static" / "js").rglob("*.js")):
        text = path.read_text()
        for pattern in (
            r"\beval\s*\(",
            r"new\s+Function\s*\(",
            r"set(Timeout|Interval)\s*\(\s*['\"`]",
        ):
            if re.search(pattern, text):
                problems.append(f"{path.relative_to(root)}: evaluates a string ({pattern})")
    assert not problems, problems
