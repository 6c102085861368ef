"""The deployment files hang together: compose stack, image, and `.env.example`.

No Docker engine runs on the CI machines, so docker-compose.yml is checked by parsing it.
"""

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
SETTINGS_DIR = ROOT / "xuchang_portal" / "settings"
# Settings modules a deployment runs with; test.py (AXES_ENABLED etc.) is test-only.
DEPLOYED_SETTINGS = ("base.py", "local.py", "production.py")
ENV_READ = re.compile(
    r"""(?:\benv(?:\.\w+)?\(|\bos\.environ(?:\.get|\.setdefault)?[(\[]|\bos\.getenv\()"""
    r"""\s*["']([A-Z][A-Z0-9_]*)["']"""
)
APP_SERVICES = ("web", "worker", "beat")


@pytest.fixture(scope="module")
def compose() -> dict:
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text(encoding="utf-8"))


def _env_example() -> dict[str, str]:
    values = {}
    for line in (ROOT / ".env.example").read_text(encoding="utf-8").splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            key, sep, value = line.partition("=")
            assert sep, f".env.example: not KEY=value: {line!r}"
            values[key.strip()] = value.strip()
    return values


def _settings_env_vars() -> set[str]:
    names = set()
    for name in DEPLOYED_SETTINGS:
        names |= set(ENV_READ.findall((SETTINGS_DIR / name).read_text(encoding="utf-8")))
    return names


def test_compose_has_the_five_services(compose):
    assert set(compose["services"]) >= {"db", "redis", "web", "worker", "beat"}
    assert compose["services"]["db"]["image"].startswith("postgres:15")
    assert compose["services"]["redis"]["image"].startswith("redis:7")


@pytest.mark.parametrize("service", ["db", "redis", "web", "worker", "beat"])
def test_every_service_has_a_health_check(compose, service):
    test = compose["services"][service]["healthcheck"]["test"]
    assert test and test[0] in ("CMD", "CMD-SHELL")


def test_health_checks_probe_the_right_thing(compose):
    services = compose["services"]

    def joined(name):
        return " ".join(services[name]["healthcheck"]["test"])

    assert "pg_isready" in joined("db")
    assert "redis-cli ping" in joined("redis")
    assert "/healthz/" in joined("web")
    # `$$` is compose's escape: the container's shell expands $HOSTNAME.
    assert "inspect ping -d celery@$$HOSTNAME" in joined("worker")


def test_named_volumes_for_database_and_media(compose):
    assert {"pgdata", "media"} <= set(compose["volumes"])
    assert any(v.startswith("pgdata:") for v in compose["services"]["db"]["volumes"])
    for name in APP_SERVICES:
        assert "media:/app/media" in compose["services"][name]["volumes"]


def test_app_services_share_config_and_production_settings(compose):
    for name in APP_SERVICES:
        service = compose["services"][name]
        assert service["env_file"] in (".env", [".env"])
        env = service["environment"]
        assert env["DJANGO_SETTINGS_MODULE"] == "xuchang_portal.settings.production"
        assert env["MEDIA_ROOT"] == "/app/media"
        assert service["image"] == compose["services"]["web"]["image"]


def test_app_commands(compose):
    services = compose["services"]
    web = " ".join(services["web"]["command"])
    assert "gunicorn xuchang_portal.wsgi:application" in web
    assert services["web"]["environment"].get("DJANGO_MIGRATE") == "1"
    assert services["worker"]["command"][:4] == ["celery", "-A", "xuchang_portal", "worker"]
    assert services["beat"]["command"][:4] == ["celery", "-A", "xuchang_portal", "beat"]
    for name in ("worker", "beat"):
        assert services[name]["depends_on"]["web"]["condition"] == "service_healthy"


def test_entrypoint_migrates_only_when_asked():
    script = (ROOT / "docker" / "entrypoint.sh").read_text(encoding="utf-8")
    assert "DJANGO_MIGRATE" in script and "manage.py migrate --noinput" in script
    assert 'exec "$@"' in script


def test_dockerfile_runs_as_non_root_with_collectstatic():
    dockerfile = (ROOT / "Dockerfile").read_text(encoding="utf-8")
    assert dockerfile.startswith("#") and "FROM python:3.11-slim" in dockerfile
    assert re.search(r"^USER app$", dockerfile, re.M)
    assert "collectstatic --noinput" in dockerfile
    assert "pip install -r requirements.txt" in dockerfile
    assert "--workers ${WEB_CONCURRENCY:-3}" in dockerfile


def test_settings_read_some_env_vars():
    # Guards the regex below against silently matching nothing.
    assert {"SECRET_KEY", "DATABASE_URL", "DEBUG"} <= _settings_env_vars()


def test_env_example_lists_every_variable_the_settings_read():
    documented = set(_env_example())
    required = _settings_env_vars() | {"DJANGO_SETTINGS_MODULE", "WEB_CONCURRENCY"}
    missing = sorted(required - documented)
    assert not missing, f".env.example lacks {missing}"


def test_env_example_has_a_chinese_comment_for_every_variable():
    lines = (ROOT / ".env.example").read_text(encoding="utf-8").splitlines()
    for i, line in enumerate(lines):
        if line.strip() and not line.startswith("#"):
            comment = lines[i - 1] if i else ""
            assert comment.startswith("#") and re.search(r"[\u4e00-\u9fff]", comment), (
                f"{line.split('=')[0]} needs a Chinese comment on the line above"
            )


def test_env_example_is_safe_for_compose():
    env = _env_example()
    assert env["DJANGO_SETTINGS_MODULE"] == "xuchang_portal.settings.production"
    assert env["DEBUG"].lower() == "false"
    assert len(env["SECRET_KEY"]) >= 50 and "CHANGE-ME" in env["SECRET_KEY"]
    assert env["DATABASE_URL"].startswith("postgres://") and "@db:5432/" in env["DATABASE_URL"]
    assert env["REDIS_URL"].startswith("redis://redis:6379/")
    assert env["MEDIA_ROOT"] == "/app/media"
    # The web health check calls http://127.0.0.1:8000/healthz/ inside the container.
    assert "127.0.0.1" in env["ALLOWED_HOSTS"].split(",")
    # The database password in DATABASE_URL is the one the db container is created with.
    assert f":{env['POSTGRES_PASSWORD']}@db:" in env["DATABASE_URL"]


def test_dockerignore_keeps_secrets_and_local_state_out():
    ignored = (ROOT / ".dockerignore").read_text(encoding="utf-8").split()
    for entry in (".env", ".venv", ".git", "db.sqlite3", "media"):
        assert entry in ignored


def test_env_example_passes_the_deploy_checks():
    """The example environment, as compose would pass it, gives a production config that
    `check --deploy` accepts (no database connection is needed for these checks)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "CELERY_"))}
    env.update(_env_example())
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stdout + result.stderr
