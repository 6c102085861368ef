"""The county outlines the dashboards draw (static/vendor/echarts-cities/xuchang.js), read
once per process on the server for "is this point in its county?".

The file is ECharts' map bundle: GeoJSON whose rings are packed in ECharts' "UTF8Encoding"
(zig-zag deltas, one character per coordinate, scale 1024). It comes from AMap, so its
coordinates are GCJ-02; `county_outline` returns them converted to WGS-84, the datum the
portal stores. Counties are matched by name (建安区 is filed under its former code), so
counties not in the file (许昌经济技术开发区, other cities, test data) have no outline.
"""

from __future__ import annotations

import functools
import json
import re
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings

from villages import geo

OUTLINE_FILE = Path("static") / "vendor" / "echarts-cities" / "xuchang.js"
MAX_FILE_BYTES = 2 * 1024 * 1024
_FEATURE = re.compile(
    r'\{type:"Feature",id:"(?P<id>[0-9]{6})",properties:\{name:"(?P<name>[^"]{1,20})"'
    r'[^}]*\},geometry:\{type:"(?P<type>Polygon|MultiPolygon)",'
    r"coordinates:(?P<coords>\[.*?\]),encodeOffsets:(?P<offsets>\[[-0-9,\[\]]*?\])\}\}"
)


@dataclass(frozen=True)
class Outline:
    name: str
    code: str  # as the file lists it
    polygons: tuple  # of polygons (rings of (lon, lat), WGS-84)
    gcj_polygons: tuple  # the same in the file's GCJ-02, for drawing and sampling
    bbox: tuple[float, float, float, float]  # min lon, min lat, max lon, max lat (GCJ-02)

    def contains(self, lat: float, lon: float) -> bool:
        return geo.in_any(lat, lon, self.polygons)

    def km_outside(self, lat: float, lon: float) -> float:
        return geo.km_outside(lat, lon, self.polygons)


def _decode_ring(text: str, offset: list[int], scale: float = 1024.0) -> list[tuple]:
    """ECharts' decodePolygon: pairs of characters, zig-zag encoded deltas from `offset`."""
    x, y = offset
    ring = []
    for i in range(0, len(text) - 1, 2):
        dx, dy = ord(text[i]) - 64, ord(text[i + 1]) - 64
        x += (dx >> 1) ^ -(dx & 1)
        y += (dy >> 1) ^ -(dy & 1)
        ring.append((x / scale, y / scale))
    return ring


def parse_outlines(source: str) -> dict[str, Outline]:
    """{county name: Outline} from the text of an ECharts map bundle."""
    outlines = {}
    for match in _FEATURE.finditer(source):
        coords = json.loads(match["coords"])
        offsets = json.loads(match["offsets"])
        if match["type"] == "Polygon":
            gcj = [tuple(_decode_ring(r, o) for r, o in zip(coords, offsets, strict=True))]
        else:
            gcj = [
                tuple(_decode_ring(r, o) for r, o in zip(poly, offs, strict=True))
                for poly, offs in zip(coords, offsets, strict=True)
            ]
        wgs = tuple(
            tuple(
                [tuple(reversed(geo.gcj02_to_wgs84(lat, lon))) for lon, lat in ring]
                for ring in polygon
            )
            for polygon in gcj
        )
        points = [p for polygon in gcj for p in polygon[0]]
        bbox = (
            min(p[0] for p in points),
            min(p[1] for p in points),
            max(p[0] for p in points),
            max(p[1] for p in points),
        )
        outlines[match["name"]] = Outline(match["name"], match["id"], wgs, tuple(gcj), bbox)
    return outlines


@functools.cache
def all_outlines() -> dict[str, Outline]:
    path = Path(settings.BASE_DIR) / OUTLINE_FILE
    try:
        if path.stat().st_size > MAX_FILE_BYTES:
            return {}
        return parse_outlines(path.read_text(encoding="utf-8"))
    except OSError:
        return {}


def county_outline(name: str) -> Outline | None:
    """The outline of the county called `name`, or None when the file has none."""
    return all_outlines().get(name)
