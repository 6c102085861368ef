"""The installable app's manifest and service worker (visits/pwa.py), and the user mark
the worker keeps pages by."""

import pytest
from django.conf import settings

from accounts.models import Account
from visits import pwa

pytestmark = pytest.mark.django_db


def test_the_manifest_names_the_app_in_chinese_with_its_icons(client):
    response = client.get("/manifest.webmanifest")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/manifest+json")
    data = response.json()
    assert data["short_name"] == "联乡帮村" and data["lang"] == "zh-CN"
    assert data["display"] == "standalone" and data["scope"] == "/"
    assert {i["sizes"] for i in data["icons"]} == {"192x192", "512x512"}
    assert any(i.get("purpose") == "maskable" for i in data["icons"])


def test_the_worker_is_served_from_the_root_and_always_asked_for_again(client):
    response = client.get("/sw.js")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/javascript")
    assert response["Cache-Control"] == "no-cache"
    assert response["Service-Worker-Allowed"] == "/"
    body = response.content.decode()
    for path in pwa.shell_pages():
        assert f'"{path}"' in body
    for entry in pwa.precache_manifest():
        assert entry["url"] in body and entry["revision"] in body
    # the Workbox modules come from this site, never from a CDN
    assert "storage.googleapis.com" not in body
    assert settings.STATIC_URL + "vendor/workbox/workbox-sw.js" in body


def test_a_changed_static_file_makes_a_new_worker(client, tmp_path, settings):
    before = client.get("/sw.js").content
    deployed = tmp_path / "static" / "css"
    deployed.mkdir(parents=True)
    source = settings.BASE_DIR / "static" / "css" / "portal.css"
    (deployed / "portal.css").write_text(source.read_text(encoding="utf-8") + "\n.x{}\n")
    settings.STATICFILES_DIRS = [tmp_path / "static", *settings.STATICFILES_DIRS]
    after = client.get("/sw.js").content
    assert after != before


def test_the_worker_is_not_kept_from_a_user_who_must_change_the_password(client, cadre_user):
    Account.objects.create(user=cadre_user, must_change_password=True)
    client.force_login(cadre_user)
    assert client.get("/visits/new/").status_code == 302
    assert client.get("/sw.js").status_code == 200
    assert client.get("/manifest.webmanifest").status_code == 200


def test_pages_carry_their_user_for_the_worker_and_anonymous_ones_none(client, cadre_user):
    assert "X-Portal-User" not in client.get("/accounts/login/")
    client.force_login(cadre_user)
    page = client.get("/visits/new/")
    assert page["X-Portal-User"] == str(cadre_user.pk)
    html = page.content.decode()
    assert 'data-sw="/sw.js"' in html and f'data-portal-user="{cadre_user.pk}"' in html
    # an API answer is no page the worker keeps
    assert "X-Portal-User" not in client.get("/api/visits/")


def test_officials_get_no_worker_registration(client, township_official):
    client.force_login(township_official)
    html = client.get("/").content.decode()
    assert "data-sw=" not in html and "workbox-window" not in html
