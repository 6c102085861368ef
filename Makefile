# 许昌市“联乡帮村”工作平台: developer entry points.
#
#   make run           venv + deps + migrate + demo data (first time) + runserver :8000 (PORT=8100 …)
#   make test          pytest (SQLite + eager Celery unless DATABASE_URL / CELERY_BROKER_URL /
#                      REDIS_URL are set in the environment); PYTEST_ARGS="-k foo" to narrow
#   make lint          ruff check, ruff format --check, lint-imports, makemigrations --check,
#                      bandit -ll (security lint; config in pyproject.toml)
#   make bench         bench/run.py (imports), bench/import_errors.py (all-bad files: validation,
#                      the error workbook's download), bench/hostile.py (the worst uploads under
#                      10 MB: time and peak memory), bench/visits.py (visit logging under load),
#                      bench/dashboards.py (BENCH_DASHBOARDS_ARGS="--scale 10" for ten times the city)
#                      and bench/load.py (50 clients mixing visits, dashboards and lists for 30 s;
#                      BENCH_LOAD_ARGS="--quick" for 5 s × 10 clients)
#   make check-deploy  `check --deploy` against the production settings
#
# VENV can point elsewhere (CI uses a throwaway one): make test VENV=/tmp/ci/venv

SHELL := /bin/bash
.DEFAULT_GOAL := help

VENV ?= .venv
PYTHON ?= $(shell command -v python3.11 2>/dev/null || command -v python3)
PY := $(VENV)/bin/python
PIP := $(VENV)/bin/pip
STAMP := $(VENV)/.requirements-installed
PYTEST_ARGS ?=
PORT ?= 8000
BENCH_DASHBOARDS_ARGS ?=
BENCH_LOAD_ARGS ?=

DEMO_PASSWORD := demo12345
DEMO_USERS := admin:市级管理员 city:市级查看 county_yanling:鄢陵县干部 county_changge:长葛市干部 \
	township_zhangqiao:张桥镇干部 cadre_peizhuang:裴庄村帮扶干部

# Production settings with throwaway values, only for `check --deploy`.
DEPLOY_ENV := DJANGO_SETTINGS_MODULE=xuchang_portal.settings.production \
	DJANGO_READ_DOT_ENV_FILE=false DEBUG=false \
	SECRET_KEY=check-deploy-dummy-secret-key-not-used-anywhere-0123456789abcdefghij \
	ALLOWED_HOSTS=portal.example

.PHONY: help venv run test lint bench check-deploy

help:
	@sed -n '/^#   make/,/make check-deploy/p' $(firstword $(MAKEFILE_LIST)) | sed 's/^# \{0,1\}//'

# ----- virtualenv -----

$(PY):
	@test -n "$(PYTHON)" || { echo "python3.11 / python3 not found" >&2; exit 1; }
	$(PYTHON) -m venv $(VENV)

# Reinstall only when a requirements file is newer than the last install.
$(STAMP): requirements.txt requirements-dev.txt | $(PY)
	$(PIP) install --disable-pip-version-check -q -r requirements-dev.txt
	@touch $@

venv: $(STAMP)

# ----- targets -----

run: venv
	$(PY) manage.py migrate --noinput
	@if $(PY) manage.py shell -v 0 -c "import sys; from villages.models import Village; sys.exit(0 if Village.objects.exists() else 3)"; then \
		echo "数据库已有村(社区)数据，跳过 seed_demo。"; \
		echo "演示账号（密码均为 $(DEMO_PASSWORD)，仅供演示）："; \
		for u in $(DEMO_USERS); do printf "  %-20s %s\n" "$${u%%:*}" "$${u#*:}"; done; \
	else \
		$(PY) manage.py seed_demo; \
	fi
	@echo "打开 http://127.0.0.1:$(PORT)/ （Ctrl-C 停止）"
	$(PY) manage.py runserver 127.0.0.1:$(PORT)

# A .env written for compose (DATABASE_URL=…@db) must not leak into tests: it is read only
# when DJANGO_READ_DOT_ENV_FILE=true is set explicitly.
test: venv
	@set +e; DJANGO_READ_DOT_ENV_FILE=$${DJANGO_READ_DOT_ENV_FILE:-false} $(VENV)/bin/pytest $(PYTEST_ARGS); rc=$$?; \
	if [ $$rc -eq 5 ]; then echo "pytest collected no tests: treating as a failure" >&2; exit 1; fi; \
	exit $$rc

lint: venv
	@rc=0; \
	echo "== ruff check";          $(VENV)/bin/ruff check . || rc=1; \
	echo "== ruff format --check"; $(VENV)/bin/ruff format --check . || rc=1; \
	echo "== lint-imports";        $(VENV)/bin/lint-imports --no-cache || rc=1; \
	echo "== makemigrations --check"; $(PY) manage.py makemigrations --check --dry-run || rc=1; \
	echo "== bandit -ll";          $(VENV)/bin/bandit -c pyproject.toml -r . -ll -q || rc=1; \
	exit $$rc

# The benches run on an optimised CPython build, as production does: the official
# python:3.11 image (Dockerfile) is built with PGO and LTO. pyenv's default build is not, and
# runs the same code about a third slower. Debian's /usr/bin/python3.11 is an optimised build;
# BENCH_PYTHON picks another. The bench venv is separate (.venv-bench).
BENCH_PYTHON ?= $(firstword $(wildcard /usr/bin/python3.11) $(PYTHON))
BENCH_VENV ?= .venv-bench
BENCH_PY := $(BENCH_VENV)/bin/python

bench:
	@$(MAKE) --no-print-directory venv VENV=$(BENCH_VENV) PYTHON=$(BENCH_PYTHON)
	@echo "bench interpreter: $$($(BENCH_PY) -c 'import sys, platform; print(platform.python_version(), sys.base_prefix)')"
	@rc=0; \
	if [ -f bench/run.py ]; then \
		$(BENCH_PY) bench/run.py || rc=1; \
	else \
		echo "No benchmarks yet (bench/run.py does not exist)."; \
	fi; \
	if [ -f bench/import_errors.py ]; then \
		echo; $(BENCH_PY) bench/import_errors.py || rc=1; \
	fi; \
	if [ -f bench/hostile.py ]; then \
		echo; $(BENCH_PY) bench/hostile.py || rc=1; \
	fi; \
	if [ -f bench/visits.py ]; then \
		echo; $(BENCH_PY) bench/visits.py || rc=1; \
	fi; \
	if [ -f bench/dashboards.py ]; then \
		echo; $(BENCH_PY) bench/dashboards.py $(BENCH_DASHBOARDS_ARGS) || rc=1; \
	fi; \
	if [ -f bench/load.py ]; then \
		echo; $(BENCH_PY) bench/load.py $(BENCH_LOAD_ARGS) || rc=1; \
	fi; \
	exit $$rc

check-deploy: venv
	$(DEPLOY_ENV) $(PY) manage.py check --deploy --fail-level WARNING
