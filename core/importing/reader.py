"""Turn an uploaded file into rows: .xlsx (calamine; cached formula values) or CSV in UTF-8
(with or without BOM) or GBK/GB18030. File-level problems raise FileProblem with a Chinese
message; nothing here knows about any sheet kind.

The reading itself (core.importing.parse) runs in a child process with hard limits on
memory (RLIMIT_AS), CPU time and wall-clock time. The child measures the file before any
dense read and refuses what exceeds the limits below; should a file slip past those checks
anyway, the child dies instead of the web process or the Celery worker, and only that file
fails, with "文件过大或已损坏"."""

from __future__ import annotations

import dataclasses
import io
import json
import logging
import os
import pickle
import re
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from core.importing import parse
from core.importing.parse import (  # noqa: F401  (the documented limits live here too)
    MAX_CELLS,
    MAX_COLUMNS,
    MAX_ROWS,
    MAX_SHEET_ROWS,
    MAX_UNZIPPED,
    TOO_LARGE,
    FileProblem,
)

logger = logging.getLogger(__name__)

MAX_BYTES = 10 * 1024 * 1024
UPLOAD_SUFFIXES = (".xlsx", ".csv")
# The child process that parses one upload.
CHILD_MEMORY_BYTES = 512 * 1024 * 1024  # address space, so its RSS stays below it too
CHILD_CPU_SECONDS = 30
CHILD_WALL_SECONDS = 60
_ROOT = str(Path(__file__).resolve().parents[2])
_CHILD = (
    f"import sys; sys.path.insert(0, {_ROOT!r}); "
    "from core.importing.parse import child_main; child_main()"
)
_OLE = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_ZIP = parse.ZIP_MAGIC
_ENCRYPTED = "EncryptionInfo".encode("utf-16-le")
# Web pages saved as "Excel" by many government systems, and other markup.
_MARKUP = re.compile(
    rb"\A(?:\xef\xbb\xbf)?\s*<(?:!doctype\s+html|html|head|body|table|meta|\?xml)\b", re.I
)


@dataclass
class RawSheet:
    fmt: str  # "xlsx" or "csv"
    name: str
    rows: list[tuple[int, tuple]]  # (Excel row number, cell values); blank rows dropped


@dataclass
class ChildParse:
    """What the child process did with one file (the bench and the tests read the figures)."""

    sheets: list[RawSheet] | None
    problem: str | None
    peak_rss_mb: float | None  # None when it did not finish
    seconds: float
    returncode: int | None


def size_refusal(size: int) -> str | None:
    if size > MAX_BYTES:
        mb = 1024 * 1024
        return f"文件大小 {size / mb:.1f} MB，超过 {MAX_BYTES / mb:g} MB 上限，请拆分后再上传。"
    return None


def refusal(data: bytes) -> str | None:
    """The file-level refusals found without parsing: size, emptiness, an encrypted or old
    .xls workbook, a web page or XML saved as a spreadsheet, binary data that is no CSV text.
    None when the file may be read."""
    if problem := size_refusal(len(data)):
        return problem
    if not data.strip():
        return "文件是空的。"
    if data.startswith(_OLE):
        if _ENCRYPTED in data:
            return "工作簿设置了打开密码（已加密），请在 Excel 中取消密码后另存，再上传。"
        return "不支持旧版 .xls 格式，请在 Excel 中“另存为”.xlsx 后再上传。"
    if _MARKUP.match(data[:1024]):
        return (
            "文件是网页或 XML 格式（有些系统导出的“Excel”其实是网页），不是 .xlsx 或 CSV 表格。"
            "请在 Excel 中打开后“另存为”.xlsx 再上传。"
        )
    if not data.startswith(_ZIP) and b"\x00" in data[:4096]:
        return "文件不是表格（既不是 .xlsx，也不是 CSV 文本）。"
    return None


def upload_refusal(data: bytes, filename: str) -> str | None:
    """Why an uploaded file is refused before anything of it is stored, naming the file:
    the refusals above, then the type (an .xlsx or .csv name, and content to match)."""
    problem = refusal(data)
    suffix = os.path.splitext(filename)[1].lower()
    if problem is None:
        if suffix not in UPLOAD_SUFFIXES:
            problem = "只接受 Excel 工作簿（.xlsx）或 CSV 文件。"
        elif suffix == ".xlsx" and not data.startswith(_ZIP):
            problem = "文件内容不是 Excel 工作簿（.xlsx）。"
        elif suffix == ".csv" and data.startswith(_ZIP):
            problem = "文件内容是压缩包或 Excel 工作簿，不是 CSV 文本。"
    return f"“{os.path.basename(filename)}”：{problem}" if problem else None


def read_bytes(data: bytes, filename: str) -> list[RawSheet]:
    """Every sheet's non-blank rows, read in a child process with hard limits. Raises
    FileProblem, and nothing else, for a file that cannot be read."""
    if problem := refusal(data):
        raise FileProblem(problem)
    result = parse_in_child(data, filename)
    if result.problem:
        raise FileProblem(result.problem)
    return result.sheets


def limits() -> parse.Limits:
    """The limits of this module as they are now (tests lower MAX_ROWS here)."""
    return parse.Limits(
        max_rows=MAX_ROWS,
        max_cells=MAX_CELLS,
        max_sheet_rows=MAX_SHEET_ROWS,
        max_columns=MAX_COLUMNS,
        max_unzipped=MAX_UNZIPPED,
    )


def parse_in_child(data: bytes, filename: str) -> ChildParse:
    """Run core.importing.parse on `data` in a fresh interpreter with hard limits.
    Whatever happens to the child (killed by its memory or CPU limit, over the wall-clock
    limit, a crash), the caller gets a ChildParse: sheets, or a Chinese problem."""
    header = json.dumps({"filename": filename, "limits": dataclasses.asdict(limits())})
    payload = header.encode() + b"\n" + data
    command = [
        sys.executable,
        "-I",  # no PYTHON* variables, no user site, no current directory on the path
        "-c",
        _CHILD,
        str(CHILD_MEMORY_BYTES),
        str(CHILD_CPU_SECONDS),
    ]
    start = time.perf_counter()
    try:
        done = subprocess.run(
            command, input=payload, capture_output=True, timeout=CHILD_WALL_SECONDS, check=False
        )
    except subprocess.TimeoutExpired:  # run() has killed and reaped the child
        logger.warning("upload parser over %ss on %r: killed", CHILD_WALL_SECONDS, filename)
        return ChildParse(None, TOO_LARGE, None, time.perf_counter() - start, None)
    except OSError:
        logger.exception("upload parser could not start for %r", filename)
        problem = "服务器暂时无法读取文件，请稍后重新上传。"
        return ChildParse(None, problem, None, time.perf_counter() - start, None)
    seconds = time.perf_counter() - start
    if done.returncode != 0 or not done.stdout:
        logger.warning(
            "upload parser died on %r (exit %s): %s",
            filename,
            done.returncode,
            done.stderr[-2000:].decode("utf-8", "replace"),
        )
        return ChildParse(None, TOO_LARGE, None, seconds, done.returncode)
    try:
        status, value, peak_kb = _PlainValues(io.BytesIO(done.stdout)).load()
    except Exception:
        logger.exception("upload parser answered nonsense for %r", filename)
        return ChildParse(None, TOO_LARGE, None, seconds, done.returncode)
    peak_mb = peak_kb / 1024
    if status != "ok":
        return ChildParse(None, str(value), peak_mb, seconds, done.returncode)
    sheets = [RawSheet(fmt, name, rows) for fmt, name, rows in value]
    return ChildParse(sheets, None, peak_mb, seconds, done.returncode)


class _PlainValues(pickle.Unpickler):
    """The child read a hostile file: accept back only plain values (str, numbers, None,
    tuples, lists and the datetime types calamine returns), never a callable."""

    ALLOWED = {("datetime", name) for name in ("date", "datetime", "time", "timedelta")}

    def find_class(self, module, name):
        if (module, name) in self.ALLOWED:
            return super().find_class(module, name)
        raise pickle.UnpicklingError(f"{module}.{name} is not a plain value")
