"""Settings shared by every environment. Everything that differs comes from the environment.

Variables (all listed with examples in `.env.example`):
DEBUG, SECRET_KEY, DATABASE_URL, REDIS_URL / CELERY_BROKER_URL, ALLOWED_HOSTS,
CSRF_TRUSTED_ORIGINS, MEDIA_ROOT, STATIC_ROOT, LOG_LEVEL; single sign-on (off by default):
OIDC_ENABLED and the other OIDC_* variables.
"""

import datetime
from pathlib import Path

import environ
from celery.schedules import crontab  # noqa: F401  (kept for beat schedules added by apps)
from csp import constants as csp
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parents[2]
env = environ.Env()
# A .env written for docker-compose (database host "db") must not hijack `make run`, so
# reading it is opt-in.
if env.bool("DJANGO_READ_DOT_ENV_FILE", default=False):
    env.read_env(str(BASE_DIR / ".env"), overwrite=False)

DEBUG = env.bool("DEBUG", default=False)
if DEBUG:
    SECRET_KEY = env("SECRET_KEY", default="insecure-dev-only-key-not-for-production")
else:
    # No default: a production process without a key must not start.
    SECRET_KEY = env("SECRET_KEY")

ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])
# The client's address (core.client_ip): X-Forwarded-For is read only from these
# reverse proxies (addresses or networks), the PROXY_COUNT-th address from its right end.
# Empty: the header is never read, the address is the one the request came from.
TRUSTED_PROXIES = env.list("TRUSTED_PROXIES", default=[])
PROXY_COUNT = env.int("PROXY_COUNT", default=1)

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "rest_framework",
    "rest_framework.authtoken",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "import_export",
    # django-axes, with Chinese names in the admin (core/axes_config.py).
    "core.axes_config.AxesConfig",
    "csp",
    # the ground floor (knows no domain), then the apps, each on the floors below it
    "core",
    "villages",
    "accounts",
    "visits",
    "stars",
    "disputes",
    "dashboards",
    # After the portal's apps: core's clean_old_history and clean_duplicate_history
    # (which never delete the audit trail) take the place of the library's commands.
    "simple_history",
]

# The history that may be tidied (simple-history's clean_old_history and
# clean_duplicate_history, core/management/commands): that of the reference tables, the
# areas, rosters, work units, the star catalogue and the 三零 units. Every other model's
# history is the audit trail of people and of what they did and were rated (logins, cadres,
# their links and roles, the visits with their review events and photos, problems, star
# awards and 软弱涣散 cases, the 三零 ledgers, and the rules, targets and years they were
# judged by): its rows are never deleted (core.history).
HISTORY_TIDY_MODELS = frozenset(
    {
        "villages.County",
        "villages.Township",
        "villages.Village",
        "villages.Branch",
        "villages.Roster",
        "villages.RosterEntry",
        "villages.WorkUnit",
        "stars.StarType",
        "stars.StarTask",
        "disputes.ThreeZeroUnit",
    }
)

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "csp.middleware.CSPMiddleware",
    # after CSP (its 413 page carries the nonce), before anything reads the body
    "core.middleware.RequestBodyLimitMiddleware",
    "simple_history.middleware.HistoryRequestMiddleware",
    "axes.middleware.AxesMiddleware",
    # idle sign-out, first/reset/expired passwords changed first (accounts.middleware)
    "accounts.middleware.AccountPolicyMiddleware",
    # marks pages with their user for the service worker's page cache (visits/pwa.py)
    "core.middleware.PortalUserHeaderMiddleware",
    "core.middleware.IntegrityErrorMiddleware",
]

ROOT_URLCONF = "xuchang_portal.urls"
# The area an import job may be limited to (core.models.ImportJob.county): a county.
JOBS_AREA_MODEL = "villages.County"
WSGI_APPLICATION = "xuchang_portal.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "villages.context_processors.portal_role",
            ],
        },
    },
]

DATABASES = {"default": env.db("DATABASE_URL", default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}")}
# Services own their transactions; requests are not wrapped wholesale.
DATABASES["default"]["ATOMIC_REQUESTS"] = False
DATABASES["default"]["CONN_MAX_AGE"] = env.int("CONN_MAX_AGE", default=0)
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    DATABASES["default"].setdefault("OPTIONS", {})
    DATABASES["default"]["OPTIONS"].setdefault("timeout", 20)
    DATABASES["default"]["OPTIONS"].setdefault("transaction_mode", "IMMEDIATE")
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    # length, character classes, no login name or phone number (accounts.passwords)
    {"NAME": "accounts.passwords.PolicyValidator"},
]
# The password and session policy (等保 2.0 level 2); see accounts/.
PASSWORD_MIN_LENGTH = env.int("PASSWORD_MIN_LENGTH", default=8)
PASSWORD_MIN_CLASSES = env.int("PASSWORD_MIN_CLASSES", default=3)  # of the four classes
PASSWORD_MAX_AGE_DAYS = env.int("PASSWORD_MAX_AGE_DAYS", default=0)  # 0: never expires
SESSION_IDLE_MINUTES = env.int("SESSION_IDLE_MINUTES", default=30)  # 0: no idle sign-out
# How long the first passwords an official drew can be downloaded, before they are wiped.
CREDENTIAL_SHEET_MINUTES = env.int("CREDENTIAL_SHEET_MINUTES", default=30)
# The login name of the accounts the roster imports open (帮扶干部及联系点 and 干部账号与角色,
# accounts.import_kinds): "phone" (default: the row's 11-digit mobile number) or
# "staff_no" (the roster's 工号 column, which every row must then carry, or the row is
# refused). Either way the account keeps both the phone and the 工号 (when given), and a
# phone or 工号 that already belongs to another person's account is a row error. Existing
# logins are never renamed when the rule changes; it applies to the logins opened after.
ACCOUNT_USERNAME = env("ACCOUNT_USERNAME", default="phone")
# The address printed on the 开通通知 slips; empty: the address the official is using.
PORTAL_URL = env("PORTAL_URL", default="")
PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2SHA1PasswordHasher",
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.BCryptSHA256PasswordHasher",
    "django.contrib.auth.hashers.ScryptPasswordHasher",
    # passwords the portal drew and handed out on paper (accounts.hashers)
    "accounts.hashers.IssuedPasswordHasher",
]
# Why a login may not have an API token yet (core.api.auth): a password to change first.
API_TOKEN_REFUSAL = "accounts.services.token_refusal"
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    # ModelBackend, loading the session's user together with their role and cadre record
    "villages.auth.PortalModelBackend",
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

# Single sign-on through an OpenID Connect provider (accounts/oidc.py, mozilla-django-oidc;
# README "单点登录（OIDC，可选）"), beside the local passwords. Off by default. The
# provider's user is the roster person with the phone number of the claim OIDC_PHONE_CLAIM;
# nobody is ever created from the provider. /oidc/ answers 404 while it is off.
OIDC_ENABLED = env.bool("OIDC_ENABLED", default=False)
OIDC_PROVIDER_NAME = env("OIDC_PROVIDER_NAME", default="政务单点登录")  # 使用…登录
OIDC_RP_CLIENT_ID = env("OIDC_RP_CLIENT_ID", default="")
OIDC_RP_CLIENT_SECRET = env("OIDC_RP_CLIENT_SECRET", default="")
OIDC_OP_AUTHORIZATION_ENDPOINT = env("OIDC_OP_AUTHORIZATION_ENDPOINT", default="")
OIDC_OP_TOKEN_ENDPOINT = env("OIDC_OP_TOKEN_ENDPOINT", default="")
OIDC_OP_USER_ENDPOINT = env("OIDC_OP_USER_ENDPOINT", default="")
OIDC_OP_JWKS_ENDPOINT = env("OIDC_OP_JWKS_ENDPOINT", default="")
OIDC_OP_ISSUER = env("OIDC_OP_ISSUER", default="")  # empty: the ID token's iss is not checked
OIDC_RP_SIGN_ALGO = env("OIDC_RP_SIGN_ALGO", default="RS256")
OIDC_RP_SCOPES = env("OIDC_RP_SCOPES", default="openid profile phone")
OIDC_PHONE_CLAIM = env("OIDC_PHONE_CLAIM", default="phone_number")
OIDC_TIMEOUT = env.float("OIDC_TIMEOUT", default=10.0)  # seconds per call to the provider
OIDC_CREATE_USER = False
if OIDC_ENABLED:
    _oidc_required = [
        "OIDC_RP_CLIENT_ID",
        "OIDC_RP_CLIENT_SECRET",
        "OIDC_OP_AUTHORIZATION_ENDPOINT",
        "OIDC_OP_TOKEN_ENDPOINT",
        "OIDC_OP_USER_ENDPOINT",
    ]
    if OIDC_RP_SIGN_ALGO.startswith(("RS", "ES")):
        _oidc_required.append("OIDC_OP_JWKS_ENDPOINT")
    _oidc_missing = [name for name in _oidc_required if not globals()[name]]
    if _oidc_missing:
        raise ImproperlyConfigured(f"OIDC_ENABLED=true，但未设置：{', '.join(_oidc_missing)}")
    AUTHENTICATION_BACKENDS.append("accounts.oidc.PortalOIDCBackend")

LANGUAGE_CODE = "zh-hans"
LANGUAGES = [("zh-hans", "简体中文")]
TIME_ZONE = "Asia/Shanghai"
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = Path(env("STATIC_ROOT", default=str(BASE_DIR / "staticfiles")))
STATICFILES_DIRS = [BASE_DIR / "static"]
MEDIA_URL = "/media/"
MEDIA_ROOT = Path(env("MEDIA_ROOT", default=str(BASE_DIR / "media")))
# The CJK font of the watermark burnt into visit photos (a .ttf/.otf/.ttc path). Empty: the
# first one found of visits.watermark.CJK_FONT_CANDIDATES (the image installs fonts-noto-cjk).
WATERMARK_FONT = env("WATERMARK_FONT", default="")
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}
# Request and upload limits, chosen from what the portal takes in (README, "Upload limits"):
# - a body with files (multipart) is at most the visit form with its 3 photos of at most
#   8 MB each, plus the fields; an import workbook is at most 10 MB. Larger bodies are
#   answered 413 before they are read (core.middleware), and the reverse proxy's
#   client_max_body_size is the same 25 MB;
# - any other body (a form, the API's JSON) is one record or one page of ticked rows, a
#   few KB: 2 MB leaves room for long texts;
# - the most fields one form posts are the admin's group permissions (about 300) and a
#   100-row page of the stars review with its buttons;
# - an uploaded file up to 5 MB (a phone photo) stays in memory, a larger one is spooled
#   to a temporary file that is deleted when the request ends.
UPLOAD_MAX_REQUEST_SIZE = 25 * 1024 * 1024
DATA_UPLOAD_MAX_MEMORY_SIZE = 2 * 1024 * 1024
DATA_UPLOAD_MAX_NUMBER_FIELDS = 1000
DATA_UPLOAD_MAX_NUMBER_FILES = 10
FILE_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024

# Cache and Celery: Redis when configured, otherwise local memory and eager tasks.
REDIS_URL = env("REDIS_URL", default="")
CELERY_BROKER_URL = env("CELERY_BROKER_URL", default=REDIS_URL)
if CELERY_BROKER_URL:
    CELERY_RESULT_BACKEND = env("CELERY_RESULT_BACKEND", default=CELERY_BROKER_URL)
    CELERY_TASK_ALWAYS_EAGER = False
else:
    CELERY_BROKER_URL = "memory://"
    CELERY_RESULT_BACKEND = "cache+memory://"
    CELERY_TASK_ALWAYS_EAGER = True
# Eager mode (no broker): a failing task marks its job failed and the page says so; it
# does not turn the request into a 500. Tests turn propagation back on.
CELERY_TASK_EAGER_PROPAGATES = False
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_TIMEZONE = TIME_ZONE
# Fault tolerance (README "Celery and Redis"; tests/hardening/test_faults.py). Each task
# also sets these itself (acks_late, retries with back-off, time limits): the values
# here are the defaults for anything else.
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1  # a worker holds one unacknowledged task at a time
CELERY_TASK_TIME_LIMIT = 15 * 60
CELERY_TASK_SOFT_TIME_LIMIT = 12 * 60
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# A Redis that is stopped, unreachable or hanging must cost a web request seconds, not
# minutes: short socket timeouts for the broker and the result store, and one publish
# attempt (a task that cannot be queued is kept in PendingTask and sent by beat later).
REDIS_CONNECT_TIMEOUT = env.float("REDIS_CONNECT_TIMEOUT", default=2.0)
REDIS_SOCKET_TIMEOUT = env.float("REDIS_SOCKET_TIMEOUT", default=3.0)
CELERY_BROKER_CONNECTION_TIMEOUT = REDIS_CONNECT_TIMEOUT
CELERY_BROKER_TRANSPORT_OPTIONS = {
    "socket_connect_timeout": REDIS_CONNECT_TIMEOUT,
    "socket_timeout": REDIS_SOCKET_TIMEOUT,
    # A task not acknowledged within this time goes back to the queue (acks_late: this is
    # how the task of a worker that died is delivered again). Longer than any task's hard
    # time limit, so a slow task is never run twice at once.
    "visibility_timeout": 60 * 60,
}
CELERY_REDIS_SOCKET_CONNECT_TIMEOUT = REDIS_CONNECT_TIMEOUT
CELERY_REDIS_SOCKET_TIMEOUT = REDIS_SOCKET_TIMEOUT
CELERY_TASK_PUBLISH_RETRY_POLICY = {
    "max_retries": 1,
    "interval_start": 0,
    "interval_step": 0.2,
    "interval_max": 0.2,
}
CELERY_BEAT_SCHEDULE: dict = {}
# disputes: the current year's 三零 status, nightly, before the dashboards' run.
CELERY_BEAT_SCHEDULE["sanling-nightly"] = {
    "task": "disputes.tasks.sanling_recompute_this_year",
    "schedule": crontab(hour=2, minute=0),
}
# dashboards: every snapshot nightly, and the years touched by recent changes every 30 s.
CELERY_BEAT_SCHEDULE["dashboards-nightly"] = {
    "task": "dashboards.tasks.compute_live_years",
    "schedule": crontab(hour=2, minute=15),
}
CELERY_BEAT_SCHEDULE["dashboards-changes"] = {
    "task": "dashboards.tasks.refresh_changed",
    "schedule": 30.0,
}
# Without a broker no beat runs (`make run`): the dashboard requests then look for changes
# themselves, at most every 30 s, and recompute in a background thread
# (dashboards.services.refresh_if_due). Set it true wherever beat does not run.
DASHBOARDS_REFRESH_IN_REQUESTS = env.bool(
    "DASHBOARDS_REFRESH_IN_REQUESTS", default=CELERY_TASK_ALWAYS_EAGER
)
# visits → villages: a village without a coordinate learns one from the GPS fixes of its
# approved visits (their median, once there are this many), nightly, for an official to confirm.
VILLAGE_LOCATION_MIN_FIXES = env.int("VILLAGE_LOCATION_MIN_FIXES", default=5)
CELERY_BEAT_SCHEDULE["village-locations-nightly"] = {
    "task": "visits.tasks.village_locations_learn",
    "schedule": crontab(hour=2, minute=30),
}
# villages: queue what could not be queued while Redis was down; fail dead imports.
CELERY_BEAT_SCHEDULE["pending-tasks"] = {
    "task": "core.tasks.pending_tasks_send",
    "schedule": 60.0,
}
CELERY_BEAT_SCHEDULE["import-reaper"] = {
    "task": "core.tasks.import_jobs_reap",
    "schedule": 60.0,
}
# villages: fail exports whose task was lost; delete export files older than this.
CELERY_BEAT_SCHEDULE["export-tidy"] = {
    "task": "core.tasks.export_jobs_tidy",
    "schedule": crontab(minute=40),
}
EXPORT_KEEP_DAYS = env.int("EXPORT_KEEP_DAYS", default=7)
# accounts: the first passwords of a sheet are wiped once CREDENTIAL_SHEET_MINUTES are up
# (also before any sheet is read, so a late beat never lets one be read past its time).
CELERY_BEAT_SCHEDULE["credential-sheets-wipe"] = {
    "task": "accounts.tasks.credential_sheets_wipe_due",
    "schedule": 60.0,
}

CACHE_URL = env("CACHE_URL", default=REDIS_URL)
# Every cache key starts with this: give each deployment that shares a Redis its own.
CACHE_KEY_PREFIX = env("CACHE_KEY_PREFIX", default="xuchang")
if CACHE_URL:
    CACHES = {
        "default": {
            # One client per pool, and answers like an empty cache while Redis is down
            # (see core/cache.py).
            "BACKEND": "core.cache.FaultTolerantRedisCache",
            "LOCATION": CACHE_URL,
            "KEY_PREFIX": CACHE_KEY_PREFIX,
            "OPTIONS": {
                "socket_connect_timeout": REDIS_CONNECT_TIMEOUT,
                "socket_timeout": REDIS_SOCKET_TIMEOUT,
            },
        }
    }
else:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
            "KEY_PREFIX": CACHE_KEY_PREFIX,
        }
    }
# Per-process memory for what is the same in every process and never changes while it runs
# (the navigation bar of each role: a dozen `{% url %}`s rendered on every page).
CACHES["local"] = {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": "local"}
# With a shared cache (Redis), sessions are read from it and written through to the
# database, so a request does not query the session table. A per-process cache (locmem)
# is not shared between workers, so a logout in one would not reach the others: sessions
# then stay in the database.
# With a shared cache, the signed-in user (with role and cadre record) is read from it as
# the session is, for this long; see villages.auth. Off (0) without a shared cache.
LOGIN_CACHE_SECONDS = env.int("LOGIN_CACHE_SECONDS", default=120) if CACHE_URL else 0
SESSION_ENGINE = (
    "django.contrib.sessions.backends.cached_db"
    if CACHE_URL
    else "django.contrib.sessions.backends.db"
)

# API tokens are accepted this long after they were issued; the token login then issues a
# fresh one (core.api.auth).
API_TOKEN_TTL = datetime.timedelta(hours=env.int("API_TOKEN_TTL_HOURS", default=24))
# Writes (POST, PUT, PATCH, DELETE) per signed-in user through the API, or per client
# address for the token login (core.api.throttling); reads are not throttled.
API_WRITE_RATE = env("API_WRITE_RATE", default="120/min")
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.SessionAuthentication",
        "core.api.authentication.ExpiringTokenAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_THROTTLE_CLASSES": ["core.api.throttling.UserWriteThrottle"],
    "DEFAULT_SCHEMA_CLASS": "core.api.schema.PortalAutoSchema",
    "DEFAULT_FILTER_BACKENDS": [
        "django_filters.rest_framework.DjangoFilterBackend",
        "rest_framework.filters.OrderingFilter",
    ],
    # The API speaks JSON: a form cannot say null or an empty list, so a form-encoded body
    # could not keep the schema's promises. (The token login and the visit form, which
    # carries photos, take forms as well.)
    "DEFAULT_PARSER_CLASSES": ["rest_framework.parsers.JSONParser"],
    "DEFAULT_PAGINATION_CLASS": "core.api.pagination.PortalPagination",
    "PAGE_SIZE": 50,
    "EXCEPTION_HANDLER": "core.api.exceptions.api_exception_handler",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "许昌市“联乡帮村”工作平台 API",
    "DESCRIPTION": "所有接口均按登录用户的管辖范围过滤；范围外的对象返回 404。",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SERVE_PERMISSIONS": ["rest_framework.permissions.IsAuthenticated"],
    "COMPONENT_SPLIT_REQUEST": True,
    # Swagger UI is served from our own static files (no CDN on government intranets).
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    # Several models call their choices "Status"; each gets its own name in the schema.
    "ENUM_NAME_OVERRIDES": {
        "ProblemStatusEnum": "visits.models.Problem.Status",
        "DisputeStatusEnum": "disputes.models.Dispute.Status",
        "PetitionStatusEnum": "disputes.models.Petition.Status",
        "HazardStatusEnum": "disputes.models.HazardCheck.Status",
        "WeakCaseStatusEnum": "stars.models.WeakBranchCase.Status",
        "SanlingOverrideEnum": "disputes.models.SanlingStatus.Override",
        "IncidentKindEnum": "disputes.models.Incident.Kind",
        "DisputeSourceEnum": "disputes.models.Dispute.Source",
        "IncidentSourceEnum": "disputes.models.Incident.Source",
    },
}

# django-axes: lock an account after 5 failed logins from one address: per username AND
# address, so nobody can lock `admin` (or anyone) out from elsewhere, and a township office
# behind one NAT address is not shut out by one colleague's typos on another account. The
# address is the one core.client_ip decides (X-Forwarded-For from TRUSTED_PROXIES
# only).
AXES_FAILURE_LIMIT = 5
AXES_COOLOFF_TIME = 1  # hours
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_CLIENT_IP_CALLABLE = "core.client_ip.client_ip"
AXES_LOCKOUT_TEMPLATE = "registration/locked_out.html"
AXES_RESET_ON_SUCCESS = True
# The single sign-on callback is no password guess: never counted or locked (accounts.oidc).
AXES_WHITELIST_CALLABLE = "accounts.oidc.axes_exempt"

# django-csp 4: no inline scripts; inline styles are not allowed either.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [csp.SELF],
        "script-src": [csp.SELF, csp.NONCE],
        "style-src": [csp.SELF],
        "img-src": [csp.SELF, "data:"],
        "font-src": [csp.SELF, "data:"],
        "connect-src": [csp.SELF],
        "frame-ancestors": [csp.NONE],
        "form-action": [csp.SELF],
        "base-uri": [csp.SELF],
        "object-src": [csp.NONE],
    }
}

# A failed CSRF check: a Chinese page without inline style (the CSP above), JSON under /api/.
CSRF_FAILURE_VIEW = "core.csrf.csrf_failure"

SESSION_COOKIE_HTTPONLY = True
CSRF_COOKIE_HTTPONLY = False  # htmx reads the token from the cookie-less meta tag instead
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_SAMESITE = "Lax"
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"

IMPORT_EXPORT_USE_TRANSACTIONS = True

# History is read, never rewritten: the admin's history pages have no "revert" (a revert
# would bypass the services' rules), and ScopedAdmin refuses the form's POST as well.
SIMPLE_HISTORY_REVERT_DISABLED = True

# Every record is written once, by the root console handler: the "django" logger keeps only
# Django's mail_admins (without ADMINS it sends nothing), not its DEBUG-only console handler,
# which printed each django.* record a second time. runserver's access lines keep their own
# handler and format. A refused request (403, 400) is one line, without the traceback Django
# attaches (core.log_filters); a 500 keeps its traceback. The filter sits on
# django.request, so every handler (pytest's caplog too) sees the short record, and on the
# console, for django.security.* events.
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {
        "client_error_one_line": {"()": "core.log_filters.ClientErrorOneLine"},
        "require_debug_false": {"()": "django.utils.log.RequireDebugFalse"},
    },
    "formatters": {
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"},
        "django.server": {
            "()": "django.utils.log.ServerFormatter",
            "format": "[{server_time}] {message}",
            "style": "{",
        },
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": "plain",
            "filters": ["client_error_one_line"],
        },
        "django.server": {
            "class": "logging.StreamHandler",
            "formatter": "django.server",
            "level": "INFO",
        },
        "mail_admins": {
            "class": "django.utils.log.AdminEmailHandler",
            "filters": ["require_debug_false"],
            "level": "ERROR",
        },
    },
    "root": {"handlers": ["console"], "level": env("LOG_LEVEL", default="INFO")},
    "loggers": {
        "axes": {"level": "WARNING"},
        "django": {"handlers": ["mail_admins"], "level": "INFO"},
        "django.request": {"filters": ["client_error_one_line"]},
        "django.server": {"handlers": ["django.server"], "level": "INFO", "propagate": False},
    },
}
