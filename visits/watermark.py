"""The 水印相机-style band burnt into a stored visit photo: a semi-transparent strip along the
bottom with a few lines of text (time, place, cadre, coordinates), drawn with a CJK font.

The font is settings.WATERMARK_FONT when it opens, else the first CJK font found in the
usual places; with none at all the photo is still stored, with Pillow's own font (Chinese
then shows as boxes) and a warning in the log, never an error.
"""

from __future__ import annotations

import functools
import logging
from pathlib import Path

from django.conf import settings
from PIL import Image, ImageDraw, ImageFont

logger = logging.getLogger(__name__)

# Where Debian (fonts-noto-cjk, the image's package), other distributions and macOS keep a
# CJK font. A .ttc holds several faces; the Simplified Chinese one is picked by its name.
CJK_FONT_CANDIDATES = (
    "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/noto-cjk/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/google-noto-cjk/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/opentype/noto/NotoSerifCJK-Regular.ttc",
    "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc",
    "/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc",
    "/usr/share/fonts/truetype/droid/DroidSansFallbackFull.ttf",
    "/System/Library/Fonts/PingFang.ttc",
)
MAX_FACES = 10  # faces looked at in one .ttc collection

BAND_OPACITY = 150  # of 255: the photo shows through the band
MAX_BAND_SHARE = 0.4  # of the photo's height, however many lines
LINE_SPACING = 1.3


@functools.cache
def _font_source() -> tuple[str, int] | None:
    """(path, face index) of the CJK font to draw with, or None when there is none."""
    configured = getattr(settings, "WATERMARK_FONT", "") or ""
    for path in ([configured] if configured else []) + list(CJK_FONT_CANDIDATES):
        if not Path(path).is_file():
            if path == configured:
                logger.warning("WATERMARK_FONT %s does not exist; looking elsewhere", path)
            continue
        index = _simplified_chinese_face(path)
        if index is not None:
            return path, index
    logger.warning(
        "No CJK font found (set WATERMARK_FONT or install fonts-noto-cjk): photo watermarks "
        "use Pillow's default font and show Chinese as boxes."
    )
    return None


def _simplified_chinese_face(path: str) -> int | None:
    """The index of the face named "… SC" (or the first face) of a font file; None if the
    file is not a font Pillow can open."""
    faces = []
    for index in range(MAX_FACES):
        try:
            family, _style = ImageFont.truetype(path, 12, index=index).getname()
        except OSError:
            break
        faces.append((index, family or ""))
    if not faces:
        return None
    return next((i for i, family in faces if family.endswith(" SC")), faces[0][0])


@functools.lru_cache(maxsize=32)
def font(size: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    source = _font_source()
    if source is None:
        return ImageFont.load_default(size=size)
    path, index = source
    return ImageFont.truetype(path, size, index=index)


def font_is_cjk() -> bool:
    return _font_source() is not None


def burn(img: Image.Image, lines: list[str]) -> Image.Image:
    """`img` (RGB) with `lines` written over a dark band along its bottom; the first line
    (the time) larger than the rest."""
    width, height = img.size
    if not lines or width < 2 or height < 2:
        return img
    size = max(10, width // 32)
    # Line heights in units of `size`: the first line is 1.4×, the others 1×.
    units = (1.4 + (len(lines) - 1)) * LINE_SPACING + 1  # + padding above and below
    if units * size > height * MAX_BAND_SHARE:
        size = max(1, int(height * MAX_BAND_SHARE / units))
    band = min(height, round(units * size))
    overlay = Image.new("RGBA", img.size, (0, 0, 0, 0))
    draw = ImageDraw.Draw(overlay)
    draw.rectangle((0, height - band, width, height), fill=(0, 0, 0, BAND_OPACITY))
    x = max(1, size // 2)
    y = height - band + size / 2
    for number, text in enumerate(lines):
        line_size = max(1, round(size * 1.4)) if number == 0 else size
        draw.text((x, y), text, font=font(line_size), fill=(255, 255, 255, 235))
        y += line_size * LINE_SPACING
    return Image.alpha_composite(img.convert("RGBA"), overlay).convert("RGB")
