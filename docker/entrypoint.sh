#!/bin/sh
# Container entrypoint for web, worker and beat (see docker-compose.yml).
# Only the web service sets DJANGO_MIGRATE=1: it applies migrations before gunicorn starts,
# and worker/beat wait for web to be healthy, so migrations never run twice at once.
set -eu

if [ "${DJANGO_MIGRATE:-0}" = "1" ]; then
    echo "entrypoint: applying migrations"
    python manage.py migrate --noinput
fi

exec "$@"
