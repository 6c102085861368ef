"""Plain geometry for village coordinates: the two datums Chinese files use, distances,
and points against polygons. Pure functions, no Django.

Phones' GPS and most surveying give WGS-84. Chinese web maps (高德/AMap, 腾讯/Tencent,
Google's China tiles) and anything copied from them give GCJ-02 (火星坐标), which moves a
point by some hundreds of metres. The portal stores WGS-84; `gcj02_to_wgs84` inverts the
published forward transform by fixed-point iteration (well under a metre off).

Coordinates are (latitude, longitude) in degrees everywhere in this module, except polygon
rings, which are GeoJSON-style lists of (longitude, latitude) pairs.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

EARTH_RADIUS_KM = 6371.0088  # mean radius (IUGG)
# The Krasovsky 1940 ellipsoid the GCJ-02 offset is defined on.
_GCJ_A = 6378245.0
_GCJ_EE = 0.00669342162296594323

Ring = Sequence[tuple[float, float]]  # (lon, lat) pairs; first point may repeat as last
Polygon = Sequence[Ring]  # outer ring, then holes


def out_of_china(lat: float, lon: float) -> bool:
    """Outside the rough box where GCJ-02 applies (the transform leaves such points alone)."""
    return not (72.004 <= lon <= 137.8347 and 0.8293 <= lat <= 55.8271)


def _offset(lat: float, lon: float) -> tuple[float, float]:
    """GCJ-02 minus WGS-84 at a WGS-84 point, in degrees (dlat, dlon)."""
    x, y = lon - 105.0, lat - 35.0
    common = (20.0 * math.sin(6.0 * x * math.pi) + 20.0 * math.sin(2.0 * x * math.pi)) * 2.0 / 3.0
    dlat = -100.0 + 2.0 * x + 3.0 * y + 0.2 * y * y + 0.1 * x * y + 0.2 * math.sqrt(abs(x))
    dlat += common
    dlat += (20.0 * math.sin(y * math.pi) + 40.0 * math.sin(y / 3.0 * math.pi)) * 2.0 / 3.0
    dlat += (
        (160.0 * math.sin(y / 12.0 * math.pi) + 320.0 * math.sin(y * math.pi / 30.0)) * 2.0 / 3.0
    )
    dlon = 300.0 + x + 2.0 * y + 0.1 * x * x + 0.1 * x * y + 0.1 * math.sqrt(abs(x))
    dlon += common
    dlon += (20.0 * math.sin(x * math.pi) + 40.0 * math.sin(x / 3.0 * math.pi)) * 2.0 / 3.0
    dlon += (
        (150.0 * math.sin(x / 12.0 * math.pi) + 300.0 * math.sin(x / 30.0 * math.pi)) * 2.0 / 3.0
    )
    rad = math.radians(lat)
    magic = 1 - _GCJ_EE * math.sin(rad) ** 2
    sqrt_magic = math.sqrt(magic)
    dlat = (dlat * 180.0) / ((_GCJ_A * (1 - _GCJ_EE)) / (magic * sqrt_magic) * math.pi)
    dlon = (dlon * 180.0) / (_GCJ_A / sqrt_magic * math.cos(rad) * math.pi)
    return dlat, dlon


def wgs84_to_gcj02(lat: float, lon: float) -> tuple[float, float]:
    """The published forward transform."""
    if out_of_china(lat, lon):
        return lat, lon
    dlat, dlon = _offset(lat, lon)
    return lat + dlat, lon + dlon


def gcj02_to_wgs84(lat: float, lon: float) -> tuple[float, float]:
    """The inverse of `wgs84_to_gcj02`: start at the GCJ-02 point and correct by the
    forward error until it is below 1e-9° (about 0.1 mm); a few iterations suffice."""
    if out_of_china(lat, lon):
        return lat, lon
    w_lat, w_lon = lat, lon
    for _ in range(30):
        g_lat, g_lon = wgs84_to_gcj02(w_lat, w_lon)
        d_lat, d_lon = g_lat - lat, g_lon - lon
        w_lat, w_lon = w_lat - d_lat, w_lon - d_lon
        if abs(d_lat) < 1e-9 and abs(d_lon) < 1e-9:
            break
    return w_lat, w_lon


def haversine_km(lat1, lon1, lat2, lon2) -> float:
    """Great-circle distance in kilometres (numbers or Decimals)."""
    lat1, lon1, lat2, lon2 = (math.radians(float(v)) for v in (lat1, lon1, lat2, lon2))
    a = (
        math.sin((lat2 - lat1) / 2) ** 2
        + math.cos(lat1) * math.cos(lat2) * math.sin((lon2 - lon1) / 2) ** 2
    )
    return 2 * EARTH_RADIUS_KM * math.asin(min(1.0, math.sqrt(a)))


def _in_ring(lon: float, lat: float, ring: Ring) -> bool:
    """Even-odd ray casting."""
    inside = False
    n = len(ring)
    x1, y1 = ring[-1]
    for i in range(n):
        x2, y2 = ring[i]
        if (y1 > lat) != (y2 > lat) and lon < (x2 - x1) * (lat - y1) / (y2 - y1) + x1:
            inside = not inside
        x1, y1 = x2, y2
    return inside


def in_polygon(lat: float, lon: float, polygon: Polygon) -> bool:
    """Inside the outer ring and in none of the holes."""
    if not polygon or not _in_ring(lon, lat, polygon[0]):
        return False
    return not any(_in_ring(lon, lat, hole) for hole in polygon[1:])


def in_any(lat: float, lon: float, polygons: Sequence[Polygon]) -> bool:
    return any(in_polygon(lat, lon, p) for p in polygons)


def distance_to_edge_km(lat: float, lon: float, polygons: Sequence[Polygon]) -> float:
    """The shortest distance from the point to any ring of `polygons`, in kilometres, on a
    local equirectangular projection (exact enough at county scale: well under 1 %)."""
    kx = math.radians(1) * EARTH_RADIUS_KM * math.cos(math.radians(lat))
    ky = math.radians(1) * EARTH_RADIUS_KM
    best = math.inf
    for polygon in polygons:
        for ring in polygon:
            x1, y1 = (ring[-1][0] - lon) * kx, (ring[-1][1] - lat) * ky
            for px, py in ring:
                x2, y2 = (px - lon) * kx, (py - lat) * ky
                dx, dy = x2 - x1, y2 - y1
                length = dx * dx + dy * dy
                t = 0.0 if length == 0 else max(0.0, min(1.0, -(x1 * dx + y1 * dy) / length))
                cx, cy = x1 + t * dx, y1 + t * dy
                best = min(best, cx * cx + cy * cy)
                x1, y1 = x2, y2
    return math.sqrt(best)


def km_outside(lat: float, lon: float, polygons: Sequence[Polygon]) -> float:
    """0 for a point inside `polygons`, else its distance to their edge in kilometres."""
    if in_any(lat, lon, polygons):
        return 0.0
    return distance_to_edge_km(lat, lon, polygons)


def median(values: Sequence[float]) -> float:
    ordered = sorted(values)
    mid = len(ordered) // 2
    return ordered[mid] if len(ordered) % 2 else (ordered[mid - 1] + ordered[mid]) / 2
