"""The cadre's installable, offline-first web app: the web app manifest and the service worker.

The service worker (templates/visits/sw.js, served from the site root so that it controls
every page) does three things:

- it precaches the static files of the app shell with Workbox (vendored in
  static/vendor/workbox/), each under a revision made from the file's content. Its own text
  holds those revisions, so a deployment that changes any of them is a new service worker,
  which static/js/pwa.js announces ("有新版本，点此更新");
- it keeps the cadre's own pages of the shell (home, the visit form, the problem form, my
  visits) in a cache of their own, network first, so they open with no signal. Only a
  response the server marked with the signed-in user (X-Portal-User) is kept, and the cache
  is emptied when another user's page arrives, on sign-out and on the sign-in page;
- it replays the offline queue (static/js/queue-send.js) on Background Sync.
"""

import hashlib
import json
import os

from django.contrib.staticfiles import finders
from django.contrib.staticfiles.storage import staticfiles_storage
from django.http import HttpResponse, JsonResponse
from django.template.loader import render_to_string
from django.templatetags.static import static
from django.urls import reverse
from django.views.decorators.http import require_GET

# The static files the shell's pages load (templates/base.html and the cadre pages), and
# the app's icons. Nothing large: the charts library is not part of the shell.
SHELL_STATIC = (
    "vendor/bootstrap/bootstrap.min.css",
    "vendor/bootstrap/bootstrap.bundle.min.js",
    "vendor/htmx/htmx.min.js",
    "vendor/workbox/workbox-window.prod.umd.js",
    "vendor/exifr/lite.umd.js",
    "css/portal.css",
    "js/pwa.js",
    "js/queue-send.js",
    "js/visit-queue.js",
    "img/icon-192.png",
    "img/icon-512.png",
)
# Loaded by the service worker itself with importScripts (kept by the browser with the
# worker's own script, so not precached).
WORKER_SCRIPTS = {
    "workbox-sw": "vendor/workbox/workbox-sw.js",
    "workbox-core": "vendor/workbox/workbox-core.prod.js",
    "workbox-precaching": "vendor/workbox/workbox-precaching.prod.js",
    "workbox-routing": "vendor/workbox/workbox-routing.prod.js",
    "workbox-strategies": "vendor/workbox/workbox-strategies.prod.js",
    "queue-send": "js/queue-send.js",
}
PAGES_CACHE = "xuchang-pages"


def shell_pages() -> list[str]:
    """The cadre's pages that open with no signal."""
    return [
        reverse("home"),
        reverse("visits:visit_new"),
        reverse("problems:problem_new"),
        reverse("visits:visit_list"),
    ]


def _file(path: str) -> str | None:
    found = finders.find(path)
    if found:
        return found
    try:
        candidate = staticfiles_storage.path(path)
    except NotImplementedError:
        return None
    return candidate if os.path.exists(candidate) else None


_revisions: dict[tuple[str, int, int], str] = {}


def _revision(path: str) -> str:
    """The file's content hash, read again only when its size or time changes."""
    found = _file(path)
    if found is None:
        raise FileNotFoundError(f"static file {path} is missing")
    stat = os.stat(found)
    key = (found, stat.st_mtime_ns, stat.st_size)
    if key not in _revisions:
        with open(found, "rb") as fh:
            _revisions[key] = hashlib.md5(fh.read(), usedforsecurity=False).hexdigest()[:16]
    return _revisions[key]


def precache_manifest() -> list[dict]:
    return [{"url": static(path), "revision": _revision(path)} for path in SHELL_STATIC]


@require_GET
def service_worker(request):
    precache = precache_manifest()
    # by revision: the browser's HTTP cache never hands a new worker an old script
    worker_scripts = {
        name: f"{static(path)}?v={_revision(path)}" for name, path in WORKER_SCRIPTS.items()
    }
    # The worker's version: any change to what it precaches or loads makes it a new worker.
    version = hashlib.md5(
        json.dumps([precache, worker_scripts, shell_pages()]).encode(),
        usedforsecurity=False,
    ).hexdigest()[:12]
    config = {
        "version": version,
        "precache": precache,
        "modules": worker_scripts,
        "shellPages": shell_pages(),
        "pagesCache": PAGES_CACHE,
        "logoutPath": reverse("logout"),
        "apis": {"visit": reverse("visit-list"), "problem": reverse("problem-list")},
    }
    body = render_to_string(
        "visits/sw.js",
        {"config": config, "config_json": json.dumps(config, ensure_ascii=False)},
    )
    response = HttpResponse(body, content_type="application/javascript; charset=utf-8")
    # Always asked for again, so a deployment reaches the phones on their next visit.
    response["Cache-Control"] = "no-cache"
    response["Service-Worker-Allowed"] = "/"
    return response


@require_GET
def manifest(request):
    data = {
        "name": "许昌市“联乡帮村”工作平台",
        "short_name": "联乡帮村",
        "description": "帮扶干部下沉走访记录：无网络时也能填报，联网后自动上传。",
        "lang": "zh-CN",
        "start_url": reverse("home") + "?source=app",
        "scope": "/",
        "display": "standalone",
        "orientation": "portrait",
        "background_color": "#f6f6f4",
        "theme_color": "#b71c1c",
        "icons": [
            {"src": static("img/icon-192.png"), "sizes": "192x192", "type": "image/png"},
            {"src": static("img/icon-512.png"), "sizes": "512x512", "type": "image/png"},
            {
                "src": static("img/icon-512-maskable.png"),
                "sizes": "512x512",
                "type": "image/png",
                "purpose": "maskable",
            },
        ],
        "shortcuts": [
            {"name": "记一次下沉", "url": reverse("visits:visit_new")},
            {"name": "登记问题", "url": reverse("problems:problem_new")},
        ],
    }
    response = JsonResponse(data, json_dumps_params={"ensure_ascii": False})
    response["Content-Type"] = "application/manifest+json; charset=utf-8"
    response["Cache-Control"] = "public, max-age=3600"
    return response
