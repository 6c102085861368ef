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
import math
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


GRID = 1024  # the file's coordinates lie on a 1/1024° grid


@functools.cache
def _strips(name: str) -> tuple[tuple[float, tuple[tuple[float, float], ...]], ...]:
    """The inside of a county's outline (GCJ-02) cut along horizontal lines half-way
    between the file's grid rows: ((y, ((x_from, x_to), …)), …). No vertex lies on such a
    line, so every point of a strip is at least half a grid step (~50 m) from any edge
    that does not cross the line."""
    outline = county_outline(name)
    if outline is None:
        return ()
    crossings: dict[int, list[float]] = {}
    for polygon in outline.gcj_polygons:
        for ring in polygon:
            x1, y1 = ring[-1]
            for x2, y2 in ring:
                low, high = sorted((y1 * GRID, y2 * GRID))
                for k in range(math.ceil(low - 0.5), math.floor(high - 0.5) + 1):
                    y = (k + 0.5) / GRID
                    if low < y * GRID < high:
                        crossings.setdefault(k, []).append(x1 + (y - y1) * (x2 - x1) / (y2 - y1))
                x1, y1 = x2, y2
    strips = []
    for k in sorted(crossings):
        xs = sorted(crossings[k])
        pairs = tuple((xs[i], xs[i + 1]) for i in range(0, len(xs) - 1, 2))
        strips.append(((k + 0.5) / GRID, pairs))
    return tuple(strips)


def inside_point(
    name: str, u: float, *, margin_km: float = 0.5, near=None
) -> tuple[float, float] | None:
    """A point (WGS-84 lat, lon) inside the county's outline, at least `margin_km` from its
    edge along the east-west line it lies on, picked by a number in [0, 1) (the same
    number gives the same point). `near` = (lat, lon, km) keeps it within that many km
    of a WGS-84 point. None when the county has no outline (or nothing fits)."""
    strips = _strips(name)
    if near is not None:
        c_lat, c_lon = geo.wgs84_to_gcj02(near[0], near[1])
        ky = math.radians(1) * geo.EARTH_RADIUS_KM
        kx = ky * math.cos(math.radians(c_lat))
        clipped = []
        for y, pairs in strips:
            dy = (y - c_lat) * ky
            if abs(dy) >= near[2]:
                continue
            half = math.sqrt(near[2] ** 2 - dy * dy) / kx
            cut = tuple(
                (max(a, c_lon - half), min(b, c_lon + half))
                for a, b in pairs
                if min(b, c_lon + half) > max(a, c_lon - half)
            )
            clipped.append((y, cut))
        strips = tuple(clipped)
    pieces = []
    for y, pairs in strips:
        margin = margin_km / (math.radians(1) * geo.EARTH_RADIUS_KM * math.cos(math.radians(y)))
        pieces.extend((y, a + margin, b - margin) for a, b in pairs if b - a > 2 * margin)
    total = sum(b - a for _, a, b in pieces)
    if not pieces or total <= 0:
        return None
    # `u` picks a spot along all the strips laid end to end (so area counts evenly).
    target = u * total
    for y, a, b in pieces:
        if target <= b - a:
            return geo.gcj02_to_wgs84(y, a + target)
        target -= b - a
    y, a, b = pieces[-1]
    return geo.gcj02_to_wgs84(y, b)
