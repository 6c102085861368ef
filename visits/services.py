"""Writes for 双十工作日: keyword-only, `actor=` first, atomic, audited (history rows and the
visit's review events)."""

from __future__ import annotations

import datetime
import io
import math
import os
import re
import struct
import uuid as uuid_lib
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.base import ContentFile
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from PIL import Image, ImageOps, UnidentifiedImageError

from core import jobs
from villages.geo import haversine_km, median
from villages.models import UserRole, Village
from villages.selectors import (
    cadre_village_links,
    location_list_for_user,
    scope_for_user,
    village_list_for_user,
)
from villages.services import location_proposal_store
from visits import watermark
from visits.models import Problem, Visit, VisitEvent, VisitPhoto, WorkdayRule
from visits.selectors import (
    approved_fixes_by_village,
    problem_can_write,
    visit_can_review,
    visit_edit_refusal,
    visit_list_for_user,
)

FLAG_DISTANCE_KM = 5
MAX_PHOTOS = 3
MAX_VISIT_PROBLEMS = 5
MAX_PHOTO_BYTES = 8 * 1024 * 1024
PHOTO_MAX_SIDE = 1600
MAX_PHOTO_PIXELS = 40_000_000
# What phones and screenshots produce (JPEG covers the MPO files of some cameras).
PHOTO_FORMATS = ("JPEG", "PNG", "WEBP", "GIF", "BMP")
MB = 1024 * 1024
THUMBNAIL_SIDE = 240
# A photo's own time and place, read from its EXIF in the browser: each value is text of at
# most this length, else it is dropped (a broken EXIF never refuses the photo).
MAX_EXIF_TEXT = 64
# No phone photo predates this; a camera clock reset to 1970 or 1980 is a broken value.
PHOTO_TIME_FLOOR = datetime.datetime(2000, 1, 1, tzinfo=datetime.UTC)
PHOTO_CLOCK_SLACK = datetime.timedelta(days=1)  # a phone clock a little ahead of ours
PHOTO_TIME_FLAG_AFTER = datetime.timedelta(hours=24)  # before the start of the visit's day
EXIF_DATETIME = re.compile(r"^(\d{4}):(\d{2}):(\d{2})([ T])")  # "2024:05:14 09:30:00"
WEEKDAYS = "一二三四五六日"

VISIT_FIELDS = (
    "date",
    "day_part",
    "activities",
    "meetings",
    "people_reached",
    "households_visited",
    "notes",
    "latitude",
    "longitude",
)


def _distance_km(lat1, lon1, lat2, lon2) -> float:
    """Great-circle distance (haversine)."""
    return haversine_km(lat1, lon1, lat2, lon2)


def location_check(lat, lon, village_lat, village_lon) -> tuple[Decimal | None, bool]:
    """(distance to the village in km, to two places; whether it is flagged) for a fix
    and the village's coordinate; (None, False) when either is missing. The one rule,
    for a visit written here and for the demo's visits alike."""
    if lat is None or lon is None or village_lat is None or village_lon is None:
        return None, False
    km = _distance_km(lat, lon, village_lat, village_lon)
    return Decimal(f"{km:.2f}"), km > FLAG_DISTANCE_KM


def _cadre_id(actor) -> int:
    scope = scope_for_user(actor)
    if not scope.is_cadre or not scope.cadre_id:
        raise PermissionDenied(_("只有帮扶干部可以填报下沉记录。"))
    return scope.cadre_id


def _check_visit(visit: Visit, *, actor) -> None:
    """The rules a visit must keep, whoever writes it; raises ValidationError per field.
    Leaves `visit.village` and `visit.cadre` loaded."""
    errors: dict[str, list[str]] = {}
    today = timezone.localdate()
    village, links = cadre_village_links(user=actor, village_id=visit.village_id)
    if village is None:
        errors.setdefault("village", []).append(_("只能为自己的联系点填报。"))
    else:
        # the links are the actor's own assignments, loaded with their cadre: no query later
        visit.village, visit.cadre = village, links[0].cadre
        if visit.date and not any(a.start_date <= visit.date <= a.end_date for a in links):
            errors.setdefault("date", []).append(_("该日期不在您对这个联系点的联系期内。"))
    if visit.date and visit.date > today:
        errors.setdefault("date", []).append(_("日期不能晚于今天。"))
    unknown = [a for a in visit.activities if a not in Visit.Activity.values]
    if not visit.activities:
        errors.setdefault("activities", []).append(_("请至少选择一项工作内容。"))
    elif unknown:
        errors.setdefault("activities", []).append(_("未知的工作内容：%s") % "、".join(unknown))
    if (visit.latitude is None) != (visit.longitude is None):
        errors.setdefault("latitude", []).append(_("定位需要同时有纬度和经度。"))
    # The same ranges as the model's CHECK constraints, checked here without a query each.
    for name, limit, label in (("latitude", 90, _("纬度")), ("longitude", 180, _("经度"))):
        value = _decimal_or_none(getattr(visit, name))
        if value is not None and not -limit <= value <= limit:
            errors.setdefault(name, []).append(
                _("%(label)s必须在 -%(limit)d 到 %(limit)d 之间。")
                % {"label": label, "limit": limit}
            )
    if errors:
        raise ValidationError(errors)


def _decimal_or_none(value) -> Decimal | None:
    """A coordinate as given (number or text); None when absent or not a number (full_clean
    reports that)."""
    if value is None or value == "":
        return None
    try:
        return Decimal(str(value))
    except InvalidOperation:
        return None


def _set_fields(visit: Visit, fields: dict) -> None:
    for name in VISIT_FIELDS:
        if name in fields:
            setattr(visit, name, fields[name])
    if "village" in fields:  # an instance or an id: checked and loaded by _check_visit
        village = fields["village"]
        visit.village_id = village.pk if isinstance(village, Village) else village
    visit.activities = list(dict.fromkeys(visit.activities or []))


def _clean(visit: Visit) -> None:
    # cadre, village and creator are known to exist (checked above): no lookups for them.
    # The CHECK constraints are the coordinate ranges, already checked by _check_visit.
    visit.full_clean(
        exclude=["client_uuid", "cadre", "village", "created_by"], validate_constraints=False
    )


def _distance_from_village(latitude, longitude, village) -> tuple[Decimal | None, bool]:
    """(km from the village's own coordinate, whether that is more than 5 km); (None,
    False) when either position is unknown."""
    return location_check(latitude, longitude, village.latitude, village.longitude)


def _locate(visit: Visit) -> None:
    """Flag (never block) a fix more than 5 km from the village's own coordinate."""
    visit.distance_km, visit.location_flag = _distance_from_village(
        visit.latitude, visit.longitude, visit.village
    )


def photo_exif(*, taken_at=None, latitude=None, longitude=None) -> dict:
    """A photo's capture time and GPS fix as its EXIF gave them (text sent by the browser,
    or values), each bounded and checked: a malformed or implausible value is dropped on
    its own (None), never refused, and a fix needs both coordinates."""
    lat, lon = _exif_coordinate(latitude, 90), _exif_coordinate(longitude, 180)
    if lat is None or lon is None or (lat == 0 and lon == 0):  # 0, 0: a receiver's blank
        lat = lon = None
    return {"taken_at": _exif_time(taken_at), "latitude": lat, "longitude": lon}


def _exif_time(value) -> datetime.datetime | None:
    if isinstance(value, datetime.datetime):
        moment = value
    else:
        text = str(value or "").strip()
        if not text or len(text) > MAX_EXIF_TEXT:
            return None
        text = EXIF_DATETIME.sub(r"\1-\2-\3\4", text)
        try:
            moment = datetime.datetime.fromisoformat(text)
        except ValueError:
            return None
    if timezone.is_naive(moment):  # EXIF times are the phone's local time: 许昌's
        moment = timezone.make_aware(moment)
    try:
        plausible = PHOTO_TIME_FLOOR <= moment <= timezone.now() + PHOTO_CLOCK_SLACK
    except OverflowError:
        return None
    return moment if plausible else None


def _exif_coordinate(value, limit: int) -> Decimal | None:
    text = str(value if value is not None else "").strip()
    if not text or len(text) > MAX_EXIF_TEXT:
        return None
    try:
        number = Decimal(text)
    except InvalidOperation:
        return None
    if not number.is_finite() or not -limit <= number <= limit:
        return None
    return number.quantize(Decimal("0.000001"), rounding=ROUND_HALF_UP)


def _flag_photo(photo: VisitPhoto, visit: Visit) -> None:
    """Flag (never refuse) a photo taken more than 24 h before the visit's day began, or
    more than 5 km from the village (the visit's own location rule)."""
    photo.time_flag = False
    if photo.taken_at is not None and visit.date:
        day_start = timezone.make_aware(datetime.datetime.combine(visit.date, datetime.time.min))
        photo.time_flag = photo.taken_at < day_start - PHOTO_TIME_FLAG_AFTER
    photo.distance_km, photo.place_flag = _distance_from_village(
        photo.latitude, photo.longitude, visit.village
    )


def _watermark_lines(visit: Visit, photo: VisitPhoto, uploaded_at) -> list[str]:
    """What the band on a stored photo says: when (its capture time if the EXIF gave one,
    else the upload time, marked as such), where (township and village), who, and the GPS
    fix when known."""
    moment = timezone.localtime(photo.taken_at or uploaded_at)
    how = _("拍摄") if photo.taken_at else _("上传")
    village = visit.village
    lines = [
        f"{moment:%H:%M}  {moment:%Y-%m-%d} 星期{WEEKDAYS[moment.weekday()]}  {how}",
        f"{village.township.name} {village.name}",
        _("帮扶干部：%s") % visit.cadre.name,
    ]
    if photo.latitude is not None:
        lat, lon = photo.latitude, photo.longitude
        lines.append(
            f"{abs(lat):.6f}°{'N' if lat >= 0 else 'S'} {abs(lon):.6f}°{'E' if lon >= 0 else 'W'}"
        )
    return lines


def _photo_jpeg(upload, *, watermark_lines: list[str] | None = None) -> ContentFile:
    """Re-encode an uploaded image as JPEG, keeping its pixels only: no comment, EXIF
    (time, GPS, camera), XMP, ICC profile or PNG text travels from the upload into the
    stored file (the image is rebuilt from its pixels; its EXIF orientation is applied
    first, so it still stands upright), with `watermark_lines` burnt into a band along
    its bottom. Only the formats phones and screenshots produce are opened (never EPS,
    PDF and the like, which Pillow would hand to other programs), and an image claiming
    more pixels than a photo has (a decompression bomb) is refused before it is decoded."""
    name = os.path.basename(upload.name or "")
    if upload.size > MAX_PHOTO_BYTES:
        size = math.ceil(upload.size / MB * 10) / 10
        raise ValidationError(
            {
                "photos": _(
                    "照片“%(name)s”大小 %(size).1f MB，超过 %(limit)g MB 上限，请压缩后再上传。"
                )
                % {"name": name, "size": size, "limit": MAX_PHOTO_BYTES / MB}
            }
        )
    not_a_photo = _("“%(name)s”不是有效的图片（只接受 JPEG、PNG、WebP、GIF、BMP 格式）。") % {
        "name": name
    }
    too_many_pixels = ValidationError(
        {
            "photos": _("照片“%(name)s”像素过大（超过 %(limit)g 万像素），请缩小后再上传。")
            % {"name": name, "limit": MAX_PHOTO_PIXELS / 10_000}
        }
    )
    try:
        with Image.open(upload, formats=PHOTO_FORMATS) as img:
            img.verify()
        upload.seek(0)
        with Image.open(upload, formats=PHOTO_FORMATS) as img:
            if img.width * img.height > MAX_PHOTO_PIXELS:
                raise too_many_pixels
            img.draft("RGB", (PHOTO_MAX_SIDE, PHOTO_MAX_SIDE))  # JPEG: decode at reduced size
            rgb = img.convert("RGB")
        rgb.thumbnail((PHOTO_MAX_SIDE, PHOTO_MAX_SIDE))
        rgb = _upright(rgb)
        pixels = Image.new("RGB", rgb.size)
        pixels.paste(rgb)
        if watermark_lines:
            pixels = watermark.burn(pixels, watermark_lines)
        out = io.BytesIO()
        pixels.save(out, format="JPEG", quality=82)
    except Image.DecompressionBombError:
        raise too_many_pixels from None
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError):
        raise ValidationError({"photos": not_a_photo}) from None
    return ContentFile(out.getvalue(), name="photo.jpg")


def _thumbnail_jpeg(content: ContentFile) -> ContentFile:
    """A small JPEG of a stored (already re-encoded, so trusted and bounded) photo."""
    content.seek(0)
    with Image.open(content, formats=("JPEG",)) as img:
        img.draft("RGB", (THUMBNAIL_SIDE, THUMBNAIL_SIDE))
        small = img.convert("RGB")
    content.seek(0)
    small.thumbnail((THUMBNAIL_SIDE, THUMBNAIL_SIDE))
    out = io.BytesIO()
    small.save(out, format="JPEG", quality=75)
    return ContentFile(out.getvalue(), name="thumb.jpg")


def _upright(img: Image.Image) -> Image.Image:
    """The image turned as its EXIF orientation says; as it is if that cannot be read."""
    try:
        return ImageOps.exif_transpose(img)
    except (SyntaxError, ValueError, OSError, KeyError, TypeError, struct.error):
        return img


def _event(visit: Visit, action: str, actor, comment: str = "") -> VisitEvent:
    """One step of the review exchange, with its own history row (by `actor`)."""
    event = VisitEvent(visit=visit, action=action, actor=actor, comment=comment)
    event._history_user = actor
    event.save()
    return event


def _nth(values, index: int):
    values = values or ()
    return values[index] if index < len(values) else None


def _save_photos(
    visit: Visit, photos, *, taken_at=(), latitude=(), longitude=()
) -> list[VisitPhoto]:
    """Store `photos` with the EXIF time and GPS the browser read from each (the lists
    `taken_at`, `latitude`, `longitude`, in the order of the photos; any value may be
    missing or broken, and is then left out), watermarked, flagged, with a thumbnail."""
    photos = list(photos or [])
    if not photos:
        return []
    if len(photos) + visit.photos.count() > MAX_PHOTOS:
        raise ValidationError({"photos": _("每条记录最多 %d 张照片。") % MAX_PHOTOS})
    uploaded_at = timezone.now()
    rows = []
    for index in range(len(photos)):
        exif = photo_exif(
            taken_at=_nth(taken_at, index),
            latitude=_nth(latitude, index),
            longitude=_nth(longitude, index),
        )
        photo = VisitPhoto(visit=visit, **exif)
        _flag_photo(photo, visit)
        rows.append(photo)
    # all checked before any is stored
    encoded = [
        _photo_jpeg(upload, watermark_lines=_watermark_lines(visit, photo, uploaded_at))
        for upload, photo in zip(photos, rows, strict=True)
    ]
    for photo, content in zip(rows, encoded, strict=True):
        photo._history_user = getattr(visit, "_history_user", None)
        photo.image.save(content.name, content, save=False)
        thumbnail = _thumbnail_jpeg(content)
        photo.thumbnail.save(thumbnail.name, thumbnail, save=False)
        photo.save()
    return rows


def _reflag_photos(visit: Visit) -> None:
    """The flags of a visit's stored photos again, after its date or village changed."""
    for photo in visit.photos.all():
        before = (photo.time_flag, photo.place_flag, photo.distance_km)
        _flag_photo(photo, visit)
        if (photo.time_flag, photo.place_flag, photo.distance_km) != before:
            photo._history_user = getattr(visit, "_history_user", None)
            photo.save(update_fields=["time_flag", "place_flag", "distance_km"])


def visit_create(
    *,
    actor,
    client_uuid,
    photos=(),
    problems=(),
    photo_taken_at=(),
    photo_latitude=(),
    photo_longitude=(),
    **fields,
) -> tuple[Visit, bool]:
    """Store a visit once per client-made UUID. A double tap, a retry or a resubmission
    after a time-out returns the visit already stored: (visit, created). `photo_*` are the
    photos' own EXIF time and GPS, one value per photo in their order (see _save_photos).

    `problems` are the 发现问题 rows sent with it ({"category", "description"} each): each
    becomes a problem of the ledger linked to the visit, by `problem_create`'s rules, in
    the same transaction; one bad row refuses the visit and names the row. A resent visit
    creates none again."""
    cadre_id = _cadre_id(actor)
    problems = list(problems or [])
    if len(problems) > MAX_VISIT_PROBLEMS:
        raise ValidationError({"problems": _("每条记录最多 %d 个发现问题。") % MAX_VISIT_PROBLEMS})
    client_uuid = uuid_lib.UUID(str(client_uuid))
    visit = Visit(client_uuid=client_uuid, cadre_id=cadre_id, created_by=actor)
    _set_fields(visit, fields)
    # A new submission is the common case: it is checked and inserted straight away, and
    # the unique client_uuid tells a copy of one already stored (no lookup beforehand).
    try:
        _check_visit(visit, actor=actor)
        _locate(visit)
        _clean(visit)
    except ValidationError:
        # A copy of a stored visit is answered with it, even if it would not pass today
        # (e.g. a retry arriving after the assignment ended).
        existing = Visit.objects.filter(client_uuid=client_uuid).first()
        if existing is None:
            raise
        return _same_sender(existing, cadre_id), False
    try:
        with transaction.atomic():
            visit._history_user = actor
            visit.save()
            event = _event(visit, VisitEvent.Action.SUBMIT, actor)
            _visit_problems(visit, problems, actor=actor)  # before the photos' files
            saved = _save_photos(
                visit,
                photos,
                taken_at=photo_taken_at,
                latitude=photo_latitude,
                longitude=photo_longitude,
            )
    except IntegrityError:
        # Already stored: a double tap, a retry, or two copies racing (the other one won).
        existing = Visit.objects.filter(client_uuid=client_uuid).first()
        if existing is None:
            raise
        return _same_sender(existing, cadre_id), False
    # The caller gets the new visit with its rows loaded, as a fresh read would give them.
    _loaded(visit, "photos", saved)
    _loaded(visit, "events", [event])
    return visit, True


def _visit_problems(visit: Visit, rows: list[dict], *, actor) -> None:
    """The 发现问题 rows of a new visit, as problems linked to it. A row with neither
    category nor description is an unused row and skipped (it keeps its number)."""
    for number, row in enumerate(rows, start=1):
        category = (row.get("category") or "").strip()
        description = (row.get("description") or "").strip()
        if not category and not description:
            continue
        try:
            problem_create(
                actor=actor,
                village=visit.village,
                visit=visit,
                category=category,
                description=description,
            )
        except ValidationError as exc:
            raise ValidationError(
                {
                    "problems": [
                        _("发现问题第%(number)d行：%(message)s")
                        % {"number": number, "message": message}
                        for message in exc.messages
                    ]
                }
            ) from None


def _loaded(instance, name: str, rows: list) -> None:
    """Mark the related rows `name` of `instance` as loaded, as prefetch_related() does, so
    reading them again costs no query."""
    rows_qs = getattr(instance, name).all()
    rows_qs._result_cache, rows_qs._prefetch_done = list(rows), True
    instance.__dict__.setdefault("_prefetched_objects_cache", {})[name] = rows_qs


def _same_sender(visit: Visit, cadre_id: int) -> Visit:
    if visit.cadre_id != cadre_id:
        raise ValidationError({"client_uuid": _("该编号已被其他记录使用。")})
    return visit


@transaction.atomic
def visit_update(
    *,
    actor,
    visit: Visit,
    photos=(),
    photo_taken_at=(),
    photo_latitude=(),
    photo_longitude=(),
    **fields,
) -> Visit:
    """The cadre edits their visit, when `visit_edit_refusal` allows it (awaiting review:
    within 7 days of logging it; returned: at any age). A returned visit is resubmitted by
    the edit, and from then on the 7-day rule applies to it again."""
    cadre_id = _cadre_id(actor)
    visit = Visit.objects.select_for_update(of=("self",)).select_related("village").get(pk=visit.pk)
    if visit.cadre_id != cadre_id:
        raise PermissionDenied(_("只能修改自己的记录。"))
    refusal = visit_edit_refusal(visit)
    if refusal:
        raise ValidationError(refusal)
    placed = (visit.date, visit.village_id)
    _set_fields(visit, fields)
    _check_visit(visit, actor=actor)
    _locate(visit)
    _clean(visit)
    action = VisitEvent.Action.EDIT
    if visit.state == Visit.State.RETURNED:
        visit.state = Visit.State.SUBMITTED
        action = VisitEvent.Action.RESUBMIT
    visit._history_user = actor
    visit.save()
    _event(visit, action, actor)
    if (visit.date, visit.village_id) != placed:
        _reflag_photos(visit)
    _save_photos(
        visit,
        photos,
        taken_at=photo_taken_at,
        latitude=photo_latitude,
        longitude=photo_longitude,
    )
    return visit


def _check_reviewer(actor, visit: Visit) -> None:
    if not visit_can_review(user=actor, visit=visit):
        raise PermissionDenied(_("只有联系点所在乡镇、县(市、区)的干部可以审核。"))


def _review(*, actor, visit: Visit, state: str, action: str, comment: str) -> Visit:
    _check_reviewer(actor, visit)
    visit = Visit.objects.select_for_update(of=("self",)).get(pk=visit.pk)
    if visit.state != Visit.State.SUBMITTED:
        raise ValidationError(
            _("该记录当前为“%(state)s”，不能审核。") % {"state": visit.get_state_display()}
        )
    limit = Visit._meta.get_field("review_comment").max_length
    if len(comment) > limit:
        raise ValidationError({"comment": _("审核意见不能超过 %(n)d 个字。") % {"n": limit}})
    visit.state = state
    visit.review_comment = comment
    visit.reviewed_by = actor
    visit.reviewed_at = timezone.now()
    visit._history_user = actor
    visit.save(
        update_fields=["state", "review_comment", "reviewed_by", "reviewed_at", "updated_at"]
    )
    _event(visit, action, actor, comment)
    return visit


@transaction.atomic
def visit_return(*, actor, visit: Visit, comment: str) -> Visit:
    comment = (comment or "").strip()
    if not comment:
        raise ValidationError({"comment": _("退回时请写明原因。")})
    return _review(
        actor=actor,
        visit=visit,
        state=Visit.State.RETURNED,
        action=VisitEvent.Action.RETURN,
        comment=comment,
    )


@transaction.atomic
def visit_approve(*, actor, visit: Visit, comment: str = "") -> Visit:
    return _review(
        actor=actor,
        visit=visit,
        state=Visit.State.APPROVED,
        action=VisitEvent.Action.APPROVE,
        comment=(comment or "").strip(),
    )


@transaction.atomic
def workday_rule_set(
    *, actor, required_days: int, period: str, effective_from: datetime.date, note: str = ""
) -> WorkdayRule:
    """A new rule from a date on (city admins). Periods already begun keep their rule."""
    if scope_for_user(actor).role != UserRole.Role.CITY_ADMIN:
        raise PermissionDenied(_("只有市级管理员可以修改双十工作日规则。"))
    rule = WorkdayRule.objects.filter(effective_from=effective_from).first() or WorkdayRule(
        effective_from=effective_from
    )
    if effective_from <= timezone.localdate():
        # A rule from today or earlier could re-judge a period already begun or over.
        raise ValidationError(
            {"effective_from": _("生效日期须晚于今天：已开始的周期保持原来的规则。")}
        )
    rule.required_days, rule.period, rule.note = required_days, period, note
    rule.full_clean()
    rule._history_user = actor
    rule.save()
    return rule


# ----- problems -----

PROBLEM_TRANSITIONS = {
    Problem.Status.PENDING: {
        Problem.Status.IN_PROGRESS,
        Problem.Status.RESOLVED,
        Problem.Status.EXPLAINED,
    },
    Problem.Status.IN_PROGRESS: {Problem.Status.RESOLVED, Problem.Status.EXPLAINED},
    Problem.Status.RESOLVED: set(),
    Problem.Status.EXPLAINED: set(),
}


def _check_problem_writer(actor, village) -> None:
    if not problem_can_write(user=actor):
        raise PermissionDenied(_("您的账号不能登记或办理问题。"))
    if not village_list_for_user(user=actor).filter(pk=village.pk).exists():
        raise ValidationError({"village": _("只能为自己辖区或联系点的村(社区)登记问题。")})


@transaction.atomic
def problem_create(
    *,
    actor,
    village,
    category: str,
    description: str,
    visit: Visit | None = None,
    client_uuid=None,
    **fields,
) -> Problem:
    _check_problem_writer(actor, village)
    if visit is not None and (
        visit.village_id != village.pk
        or not visit_list_for_user(user=actor).filter(pk=visit.pk).exists()
    ):
        raise ValidationError({"visit": _("来源走访必须是您能查看的、同一村(社区)的记录。")})
    errors = {}
    if not (category or "").strip():
        errors["category"] = _("请选择问题类别。")
    limit = Problem._meta.get_field("description").max_length
    if not (description or "").strip():
        errors["description"] = _("请填写问题描述。")
    elif len(description.strip()) > limit:
        errors["description"] = _("问题描述不能超过 %d 字。") % limit
    if errors:
        raise ValidationError(errors)
    problem = Problem(
        client_uuid=uuid_lib.UUID(str(client_uuid)) if client_uuid else uuid_lib.uuid4(),
        village=village,
        visit=visit,
        category=category,
        description=(description or "").strip(),
        raised_by=(fields.get("raised_by") or "").strip(),
        handler=(fields.get("handler") or "").strip(),
        deadline=fields.get("deadline"),
        created_by=actor,
    )
    # The client id's uniqueness is the table's: a copy racing in fails on insert.
    problem.full_clean(exclude=["client_uuid"])
    problem._history_user = actor
    problem.save()
    return problem


def problem_submit(*, actor, client_uuid=None, **fields) -> tuple[Problem, bool]:
    """`problem_create` once per client-made UUID (the offline queue of the problem form):
    a retry or a resubmission after a time-out returns the problem already stored:
    (problem, created). Without a UUID (an older page or client) it is a new problem."""
    if client_uuid is None:
        return problem_create(actor=actor, **fields), True
    client_uuid = uuid_lib.UUID(str(client_uuid))
    existing = Problem.objects.filter(client_uuid=client_uuid).first()
    if existing is None:
        try:
            # problem_create's own atomic block: a losing race rolls back to here
            return problem_create(actor=actor, client_uuid=client_uuid, **fields), True
        except IntegrityError:
            # two copies racing: the other one won
            existing = Problem.objects.filter(client_uuid=client_uuid).first()
            if existing is None:
                raise
    if existing.created_by_id != actor.pk:
        raise ValidationError({"client_uuid": _("该编号已被其他记录使用。")})
    return existing, False


@transaction.atomic
def problem_update(
    *,
    actor,
    problem: Problem,
    status: str | None = None,
    explanation: str | None = None,
    resolved_on: datetime.date | None = None,
    satisfaction: str | None = None,
    handler: str | None = None,
    deadline: datetime.date | None = None,
) -> Problem:
    """Move a problem along 待办 → 办理中 → 已办结 / 无法办结已解释."""
    problem = (
        Problem.objects.select_for_update(of=("self",)).select_related("village").get(pk=problem.pk)
    )
    _check_problem_writer(actor, problem.village)
    if status and status != problem.status:
        if status not in PROBLEM_TRANSITIONS[problem.status]:
            raise ValidationError(
                {
                    "status": _("“%(old)s”不能改为“%(new)s”。")
                    % {
                        "old": problem.get_status_display(),
                        "new": dict(Problem.Status.choices).get(status, status),
                    }
                }
            )
        problem.status = status
        if status == Problem.Status.RESOLVED and not (resolved_on or problem.resolved_on):
            resolved_on = timezone.localdate()
    for name, value in (
        ("explanation", explanation),
        ("resolved_on", resolved_on),
        ("satisfaction", satisfaction),
        ("handler", handler),
        ("deadline", deadline),
    ):
        if value is not None:
            setattr(problem, name, value.strip() if isinstance(value, str) else value)
    if problem.resolved_on and problem.resolved_on > timezone.localdate():
        raise ValidationError({"resolved_on": _("办结日期不能晚于今天。")})
    problem.full_clean()
    problem._history_user = actor
    problem.save()
    return problem


def village_locations_learn(*, village_ids=None) -> int:
    """Propose a coordinate for each village without one (of `village_ids`, or all) that
    has at least VILLAGE_LOCATION_MIN_FIXES located, approved visits: the median latitude
    and the median longitude of their fixes (a few fixes taken elsewhere do not move it).
    Returns how many proposals were made or brought up to date. Idempotent."""
    stored = 0
    for village_id, fixes in sorted(approved_fixes_by_village(village_ids=village_ids).items()):
        proposal = location_proposal_store(
            village_id=village_id,
            latitude=median([lat for lat, _lon in fixes]),
            longitude=median([lon for _lat, lon in fixes]),
            fixes=len(fixes),
        )
        stored += proposal is not None
    return stored


def village_locations_learn_queue(*, actor) -> int:
    """重新推算 on 村庄位置: queue the learning for the villages without a coordinate in
    the actor's area (an official's or the city's). Returns how many villages that is."""
    scope = scope_for_user(actor)
    if not (scope.is_city or scope.is_official):
        raise PermissionDenied(_("只有乡镇、县级干部和市级管理员可以推算村庄位置。"))
    ids = list(location_list_for_user(user=actor).values_list("pk", flat=True))
    if ids:
        jobs.enqueue("visits.tasks.village_locations_learn", kwargs={"village_ids": ids})
    return len(ids)
