"""The cadre's offline-first app in a real browser at 375 px: the service worker keeps the
shell, the form opens cold with no signal, a new version is announced and updating keeps
the queue, and signing out leaves no page behind.

"No signal" is a cut TCP link in front of the live server (tests.browser_helpers.
SwitchableLink), because Chromium's offline emulation does not reach a service worker's
own requests; the page is also told it is offline, as a phone would be."""

import datetime
import io
import re
import shutil
import time

import pytest
from django.utils import timezone
from PIL import Image, ImageStat
from playwright.sync_api import expect

from tests.browser_helpers import PHONE, SwitchableLink, peizhuang_cadre, watch_csp
from tests.browser_helpers import sign_in as browser_sign_in
from visits.models import Visit

pytestmark = [
    pytest.mark.browser,
    pytest.mark.filterwarnings("ignore:No directory at:UserWarning"),
]

PASSWORD = "demo12345"


@pytest.fixture
def browser_context_args(browser_context_args):
    return {**browser_context_args, **PHONE, "service_workers": "allow"}


@pytest.fixture
def cadre(transactional_db):
    """裴庄村's 帮村 cadre `cadre_peizhuang`, linked for this whole year (covers today)."""
    return peizhuang_cadre(PASSWORD)


@pytest.fixture
def link(live_server):
    relay = SwitchableLink(live_server.url)
    yield relay
    relay.down()


SHELL_CACHED = """async (paths) => {
  const cache = await caches.open("xuchang-pages");
  for (const p of paths) { if (!(await cache.match(p, {ignoreSearch: true}))) return false; }
  return true;
}"""


def install(page, base):
    """Signed in once with a signal: the worker controls the page and holds the shell."""
    browser_sign_in(page, base, "cadre_peizhuang", PASSWORD)
    page.wait_for_function(
        "() => navigator.serviceWorker && navigator.serviceWorker.controller !== null"
    )
    shell = ["/", "/visits/new/", "/problems/new/", "/visits/"]
    deadline = time.monotonic() + 20
    while not page.evaluate(SHELL_CACHED, shell):
        assert time.monotonic() < deadline, "the shell was not cached"
        page.wait_for_timeout(200)


TAKEN = timezone.localtime().replace(second=0, microsecond=0) - datetime.timedelta(hours=1)


def photo_with_exif() -> dict:
    """A phone photo: light grey, its capture time an hour ago, a GPS fix near 许昌."""
    img = Image.new("RGB", (1600, 1200), (200, 200, 200))
    exif = Image.Exif()
    stamp = TAKEN.strftime("%Y:%m:%d %H:%M:%S")
    exif[0x0132] = stamp
    exif.get_ifd(0x8769)[0x9003] = stamp
    gps = exif.get_ifd(0x8825)
    gps[1], gps[2], gps[3], gps[4] = "N", (34.0, 2.0, 30.0), "E", (113.0, 48.0, 0.0)
    out = io.BytesIO()
    img.save(out, format="JPEG", exif=exif)
    return {"name": "IMG_0001.jpg", "mimeType": "image/jpeg", "buffer": out.getvalue()}


def fill_visit(page, notes="离线填报"):
    page.get_by_text("入户走访", exact=True).click()
    page.get_by_label("走访群众(人次)").fill("12")
    page.get_by_label("入户(户)").fill("3")
    page.get_by_label("工作记录").fill(notes)


def test_the_form_opens_cold_with_no_signal_and_the_visit_arrives_once(
    link, page, context, cadre, screenshot_dir
):
    base = link.url
    violations = watch_csp(page)
    install(page, base)

    # no signal; the tab is closed, and the form is opened again from nothing
    link.down()
    context.set_offline(True)
    page.close()
    cold = context.new_page()
    cold_violations = watch_csp(cold)
    cold.goto(f"{base}/visits/new/")
    expect(cold.get_by_role("heading", name="记一次下沉")).to_be_visible()
    expect(cold.locator("[data-pwa-stale]")).to_contain_text("当前没有网络")
    expect(cold.locator("[data-pwa-stale]")).to_contain_text("离线保存的版本")
    expect(cold.get_by_label("日期")).to_have_value(timezone.localdate().isoformat())
    cold.screenshot(path=str(screenshot_dir / "pwa-cold-offline-form.png"), full_page=True)

    fill_visit(cold)
    # a photo from the album, with its own capture time and GPS in its EXIF
    cold.locator("input[data-photo-input][multiple]").set_input_files(photo_with_exif())
    expect(cold.locator("[data-photo-list] img")).to_have_count(1)
    cold.get_by_role("button", name="+ 发现问题").click()
    row = cold.locator("[data-problem-list] [data-problem-row]").first
    row.get_by_label("问题类别").select_option("environment")
    row.get_by_label("问题描述").fill("村东头垃圾堆放无人清运")
    cold.get_by_role("button", name="提交").click()
    expect(cold.locator("#visit-result")).to_contain_text("已保存在本机")
    expect(cold.locator("[data-queue-count]")).to_have_text("1")
    assert Visit.objects.count() == 0

    # the signal comes back: the queued visit is sent, once
    link.up()
    context.set_offline(False)
    expect(cold.locator("[data-queue-pending]")).to_be_hidden(timeout=20000)
    visit = Visit.objects.get(notes="离线填报")
    photo = visit.photos.get()
    linked = visit.problems.get()
    assert linked.description == "村东头垃圾堆放无人清运" and linked.village == cadre["village"]
    # the EXIF travelled with the photo, and the stored image carries the watermark band
    assert photo.taken_at is not None
    assert timezone.localtime(photo.taken_at).strftime("%Y-%m-%d %H:%M") == TAKEN.strftime(
        "%Y-%m-%d %H:%M"
    )
    assert (float(photo.latitude), float(photo.longitude)) == pytest.approx(
        (34.0417, 113.8), abs=1e-3
    )
    with photo.image.open("rb") as fh:
        stored = Image.open(fh)
        stored.load()
    top = stored.crop((0, 0, stored.width, stored.height // 4)).convert("L")
    bottom = stored.crop((0, stored.height * 7 // 8, stored.width, stored.height)).convert("L")
    assert ImageStat.Stat(bottom).mean[0] < ImageStat.Stat(top).mean[0] * 0.8
    assert not stored.getexif()
    assert violations == [] and cold_violations == []


def test_a_new_version_is_announced_and_updating_keeps_the_queue(
    link, page, context, cadre, tmp_path, settings
):
    base = link.url
    install(page, base)
    page.goto(f"{base}/visits/new/")
    expect(page.get_by_role("heading", name="记一次下沉")).to_be_visible()

    # a visit waits in the queue (the link is down while it is sent)
    link.down()
    fill_visit(page, notes="更新前暂存")
    page.get_by_role("button", name="提交").click()
    expect(page.locator("[data-queue-count]")).to_have_text("1")
    link.up()
    page.route("**/api/visits/", lambda route: route.abort("internetdisconnected"))

    # a deployment changes a static file of the shell
    deployed = tmp_path / "static"
    (deployed / "css").mkdir(parents=True)
    original = settings.BASE_DIR / "static" / "css" / "portal.css"
    shutil.copy(original, deployed / "css" / "portal.css")
    with open(deployed / "css" / "portal.css", "a", encoding="utf-8") as fh:
        fh.write("\n.deployed-2 { color: #000; }\n")
    settings.STATICFILES_DIRS = [deployed, *settings.STATICFILES_DIRS]

    page.reload()
    bar = page.locator("[data-pwa-update]")
    expect(bar).to_be_visible(timeout=20000)
    expect(bar).to_contain_text("有新版本，点此更新")
    with page.expect_navigation():
        bar.get_by_role("button").click()
    expect(page.locator("[data-queue-count]")).to_have_text("1")
    assert Visit.objects.count() == 0

    # the new version sends what the old one queued
    page.unroute("**/api/visits/")
    page.locator("[data-queue-flush]").click()
    expect(page.locator("[data-queue-pending]")).to_be_hidden(timeout=20000)
    assert Visit.objects.filter(notes="更新前暂存").count() == 1
    css = page.evaluate("() => fetch('/static/css/portal.css').then(r => r.text())")
    assert ".deployed-2" in css


def test_signing_out_leaves_no_page_of_the_user(link, page, context, cadre):
    base = link.url
    install(page, base)
    page.get_by_role("button", name="展开菜单").click()
    page.get_by_role("button", name="退出").click()
    expect(page).to_have_url(re.compile(r"/accounts/"))
    assert page.evaluate("() => caches.has('xuchang-pages')") is False
