"""The browser wiring in tests/conftest.py: Debian's Chromium launches through
pytest-playwright, in Chinese, on Shanghai time, beside the Django test database."""

import pytest

pytestmark = pytest.mark.browser


def test_browser_runs_in_chinese_on_shanghai_time(page, screenshot_dir):
    # given
    page.set_content("<html lang='zh-CN'><body><h1>许昌市“联乡帮村”工作平台</h1></body></html>")

    # when
    seen = page.evaluate(
        """() => ({
            language: navigator.language,
            timeZone: Intl.DateTimeFormat().resolvedOptions().timeZone,
            width: window.innerWidth,
            height: window.innerHeight,
        })"""
    )
    shot = screenshot_dir / "browser-setup.png"
    page.screenshot(path=str(shot))

    # then
    assert seen == {"language": "zh-CN", "timeZone": "Asia/Shanghai", "width": 1280, "height": 900}
    assert shot.stat().st_size > 0


def test_orm_and_live_server_work_while_the_browser_runs(page, live_server, area):
    # given: the browser is already up (requested first), and `area` has just used the ORM
    # — without DJANGO_ALLOW_ASYNC_UNSAFE that raises SynchronousOnlyOperation

    # when
    response = page.goto(f"{live_server.url}/healthz/")

    # then
    assert response.status == 200
    assert response.json() == {"status": "ok"}
    assert area.county_a.townships.count() == 2
