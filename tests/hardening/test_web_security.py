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

import openpyxl
import pytest
from rest_framework.test import APIClient

from disputes.services import dispute_update, petition_update
from tests.disputes.factories import DisputeFactory, PetitionFactory
from villages.demo import role_groups
from villages.models import ExportJob

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
        dispute_update(
            actor=admin,
            dispute=dispute,
            party_id_numbers=n["party_id"][1],
            party_phones=n["party_phone"][1],
        )
        petition_update(
            actor=admin,
            petition=petition,
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

    from villages.models import ImportJob

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

    from villages.admin import PipelineImportMixin
    from villages.models import ImportJob, UserRole

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
    from villages.importing.reader import MAX_BYTES as IMPORT_MAX
    from visits.services import MAX_PHOTO_BYTES, MAX_PHOTOS

    # the largest legitimate body fits: 3 photos of 8 MB with the form, one workbook
    assert settings.UPLOAD_MAX_REQUEST_SIZE >= MAX_PHOTOS * MAX_PHOTO_BYTES + 64 * 1024
    assert settings.UPLOAD_MAX_REQUEST_SIZE >= IMPORT_MAX + 64 * 1024
    assert settings.UPLOAD_MAX_REQUEST_SIZE <= 32 * MB
    assert 64 * 1024 <= settings.DATA_UPLOAD_MAX_MEMORY_SIZE <= 5 * MB
    assert settings.FILE_UPLOAD_MAX_MEMORY_SIZE <= 10 * MB
    assert 300 < settings.DATA_UPLOAD_MAX_NUMBER_FIELDS <= 2000
    assert MAX_PHOTOS < settings.DATA_UPLOAD_MAX_NUMBER_FILES <= 20
    assert "xuchang_portal.middleware.RequestBodyLimitMiddleware" in settings.MIDDLEWARE


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

    from villages.models import ImportJob

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
    api_answer = api.post("/api/disputes/", fields, format="multipart")

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
def axes_on(settings):
    from axes.utils import reset

    settings.AXES_ENABLED = True
    reset()
    yield
    reset()


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
    skip = {".venv", "tests", "migrations", "static", "staticfiles", "media", ".git"}
    bare = []
    for path in root.rglob("*.py"):
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
