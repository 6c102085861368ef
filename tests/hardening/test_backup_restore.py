"""Backup and restore, exactly as the README's "Backup and restore" section says.

A fresh PostgreSQL database is migrated and seeded (tests/hardening/backup_world.py: the
villages, stars and disputes demo, visits with photos, an export and an import, and every
roster year's snapshots). The README's commands are read from the README itself and run
with the `docker compose exec|run <service>` prefix taken off, our server, user and scratch
databases in place of `xuchang`, and our directory in place of `/app`:

- `pg_dump … -Fc` of the source, then `pg_restore … --clean --if-exists --no-owner` into a
  new, empty database: the same tables in the public schema, every one with the same row
  count, the dashboards' snapshots identical row for row, and the sequences where they were;
- the restore again over that database after it has changed (what `--clean` is for): the
  same again;
- the media directory through the README's `tar czf` and `tar xzf`: the same files, byte for
  byte, and every file the database names is there.

The scratch databases are dropped at the end. Runs only on PostgreSQL, with PostgreSQL's
client programs (`pg_dump`, `pg_restore`) on PATH, as `.ci/run` installs them.
"""

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from urllib.parse import quote

import pytest

ROOT = Path(__file__).resolve().parents[2]
README = ROOT / "README.md"
DATABASE_URL = os.environ.get("DATABASE_URL", "")

pytestmark = [
    pytest.mark.production,
    pytest.mark.skipif(
        not DATABASE_URL.startswith("postgres"),
        reason="backup and restore need DATABASE_URL=postgres://… (see .ci/run)",
    ),
]

SNAPSHOT_MODELS = ("IndicatorSnapshot", "VillageSnapshot", "SnapshotHistory")
# Tables the seeded world must fill, or the comparison proves little.
MUST_HAVE_ROWS = (
    "django_migrations",
    "auth_user",
    "villages_village",
    "villages_rosterentry",
    "villages_assignment",
    "villages_exportjob",
    "villages_importjob",
    "visits_visit",
    "visits_visitphoto",
    "visits_visitevent",
    "visits_problem",
    "visits_historicalvisit",
    "stars_staraward",
    "disputes_dispute",
    "disputes_petition",
    "dashboards_target",
    "dashboards_indicatorsnapshot",
    "dashboards_villagesnapshot",
    "dashboards_snapshothistory",
)
SERVICE_PREFIX = re.compile(
    r"^docker compose (?:exec|run)\s+(?:(?:-e\s+\S+|-\S+)\s+)*(?:db|web)\s+"
)


# ----- the README's commands -----


def readme_commands() -> dict[str, str]:
    """The four commands of the README's backup section, as run inside their container:
    keys "pg_dump", "tar czf", "pg_restore", "tar xzf"."""
    text = README.read_text(encoding="utf-8")
    assert "### Backup and restore" in text, "README has no 'Backup and restore' section"
    section = re.split(r"\n##+ ", text.split("### Backup and restore", 1)[1], maxsplit=1)[0]
    found: dict[str, list[str]] = {}
    for block in re.findall(r"```bash\n(.*?)```", section, re.S):
        for line in block.splitlines():
            line = line.strip()
            if not SERVICE_PREFIX.match(line):
                continue
            command = SERVICE_PREFIX.sub("", line)
            key = next(
                (
                    k
                    for k in ("pg_dump", "pg_restore", "tar czf", "tar xzf")
                    if command.startswith(k)
                ),
                None,
            )
            if key:
                found.setdefault(key, []).append(command)
    assert {k: len(v) for k, v in found.items()} == {
        "pg_dump": 1,
        "tar czf": 1,
        "pg_restore": 1,
        "tar xzf": 1,
    }, f"expected one pg_dump, tar czf, pg_restore and tar xzf command, found {found}"
    return {k: v[0] for k, v in found.items()}


def for_here(command: str, *, user: str, db: str = "", app: Path | None = None, source=None):
    """A README command with our user, database, directory and input file."""
    command = re.sub(r"-U \S+", f"-U {user}", command)
    if db:
        command = re.sub(r"-d \S+", f"-d {db}", command)
    if app is not None:
        command = command.replace("-C /app ", f"-C {app} ")
    if source is not None:
        command = re.sub(r"< \S+$", f"< {source}", command)
    return command


# ----- the server -----


def server() -> dict:
    from django.db import connection

    sd = connection.settings_dict
    return {
        "name": sd["NAME"],
        "user": sd.get("USER") or "postgres",
        "password": sd.get("PASSWORD") or "",
        "host": sd.get("HOST") or "",
        "port": str(sd.get("PORT") or ""),
    }


def libpq_env(srv: dict) -> dict:
    env = dict(os.environ)
    for key, name in (("host", "PGHOST"), ("port", "PGPORT"), ("password", "PGPASSWORD")):
        if srv[key]:
            env[name] = srv[key]
    return env


def connect(srv: dict, db: str):
    import psycopg2

    conn = psycopg2.connect(
        dbname=db,
        user=srv["user"],
        password=srv["password"] or None,
        host=srv["host"] or None,
        port=srv["port"] or None,
    )
    conn.autocommit = True
    return conn


def drop(srv: dict, *dbs: str) -> None:
    conn = connect(srv, "postgres")
    with conn.cursor() as cur:
        for db in dbs:
            cur.execute(f'DROP DATABASE IF EXISTS "{db}" WITH (FORCE)')
    conn.close()


def create(srv: dict, db: str) -> None:
    conn = connect(srv, "postgres")
    with conn.cursor() as cur:
        cur.execute(f'CREATE DATABASE "{db}"')
    conn.close()


def database_url(srv: dict, db: str) -> str:
    auth = quote(srv["user"], safe="")
    if srv["password"]:
        auth += ":" + quote(srv["password"], safe="")
    host = quote(srv["host"] or "127.0.0.1", safe="")
    return f"postgres://{auth}@{host}:{srv['port'] or 5432}/{quote(db, safe='')}"


def shell(command: str, *, cwd: Path, env: dict) -> None:
    done = subprocess.run(["bash", "-c", command], cwd=cwd, env=env, capture_output=True)
    assert done.returncode == 0, (
        f"`{command}` exited {done.returncode}:\n{done.stderr.decode(errors='replace')[-3000:]}"
    )


# ----- what is compared -----


def snapshot_tables() -> list[str]:
    from django.apps import apps

    return [apps.get_model("dashboards", name)._meta.db_table for name in SNAPSHOT_MODELS]


def state(srv: dict, db: str) -> dict:
    """Every public table's row count, the snapshot tables' rows, the sequences' positions."""
    from psycopg2 import sql

    conn = connect(srv, db)
    try:
        with conn.cursor() as cur:
            cur.execute(
                "SELECT table_name FROM information_schema.tables "
                "WHERE table_schema = 'public' AND table_type = 'BASE TABLE' ORDER BY 1"
            )
            tables = [name for (name,) in cur.fetchall()]
            counts = {}
            for table in tables:
                cur.execute(sql.SQL("SELECT count(*) FROM {}").format(sql.Identifier(table)))
                counts[table] = cur.fetchone()[0]
            snapshots = {}
            for table in snapshot_tables():
                cur.execute(sql.SQL("SELECT * FROM {} ORDER BY id").format(sql.Identifier(table)))
                snapshots[table] = ([c.name for c in cur.description], cur.fetchall())
            cur.execute(
                "SELECT sequencename, last_value FROM pg_sequences "
                "WHERE schemaname = 'public' ORDER BY 1"
            )
            sequences = dict(cur.fetchall())
            cur.execute("SELECT image FROM visits_visitphoto")
            files = [name for (name,) in cur.fetchall()]
            cur.execute(
                "SELECT file FROM villages_exportjob UNION ALL SELECT file FROM villages_importjob"
            )
            files += [name for (name,) in cur.fetchall() if name]
    finally:
        conn.close()
    return {"counts": counts, "snapshots": snapshots, "sequences": sequences, "files": files}


def assert_same(restored: dict, source: dict) -> None:
    assert sorted(restored["counts"]) == sorted(source["counts"]), "the tables differ"
    differ = {
        t: (source["counts"][t], restored["counts"][t])
        for t in source["counts"]
        if source["counts"][t] != restored["counts"][t]
    }
    assert not differ, f"row counts differ (source, restored): {differ}"
    for table, (columns, rows) in source["snapshots"].items():
        assert restored["snapshots"][table][0] == columns, table
        assert restored["snapshots"][table][1] == rows, f"{table}: rows differ"
    assert restored["sequences"] == source["sequences"]


def tree(directory: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(directory)): p.read_bytes() for p in directory.rglob("*") if p.is_file()
    }


# ----- the test -----


def test_readme_backup_restores_every_table_the_snapshots_and_the_media(tmp_path):
    missing = [tool for tool in ("pg_dump", "pg_restore", "tar") if not shutil.which(tool)]
    assert not missing, f"not on PATH: {missing} (.ci/run installs PostgreSQL's client programs)"
    commands = readme_commands()
    srv = server()
    source_db, restored_db = f"{srv['name']}_backup_src", f"{srv['name']}_backup_dst"
    env = libpq_env(srv)
    app, restored_app, backups = tmp_path / "app", tmp_path / "restored", tmp_path / "backups"
    for directory in (app / "media", restored_app, backups):
        directory.mkdir(parents=True)

    drop(srv, source_db, restored_db)
    create(srv, source_db)
    try:
        # the source: migrated and seeded in its own process, Celery inline
        world_env = {
            k: v
            for k, v in env.items()
            if k not in ("CELERY_BROKER_URL", "CELERY_RESULT_BACKEND", "REDIS_URL", "CACHE_URL")
        }
        world_env.update(
            DATABASE_URL=database_url(srv, source_db),
            MEDIA_ROOT=str(app / "media"),
            DJANGO_SETTINGS_MODULE="xuchang_portal.settings.test",
            DJANGO_READ_DOT_ENV_FILE="false",
        )
        seeded = subprocess.run(
            [sys.executable, "-m", "tests.hardening.backup_world"],
            cwd=ROOT,
            env=world_env,
            capture_output=True,
        )
        assert seeded.returncode == 0, seeded.stderr.decode(errors="replace")[-5000:]
        source = state(srv, source_db)
        empty = [t for t in MUST_HAVE_ROWS if not source["counts"].get(t)]
        assert not empty, f"the seeded world left these tables empty: {empty}"

        # back up both, as the README says
        shell(for_here(commands["pg_dump"], user=srv["user"], db=source_db), cwd=backups, env=env)
        shell(for_here(commands["tar czf"], user=srv["user"], app=app), cwd=backups, env=env)
        dumps, archives = sorted(backups.glob("*.dump")), sorted(backups.glob("*.tgz"))
        assert len(dumps) == 1 and len(archives) == 1, sorted(backups.iterdir())

        # restore into a new, empty database
        create(srv, restored_db)
        restore = for_here(
            commands["pg_restore"], user=srv["user"], db=restored_db, source=dumps[0]
        )
        shell(restore, cwd=backups, env=env)
        assert_same(state(srv, restored_db), source)

        # restore again over that database once it has moved on: --clean puts it back
        conn = connect(srv, restored_db)
        with conn.cursor() as cur:
            cur.execute(f"UPDATE {snapshot_tables()[0]} SET numerator = numerator + 1")
            cur.execute("DELETE FROM visits_visitphoto")
            cur.execute("CREATE TABLE public.stray_after_backup (id int)")
        conn.close()
        shell(restore, cwd=backups, env=env)
        restored = state(srv, restored_db)
        restored["counts"].pop("stray_after_backup", None)  # not in the dump: left alone
        assert_same(restored, source)

        # the media volume
        shell(
            for_here(commands["tar xzf"], user=srv["user"], app=restored_app, source=archives[0]),
            cwd=backups,
            env=env,
        )
        files = tree(restored_app / "media")
        assert files == tree(app / "media")
        assert len(files) >= 5, sorted(files)  # three photos, an export, an upload
        assert set(restored["files"]) <= set(files), set(restored["files"]) - set(files)
    finally:
        drop(srv, source_db, restored_db)
