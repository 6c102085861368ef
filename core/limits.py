"""The upload limits that the answer to a too large request (413, core.views) names. core
imports no app, so each app that takes files registers what it accepts (in its apps.py
`ready()`): villages the import workbook, visits the photos."""

MB = 1024 * 1024

_LIMITS: dict[str, tuple[int, str]] = {}


def register_upload_limit(name: str, *, order: int, text: str) -> None:
    """Name the limit `text` (e.g. "每个导入文件不超过 10 MB") in the 413 answer, at `order`."""
    _LIMITS[name] = (order, text)


def upload_limits() -> list[str]:
    """The registered limits' texts, in order."""
    ordered = sorted(_LIMITS.items(), key=lambda item: (item[1][0], item[0]))
    return [text for _name, (_order, text) in ordered]
