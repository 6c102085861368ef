"""The city map's caption is plain Chinese: no package name, no file path (the licence and
the source of the outlines stay in static/vendor/echarts-cities/README.md)."""

import datetime
import re

from dashboards.services import compute_snapshots
from tests.dashboards.conftest import YEAR


def test_city_map_caption_names_no_package_or_path(world, city_admin, client, login):
    compute_snapshots(year=YEAR, today=datetime.date(YEAR + 1, 6, 1))
    login(client, city_admin)
    html = client.get(f"/dashboards/city/?year={YEAR}").content.decode()
    assert 'id="chart-map"' in html
    caption = re.search(r'<p [^>]*id="map-caption"[^>]*>(.*?)</p>', html, re.S).group(1)
    assert "经开区" in caption and "列在地图下方" in caption
    assert re.search(r"[A-Za-z]{3,}|/|\.json|\.js\b|\.md\b", caption) is None, caption
    assert "npm" not in html and "echarts-china-cities" not in html
