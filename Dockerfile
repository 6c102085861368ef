# 许昌市“联乡帮村”工作平台 — production image (gunicorn + whitenoise).
# Build: docker build -t xuchang-portal .     Run: see docker-compose.yml
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    DJANGO_SETTINGS_MODULE=xuchang_portal.settings.production \
    DJANGO_READ_DOT_ENV_FILE=false \
    STATIC_ROOT=/app/staticfiles \
    MEDIA_ROOT=/app/media

WORKDIR /app

# fonts-noto-cjk: the Chinese font of the watermark burnt into visit photos
# (visits/watermark.py finds it; WATERMARK_FONT may name another).
RUN apt-get update \
    && apt-get install -y --no-install-recommends fonts-noto-cjk \
    && rm -rf /var/lib/apt/lists/*

# Dependencies first so code changes do not bust the pip layer.
# psycopg2-binary ships manylinux wheels, so no compiler or libpq-dev is needed.
COPY requirements.txt ./
RUN pip install -r requirements.txt

RUN groupadd --system --gid 1000 app \
    && useradd --system --uid 1000 --gid app --home-dir /app --shell /usr/sbin/nologin app

# Code stays owned by root (read-only for the app user); only media is writable.
COPY . .

# Static files are baked into the image (whitenoise serves them). The key below exists only
# for this build step; the running container must get a real SECRET_KEY from the environment.
RUN SECRET_KEY=build-only-dummy-secret-key-for-collectstatic-0123456789abcdefghijklmnop \
    python manage.py collectstatic --noinput \
    && mkdir -p /app/media \
    && chown app:app /app/media \
    && chmod 0755 /app/docker/entrypoint.sh

USER app

EXPOSE 8000
ENTRYPOINT ["/app/docker/entrypoint.sh"]
# `sh -c` so WEB_CONCURRENCY is read when the container starts; `exec` replaces the shell, so
# gunicorn itself receives SIGTERM from `docker stop`.
CMD ["sh", "-c", "exec gunicorn xuchang_portal.wsgi:application --bind 0.0.0.0:8000 --workers ${WEB_CONCURRENCY:-3} --access-logfile - --error-logfile - --no-control-socket"]
