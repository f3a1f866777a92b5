"""Settings for backupsite, configured only by environment variables.

Every variable, its default and its meaning is listed in README.md ("Configuration"). The
defaults are the embedded ones: SQLite under var/, django-q2's ORM broker and filesystem
storage, so `make run` needs no server.
"""

import os
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlsplit

import dj_database_url
from csp.constants import NONE, SELF
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent


def env_bool(name: str, default: bool = False) -> bool:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_int(name: str, default: int) -> int:
    value = os.environ.get(name)
    return int(value) if value not in (None, "") else default


GB = 1000**3

DEBUG = env_bool("DJANGO_DEBUG", False)

SECRET_KEY = os.environ.get("DJANGO_SECRET_KEY", "")
if not SECRET_KEY:
    if not DEBUG:
        # A production server must never run on a key that is in the repository.
        raise ImproperlyConfigured(
            "DJANGO_SECRET_KEY is not set. Set it to a long random value "
            "(python -c 'import secrets; print(secrets.token_urlsafe(50))'), "
            "or set DJANGO_DEBUG=1 for local development."
        )
    SECRET_KEY = "insecure-development-key-only-used-when-DJANGO_DEBUG-is-on"  # noqa: S105

ALLOWED_HOSTS = [
    h.strip()
    for h in os.environ.get(
        "DJANGO_ALLOWED_HOSTS", "localhost,127.0.0.1,[::1]" if DEBUG else ""
    ).split(",")
    if h.strip()
]
CSRF_TRUSTED_ORIGINS = [
    o.strip() for o in os.environ.get("DJANGO_CSRF_TRUSTED_ORIGINS", "").split(",") if o.strip()
]

VAR_DIR = Path(os.environ.get("BACKUPSITE_VAR_DIR", BASE_DIR / "var"))

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "django_htmx",
    "django_q",
    "csp",
    # The JSON API (SPEC §10): DRF, its OpenAPI document, the docs page's own static files.
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "backups",
    # Last, as its documentation asks: it records logins of every app above.
    "axes",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "csp.middleware.CSPMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "backupsite.security.NoStoreForAuthenticatedMiddleware",
    # A5: the client's address on the audit events a request records.
    "backups.services.audit.RequestAddressMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    # Last, as django-axes asks: it turns a refused login into the lockout page.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "backupsite.urls"

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
            ],
        },
    },
]

WSGI_APPLICATION = "backupsite.wsgi.application"

# SQLite under var/ unless DATABASE_URL names another database (postgres://…).
DATABASES = {
    "default": dj_database_url.config(
        default=f"sqlite:///{VAR_DIR / 'db.sqlite3'}",
        conn_max_age=env_int("DATABASE_CONN_MAX_AGE", 0),
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    Path(DATABASES["default"]["NAME"]).parent.mkdir(parents=True, exist_ok=True)
    # The web server and the worker write to one file: wait for the lock instead of failing
    # at once, and take the write lock at BEGIN so a read-then-write cannot deadlock.
    DATABASES["default"]["OPTIONS"] = {
        # Seconds a write waits for another's lock. No job holds it for long (short
        # transactions); benchmarks/sqlite_load.py runs the web server with 2 to prove it.
        "timeout": env_int("BACKUPSITE_SQLITE_TIMEOUT", 30),
        "transaction_mode": "IMMEDIATE",
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    }

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# django-axes first: it refuses a locked-out login before any backend checks the password.
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

LANGUAGE_CODE = "en-gb"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = Path(os.environ.get("DJANGO_STATIC_ROOT", BASE_DIR / "staticfiles"))
STATICFILES_DIRS = [BASE_DIR / "static"]
# In development whitenoise serves straight from the source folders (no collectstatic).
WHITENOISE_AUTOREFRESH = DEBUG

# --- Storage -----------------------------------------------------------------------------
# "default" holds the products' attachments; "backups" holds backups, backup files and
# uploads, in a separate location so that a backup never shares keys with live content.
# BACKUPSITE_STORAGE=s3 puts both on an S3-compatible store (django-storages).
STORAGE_BACKEND = os.environ.get("BACKUPSITE_STORAGE", "filesystem")
MEDIA_ROOT = Path(os.environ.get("DJANGO_MEDIA_ROOT", VAR_DIR / "media"))
BACKUPS_ROOT = Path(os.environ.get("BACKUPSITE_BACKUPS_ROOT", VAR_DIR / "backups"))

if STORAGE_BACKEND == "s3":
    from boto3.s3.transfer import TransferConfig

    _s3 = {
        "endpoint_url": os.environ.get("S3_ENDPOINT_URL") or None,
        "region_name": os.environ.get("S3_REGION", "us-east-1"),
        "access_key": os.environ.get("S3_ACCESS_KEY_ID"),
        "secret_key": os.environ.get("S3_SECRET_ACCESS_KEY"),
        "signature_version": "s3v4",
        "addressing_style": os.environ.get("S3_ADDRESSING_STYLE", "path"),
        "file_overwrite": False,
        "default_acl": None,
        "querystring_auth": True,
        # Part size x threads stays at or under 64 MiB per upload (rclone and small hosts).
        "transfer_config": TransferConfig(
            multipart_threshold=16 * 1024 * 1024,
            multipart_chunksize=16 * 1024 * 1024,
            max_concurrency=4,
        ),
    }
    _default_storage = {
        "BACKEND": "storages.backends.s3.S3Storage",
        "OPTIONS": {**_s3, "bucket_name": os.environ.get("S3_ATTACHMENTS_BUCKET", "")},
    }
    _backups_storage = {
        "BACKEND": "storages.backends.s3.S3Storage",
        "OPTIONS": {**_s3, "bucket_name": os.environ.get("S3_BACKUPS_BUCKET", "")},
    }
elif STORAGE_BACKEND == "filesystem":
    _default_storage = {
        "BACKEND": "django.core.files.storage.FileSystemStorage",
        "OPTIONS": {"location": str(MEDIA_ROOT)},
    }
    _backups_storage = {
        "BACKEND": "django.core.files.storage.FileSystemStorage",
        "OPTIONS": {"location": str(BACKUPS_ROOT)},
    }
else:
    raise ImproperlyConfigured(
        f"BACKUPSITE_STORAGE must be 'filesystem' or 's3', not {STORAGE_BACKEND!r}."
    )

STORAGES = {
    "default": _default_storage,
    "backups": _backups_storage,
    "staticfiles": {
        "BACKEND": (
            "django.contrib.staticfiles.storage.StaticFilesStorage"
            if DEBUG
            else "whitenoise.storage.CompressedManifestStaticFilesStorage"
        )
    },
}

# --- Background jobs (django-q2) ------------------------------------------------------------
# The ORM broker needs no server; REDIS_URL switches to Redis for several worker hosts.
#
# Why these numbers: a backup of a large site runs for hours, so `timeout` is long (a task
# that hits it is killed; BACKUPSITE_STALE_AFTER and `fail_stale_jobs` then mark the job
# FAILED). `retry` must be larger than `timeout`, or the broker hands a task that is still
# running to a second worker. `max_attempts = 1`: a backup is never restarted by the queue;
# a job that died is failed by `fail_stale_jobs` and the admin runs a new one. The tasks also
# refuse to start a job that is not IN_PROGRESS-and-unstarted, so a redelivery is harmless.
Q_CLUSTER = {
    "name": "backupsite",
    "workers": env_int("Q_WORKERS", 2),
    "timeout": env_int("Q_TIMEOUT", 12 * 3600),
    "retry": env_int("Q_TIMEOUT", 12 * 3600) + 600,
    "max_attempts": 1,
    "ack_failures": True,
    "catch_up": False,
    "save_limit": 1000,
    "poll": 0.5,
    "label": "Background jobs",
    # A3: verifications have a queue and a cluster of their own, so that a long check never
    # waits in front of a backup or restore an admin asked for. `manage.py qcluster` with
    # Q_CLUSTER_NAME=verification runs it (same broker, its own queue); the main cluster never
    # takes its tasks. One worker: checks can wait, and they leave the host's CPU to the rest.
    "ALT_CLUSTERS": {
        "verification": {
            "workers": env_int("Q_VERIFICATION_WORKERS", 1),
            "label": "Backup verifications",
        },
    },
}
if os.environ.get("REDIS_URL"):
    Q_CLUSTER["redis"] = os.environ["REDIS_URL"]
else:
    Q_CLUSTER["orm"] = "default"

# --- Cache -----------------------------------------------------------------------------------
# Holds the live progress of restores, which write in one long transaction (see
# services/restores.py). It must be shared by the web server and the workers: a folder on
# one machine, Redis when there are several.
if os.environ.get("REDIS_URL"):
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": os.environ["REDIS_URL"],
        }
    }
else:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.filebased.FileBasedCache",
            "LOCATION": str(VAR_DIR / "cache"),
        }
    }

# --- Product rules (SPEC) -------------------------------------------------------------------
# B6: size limits of the service's storage, in bytes.
BACKUP_LIMITS = {
    "jira": {
        "data": env_int("BACKUP_LIMIT_JIRA_DATA", 40 * GB),
        "attachments": env_int("BACKUP_LIMIT_JIRA_ATTACHMENTS", 500 * GB),
    },
    "confluence": {
        "data": env_int("BACKUP_LIMIT_CONFLUENCE_DATA", 30 * GB),
        "attachments": env_int("BACKUP_LIMIT_CONFLUENCE_ATTACHMENTS", 800 * GB),
    },
}
# D2: the local download size limit.
LOCAL_DOWNLOAD_LIMIT = env_int("BACKUPSITE_LOCAL_DOWNLOAD_LIMIT", 50 * GB)
# D2, R9: the bytes one person may have declared in unfinished uploads (RECEIVING) at once;
# two full-size files, so that an upload begun again from scratch is not blocked for a day.
UPLOAD_UNFINISHED_LIMIT = env_int("BACKUPSITE_UPLOAD_UNFINISHED_LIMIT", 2 * LOCAL_DOWNLOAD_LIMIT)
# D4: how long a download link stays valid, in minutes.
DOWNLOAD_LINK_MINUTES = env_int("BACKUPSITE_DOWNLOAD_LINK_MINUTES", 10)
# D6: on S3, how long the presigned URL a download link hands out (once) stays valid, in seconds:
# only long enough for the browser to start the transfer, which S3 then finishes.
DOWNLOAD_PRESIGNED_SECONDS = env_int("BACKUPSITE_DOWNLOAD_PRESIGNED_SECONDS", 60)
# E3: a job with no heartbeat for this many seconds is considered dead.
STALE_AFTER_SECONDS = env_int("BACKUPSITE_STALE_AFTER", 30 * 60)
# #16 item 2: an attachment-store object no row names is swept (expire_backups, sweep_blobs)
# once it is this many hours old, and older than its organization's oldest running backup.
BLOB_SWEEP_GRACE_HOURS = env_int("BACKUPSITE_BLOB_SWEEP_GRACE_HOURS", 24)

# --- Email -----------------------------------------------------------------------------------
EMAIL_BACKEND = os.environ.get(
    "DJANGO_EMAIL_BACKEND", "django.core.mail.backends.console.EmailBackend"
)
EMAIL_HOST = os.environ.get("DJANGO_EMAIL_HOST", "localhost")
EMAIL_PORT = env_int("DJANGO_EMAIL_PORT", 25)
DEFAULT_FROM_EMAIL = os.environ.get("DJANGO_DEFAULT_FROM_EMAIL", "backupsite@localhost")
# SPEC §1: whom a not-enrolled organization's admins contact to join the early access (the
# site's own address, DJANGO_DEFAULT_FROM_EMAIL, until a deployment names another here).
EARLY_ACCESS_CONTACT = DEFAULT_FROM_EMAIL

# --- Security --------------------------------------------------------------------------------
SESSION_COOKIE_HTTPONLY = True
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
# A form sent from a stale page gets the site's page saying to reload, not Django's bare one.
CSRF_FAILURE_VIEW = "backups.views.errors.csrf_failure"
if not DEBUG:
    SECURE_SSL_REDIRECT = env_bool("DJANGO_SECURE_SSL_REDIRECT", True)
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_HSTS_SECONDS = env_int("DJANGO_HSTS_SECONDS", 31536000)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = env_bool("DJANGO_HSTS_PRELOAD", True)
    # Behind a TLS-terminating proxy (the usual deployment) the proxy sets this header.
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")

# --- Login throttling (django-axes) -----------------------------------------------------------
# A login is refused once a username, or an address, has this many failures within the
# cool-off; each further try restarts the cool-off. Per address too, so that one address cannot
# try many usernames; other users at that address log in until it reaches the limit. Staff
# unlock in Django admin ("Access attempts") or with `manage.py axes_reset_username <name>`.
AXES_FAILURE_LIMIT = env_int("BACKUPSITE_LOGIN_FAILURE_LIMIT", 10)
AXES_COOLOFF_TIME = timedelta(minutes=env_int("BACKUPSITE_LOGIN_COOLOFF_MINUTES", 15))
AXES_LOCKOUT_PARAMETERS = ["username", "ip_address"]
# A success does not clear the failures: with per-address counting it would clear every
# username's failures from that address (an attacker's own login would reset a victim's count).
AXES_RESET_ON_SUCCESS = False
AXES_LOCKOUT_CALLABLE = "backupsite.security.lockout_response"
AXES_CLIENT_IP_CALLABLE = "backupsite.security.client_ip"
# No start-up banner in every manage.py command's output.
AXES_VERBOSE = False
# Behind reverse proxies every request comes from the proxy: count the address the nearest
# of BACKUPSITE_PROXY_COUNT proxies saw instead (X-Forwarded-For, read from the right).
PROXY_COUNT = env_int("BACKUPSITE_PROXY_COUNT", 0)


# --- Content-Security-Policy (django-csp) --------------------------------------------------------
# Scripts and styles come from our own static files only: no inline script, style attribute or
# event handler anywhere (htmx's indicator styles are in site.css, see base.html).
def _download_origins() -> list[str]:
    """Where a Download click is redirected to: the bucket, on S3 (form-action covers it)."""
    if STORAGE_BACKEND != "s3":
        return []
    endpoint = os.environ.get("S3_ENDPOINT_URL")
    if not endpoint:
        return ["https://*.amazonaws.com"]
    parts = urlsplit(endpoint)
    if _s3["addressing_style"] == "virtual":
        bucket = os.environ.get("S3_BACKUPS_BUCKET", "")
        return [f"{parts.scheme}://{bucket}.{parts.netloc}"]
    return [f"{parts.scheme}://{parts.netloc}"]


CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "object-src": [NONE],
        "base-uri": [NONE],
        "frame-ancestors": [NONE],
        "form-action": [SELF, *_download_origins()],
    },
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": os.environ.get("DJANGO_LOG_LEVEL", "INFO")},
    "loggers": {
        "django.db.backends": {"level": "INFO"},
        # Failed logins and lockouts are warnings; axes' per-login housekeeping is not news.
        "axes": {"level": "WARNING"},
        # httpx logs every request to a connected site at INFO: a backup makes thousands.
        "httpx": {"level": "WARNING"},
    },
}

# --- Connected sites (SPEC §8) ------------------------------------------------------------
# C2: Fernet keys (comma-separated, newest first) that encrypt the sites' API tokens at rest.
CREDENTIAL_KEYS = [
    k.strip() for k in os.environ.get("BACKUPSITE_CREDENTIAL_KEYS", "").split(",") if k.strip()
]
if not CREDENTIAL_KEYS and DEBUG:
    # Development only (`make run`, the tests): a key derived from the secret key. Production
    # sets its own keys; without them, connecting a site is refused with what to set.
    import base64
    import hashlib

    CREDENTIAL_KEYS = [
        base64.urlsafe_b64encode(
            hashlib.sha256(b"backupsite credentials:" + SECRET_KEY.encode()).digest()
        ).decode()
    ]
# Hosts a connection may name besides Atlassian Cloud's (*.atlassian.net, over HTTPS): the
# contract server of the tests and the local test site of `make run` (loopback, plain HTTP).
# Anything else is refused, so a connection cannot make the server call inside its network.
CONNECTED_SITE_EXTRA_HOSTS = [
    h.strip()
    for h in os.environ.get(
        "BACKUPSITE_CONNECTED_SITE_EXTRA_HOSTS", "127.0.0.1,localhost" if DEBUG else ""
    ).split(",")
    if h.strip()
]
# A4: hosts a webhook endpoint may name over plain HTTP (a receiver on this machine while
# developing or testing). Every other endpoint must be an https:// address that is not inside
# a private network.
WEBHOOK_EXTRA_HOSTS = [
    h.strip()
    for h in os.environ.get(
        "BACKUPSITE_WEBHOOK_EXTRA_HOSTS", "127.0.0.1,localhost" if DEBUG else ""
    ).split(",")
    if h.strip()
]
# C4: tries of one call to a site (429, 5xx, dropped connections), and the first backoff in
# seconds (doubled each try, capped at 30 s, with full jitter; a 429's Retry-After wins).
SITE_RETRY_ATTEMPTS = env_int("BACKUPSITE_SITE_RETRY_ATTEMPTS", 6)
SITE_RETRY_BASE_DELAY = float(os.environ.get("BACKUPSITE_SITE_RETRY_BASE_DELAY", "0.5"))

# --- JSON API (SPEC §10) ----------------------------------------------------------------------
# Personal tokens only (K2): no session, so no CSRF and no cookie-borne calls from a page.
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": ["backups.api.auth.ApiTokenAuthentication"],
    "DEFAULT_PERMISSION_CLASSES": ["backups.api.auth.OrgAdminToken"],
    "DEFAULT_THROTTLE_CLASSES": ["backups.api.auth.TokenRateThrottle"],
    # K3: per token; a script that polls every second stays well under it.
    "DEFAULT_THROTTLE_RATES": {"token": os.environ.get("BACKUPSITE_API_RATE", "120/min")},
    "DEFAULT_PAGINATION_CLASS": "backups.api.pagination.Pagination",
    "PAGE_SIZE": env_int("BACKUPSITE_API_PAGE_SIZE", 50),
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["rest_framework.parsers.JSONParser"],
    "EXCEPTION_HANDLER": "backups.api.errors.exception_handler",
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "backupsite API",
    "DESCRIPTION": (
        "Back up and restore Jira and Confluence products: the same rules and words as the "
        "Backup and restore pages. Authenticate with `Authorization: Bearer <token>`; an org "
        "admin makes a token on the organization's API tokens page."
    ),
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
    "SERVE_PERMISSIONS": ["rest_framework.permissions.AllowAny"],
    "SERVE_AUTHENTICATION": [],
    "COMPONENT_SPLIT_REQUEST": True,
    # 3.1: its schemas are JSON Schema, so a null nested object (a backup without a file) is
    # said in a way every validator reads alike.
    "OAS_VERSION": "3.1.0",
    # The docs page's script and styles from our static files (whitenoise), not a CDN: CSP.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
}
