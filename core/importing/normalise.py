"""Cell normalisation for messy government workbooks. Each parser takes a raw cell value
(str, int, float, date, datetime or None) and returns a clean value or raises CellError
with a Chinese message."""

import datetime
import re
import unicodedata
from dataclasses import dataclass

from core.excel import FORMULA_PREFIXES

EXCEL_EPOCH = datetime.date(1899, 12, 30)
_SPACES = re.compile(r"[\s\u3000\u00a0\u200b\ufeff]+")
_INTEGER = re.compile(r"-?[0-9]+")
_DATE_FORMATS = ("%Y-%m-%d", "%Y/%m/%d", "%Y.%m.%d", "%Y年%m月%d日", "%Y%m%d")


class CellError(ValueError):
    """A cell that cannot be read; the message names what is wrong, in Chinese."""


def is_blank(value) -> bool:
    if value is None:
        return True
    if isinstance(value, str):
        return not _SPACES.sub("", value)
    return False


def text(value) -> str:
    """Trim full-width and ordinary spaces around a name; inner runs collapse to one.

    The apostrophe our exports put before text that Excel would run as a formula
    (core.excel.safe_cell) is taken off again, so an export re-imports unchanged."""
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    cleaned = _SPACES.sub(" ", str(value)).strip()
    if cleaned[:1] == "'" and cleaned[1:2] in FORMULA_PREFIXES:
        cleaned = cleaned[1:]
    return cleaned


# The NBS names a village by its committee (裴庄村委会, 金地社区居委会); the portal names
# the village (裴庄村, 金地社区). Longest suffix first; misspellings are as published.
_COMMITTEE_SUFFIXES = (
    ("村民委员会", "村"),
    ("村委会", "村"),
    ("社区居民委员会", "社区"),
    ("社区居民委委会", "社区"),
    ("社区居委员会", "社区"),
    ("社区居委会", "社区"),
    ("社区委员会", "社区"),
    ("居民委员会", "社区"),
    ("居委会", "社区"),
)


@dataclass(frozen=True)
class VillageName:
    name: str  # as the portal shows it: 裴庄村, 金地社区
    official_name: str  # the committee as the NBS names it; "" when the name names none
    is_village: bool | None  # 行政村 (…村), community (…社区), None when the name does not say


def village_name(value) -> VillageName:
    """The one reading of a village's name, for the demo and the import alike: the NBS
    committee name and the short name both give the same short name, so an official
    roster and the portal's own export agree with what the demo stores."""
    raw = text(value)
    short, official = raw, ""
    for suffix, replacement in _COMMITTEE_SUFFIXES:
        if raw.endswith(suffix) and len(raw) > len(suffix):
            short, official = raw[: -len(suffix)] + replacement, raw
            break
    is_village = True if short.endswith("村") else False if short.endswith("社区") else None
    return VillageName(short, official, is_village)


def digits(value, *, lengths: tuple[int, ...], label: str) -> str:
    """A numeric code kept as text: numbers, floats like 411024107225.0, full-width digits
    and spaces are all accepted; the length is checked."""
    if value is None:
        raise CellError(f"{label}不能为空")
    if isinstance(value, bool):
        raise CellError(f"{label}必须是数字")
    if isinstance(value, int):
        raw = str(value)
    elif isinstance(value, float):
        if not value.is_integer():
            raise CellError(f"{label}“{value}”不是整数代码")
        raw = str(int(value))
    else:
        raw = _SPACES.sub("", unicodedata.normalize("NFKC", str(value)))
        if raw.endswith(".0") and raw[:-2].isdigit():
            raw = raw[:-2]
    if not raw:
        raise CellError(f"{label}不能为空")
    if not raw.isdigit() or not raw.isascii():
        raise CellError(f"{label}“{raw}”只能包含数字")
    if len(raw) not in lengths:
        wanted = " 或 ".join(str(n) for n in lengths)
        raise CellError(f"{label}“{raw}”应为 {wanted} 位数字，实际 {len(raw)} 位")
    return raw


def optional_int(value, *, label: str) -> int | None:
    if is_blank(value):
        return None
    if isinstance(value, bool):
        raise CellError(f"{label}必须是整数")
    if isinstance(value, float):
        if not value.is_integer():
            raise CellError(f"{label}“{value}”必须是整数")
        value = int(value)
    if isinstance(value, int):
        number = value
    else:
        raw = _SPACES.sub("", unicodedata.normalize("NFKC", str(value))).replace(",", "")
        if raw.endswith(".0"):
            raw = raw[:-2]
        if not _INTEGER.fullmatch(raw):
            raise CellError(f"{label}“{value}”必须是整数")
        number = int(raw)
    if number < 0:
        raise CellError(f"{label}不能为负数")
    return number


def date(value, *, label: str) -> datetime.date:
    """Excel serial numbers, real dates, and 2023-03-01 / 2023/3/1 / 2023年3月1日."""
    if is_blank(value):
        raise CellError(f"{label}不能为空")
    if isinstance(value, datetime.datetime):
        return value.date()
    if isinstance(value, datetime.date):
        return value
    if isinstance(value, int | float) and not isinstance(value, bool):
        if not 1 <= value < 2958466:
            raise CellError(f"{label}“{value}”不是有效的日期")
        return EXCEL_EPOCH + datetime.timedelta(days=int(value))
    raw = _SPACES.sub("", unicodedata.normalize("NFKC", str(value)))
    if raw.isdigit() and len(raw) <= 5:
        if int(raw) < 1:
            raise CellError(f"{label}“{value}”不是有效的日期")
        return EXCEL_EPOCH + datetime.timedelta(days=int(raw))
    for fmt in _DATE_FORMATS:
        try:
            return datetime.datetime.strptime(raw, fmt).date()
        except ValueError:
            continue
    raise CellError(f"{label}“{value}”不是有效的日期（示例：2023-03-01、2023/3/1、2023年3月1日）")


def choice(value, *, options: dict[str, str], label: str) -> str:
    """Map a Chinese label (or the stored value) to the stored value."""
    raw = text(value)
    if not raw:
        raise CellError(f"{label}不能为空")
    if raw in options:
        return options[raw]
    allowed = "、".join(k for k in options if not k.isascii())
    raise CellError(f"{label}“{raw}”不在可选范围内（可选：{allowed}）")


def header_key(value) -> str:
    """How a header cell is matched: no spaces, NFKC (full-width brackets become ASCII)."""
    return _SPACES.sub("", unicodedata.normalize("NFKC", str(value or "")))
