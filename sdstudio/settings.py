"""SD Studio settings, read from the environment.

Production differs from development through environment variables only:
DJANGO_DEBUG, DJANGO_SECRET_KEY, DJANGO_ALLOWED_HOSTS, DATABASE_URL, REDIS_URL,
MEDIA_ROOT, SDSTUDIO_MODEL, SDSTUDIO_DEVICE and the SDSTUDIO_* switches below.
"""
from __future__ import annotations

import os
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent


def env_bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    if value.lower() in {"1", "true", "yes", "on"}:
        return True
    if value.lower() in {"0", "false", "no", "off"}:
        return False
    raise ImproperlyConfigured(f"{name}={value!r} is not a boolean; use 1/0, true/false, yes/no or on/off.")


def env_list(name: str, default: str) -> list[str]:
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


DEBUG = env_bool("DJANGO_DEBUG", True)

SECRET_KEY = os.environ.get("DJANGO_SECRET_KEY", "")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured(
            "DJANGO_SECRET_KEY is empty. With DJANGO_DEBUG=0 set it to a long random string, "
            "e.g. `python -c 'import secrets; print(secrets.token_urlsafe(50))'`."
        )
    SECRET_KEY = "sdstudio-development-only-key-do-not-use-in-production-0123456789"

ALLOWED_HOSTS = env_list("DJANGO_ALLOWED_HOSTS", "localhost,127.0.0.1,[::1]" if DEBUG else "")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "django_rq",
    "axes",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "catalog",
    "generation",
    "evaluation",
    "api",
    "sdstudio",  # Last: its post_migrate handler sets up the roles once every app's permissions exist.
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",  # The browser's language (Accept-Language) or the cookie of the switch.
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "sdstudio.language.UserLanguageMiddleware",  # A signed-in user's own choice (sdstudio.models.UserPreference).
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "axes.middleware.AxesMiddleware",
    "csp.middleware.CSPMiddleware",
    "sdstudio.access.RoleRequiredMiddleware",
]

if not DEBUG:
    # Production serves collected static files itself (python manage.py collectstatic).
    MIDDLEWARE.insert(1, "whitenoise.middleware.WhiteNoiseMiddleware")

AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]

ROOT_URLCONF = "sdstudio.urls"

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
                "sdstudio.context_processors.studio",
            ],
        },
    },
]

WSGI_APPLICATION = "sdstudio.wsgi.application"

if not os.environ.get("DATABASE_URL"):
    (BASE_DIR / "var").mkdir(exist_ok=True)  # The default SQLite file lives in the git-ignored var/.
DATABASES = {
    "default": dj_database_url.parse(
        os.environ.get("DATABASE_URL") or f"sqlite:///{BASE_DIR / 'var' / 'sdstudio.sqlite3'}",
        # Each web process keeps its connection for a minute (checked before reuse): opening one per request
        # costs PostgreSQL a backend each time, the largest share of a small page's time under load.
        conn_max_age=int(os.environ.get("DATABASE_CONN_MAX_AGE", "60")),
        conn_health_checks=True,
    )
}
# SQLite (the default): the web process and the worker share the file. WAL lets pages read while
# the worker writes (readers never wait for a writer); the busy timeout makes writers wait for each
# other instead of failing with "database is locked"; IMMEDIATE transactions take the write lock up
# front, so a transaction never fails half-way on a lock upgrade. PostgreSQL needs none of this.
SQLITE_OPTIONS = {
    "timeout": 30,
    "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    "transaction_mode": "IMMEDIATE",
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    DATABASES["default"].setdefault("OPTIONS", {}).update(SQLITE_OPTIONS)

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# Mail, for password resets: SMTP when EMAIL_HOST is set; in development the console (the email is printed where
# the server runs, and the page says so); in production without EMAIL_HOST, password reset is switched off.
EMAIL_HOST = os.environ.get("EMAIL_HOST", "")
if EMAIL_HOST:
    EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    EMAIL_PORT = int(os.environ.get("EMAIL_PORT", "587"))
    EMAIL_HOST_USER = os.environ.get("EMAIL_HOST_USER", "")
    EMAIL_HOST_PASSWORD = os.environ.get("EMAIL_HOST_PASSWORD", "")
    EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", True)
else:
    EMAIL_BACKEND = "django.core.mail.backends.console.EmailBackend"
DEFAULT_FROM_EMAIL = os.environ.get("DEFAULT_FROM_EMAIL", "SD Studio <sdstudio@localhost>")
SDSTUDIO_PASSWORD_RESET = bool(EMAIL_HOST) or DEBUG
SDSTUDIO_MAIL_TO_CONSOLE = not EMAIL_HOST

# The REST API (/api/): per-user tokens (api.ApiToken) or the browser's session, the same roles as the pages.
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "api.authentication.ApiTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated", "api.permissions.HasRole"],
    "DEFAULT_PARSER_CLASSES": ["api.parsers.SafeJSONParser", "rest_framework.parsers.FormParser",
                               "rest_framework.parsers.MultiPartParser"],
    "DEFAULT_PAGINATION_CLASS": "rest_framework.pagination.PageNumberPagination",
    "PAGE_SIZE": 25,
    "DEFAULT_THROTTLE_CLASSES": ["rest_framework.throttling.UserRateThrottle", "rest_framework.throttling.AnonRateThrottle"],
    "DEFAULT_THROTTLE_RATES": {"user": os.environ.get("SDSTUDIO_API_RATE", "600/minute"), "anon": "30/minute"},
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "api.views.handle_exception",
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer", "rest_framework.renderers.BrowsableAPIRenderer"],
}
SPECTACULAR_SETTINGS = {
    "TITLE": "SD Studio API",
    "DESCRIPTION": "Products, photos, generation jobs (text2img, img2img, scene), reviews and shop exports. "
                   "Authenticate with the header Authorization: Bearer YOUR_TOKEN (make a token on /api/tokens/).",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SERVE_PERMISSIONS": ["rest_framework.permissions.IsAuthenticated"],
    "SWAGGER_UI_DIST": "SIDECAR",  # served from this app, no CDN
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
}

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en"
LANGUAGES = [("en", "English"), ("fr", "Français")]
LOCALE_PATHS = [BASE_DIR / "locale"]
LANGUAGE_COOKIE_AGE = 365 * 24 * 3600
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = BASE_DIR / "staticfiles"

MEDIA_URL = "/media/"
MEDIA_ROOT = Path(os.environ.get("MEDIA_ROOT") or BASE_DIR / "media")

STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"
        if DEBUG
        else "whitenoise.storage.CompressedManifestStaticFilesStorage"
    },
}

# Media on S3-compatible storage (AWS S3, MinIO, Ceph...) for several web and worker machines:
# set SDSTUDIO_S3_BUCKET (+ SDSTUDIO_S3_ENDPOINT_URL for non-AWS) and the usual AWS_ACCESS_KEY_ID /
# AWS_SECRET_ACCESS_KEY. Pages then link to short-lived signed URLs.
SDSTUDIO_S3_BUCKET = os.environ.get("SDSTUDIO_S3_BUCKET", "")
if SDSTUDIO_S3_BUCKET:
    STORAGES["default"] = {
        "BACKEND": "storages.backends.s3.S3Storage",
        "OPTIONS": {
            "bucket_name": SDSTUDIO_S3_BUCKET,
            "endpoint_url": os.environ.get("SDSTUDIO_S3_ENDPOINT_URL") or None,
            "region_name": os.environ.get("SDSTUDIO_S3_REGION") or None,
            "location": os.environ.get("SDSTUDIO_S3_PREFIX", ""),
            "querystring_auth": True,
            "querystring_expire": 3600,
            "file_overwrite": False,
        },
    }

LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

# Uploads: Django refuses request bodies above this before any view runs.
DATA_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024
FILE_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024
SDSTUDIO_UPLOAD_MAX_BYTES = int(os.environ.get("SDSTUDIO_UPLOAD_MAX_BYTES", str(25 * 1024 * 1024)))
SDSTUDIO_UPLOAD_MAX_PIXELS = int(os.environ.get("SDSTUDIO_UPLOAD_MAX_PIXELS", str(40_000_000)))
# Shop integration: image links fetched from a shop's CSV (catalog/fetch.py), public links and feeds.
SDSTUDIO_FETCH_TIMEOUT = float(os.environ.get("SDSTUDIO_FETCH_TIMEOUT", "20"))
SDSTUDIO_FETCH_MAX_BYTES = int(os.environ.get("SDSTUDIO_FETCH_MAX_BYTES", str(SDSTUDIO_UPLOAD_MAX_BYTES)))
SDSTUDIO_FETCH_ALLOW_HOSTS = env_list("SDSTUDIO_FETCH_ALLOW_HOSTS", "")  # tests only: addresses allowed though not public
# Where shops reach SD Studio (absolute public links in exports made outside a request, e.g. by a command).
SDSTUDIO_PUBLIC_BASE_URL = os.environ.get("SDSTUDIO_PUBLIC_BASE_URL", "http://127.0.0.1:8000").rstrip("/")
# The Merchant Center feed's offer id: {sku}, {handle} or {variant_sku} (one row per variant).
SDSTUDIO_FEED_ID_TEMPLATE = os.environ.get("SDSTUDIO_FEED_ID_TEMPLATE", "{sku}")

# Redis carries work; the database is the source of truth.
# `manage.py rundemo` starts a private Redis when REDIS_URL is unset and leaves its URL here while it
# runs, so commands in another terminal (generate, seed_tp_experiments...) reach the same Redis.
LOCAL_REDIS_URL_FILE = Path(os.environ.get("SDSTUDIO_LOCAL_REDIS_URL_FILE") or BASE_DIR / "var" / "local-redis-url")


def _local_redis_url() -> str:
    try:
        return LOCAL_REDIS_URL_FILE.read_text().strip()
    except OSError:
        return ""


# Neither set nor a running `make run`: no SD Studio Redis is known. The URL below only keeps the queues' settings
# valid; commands and workers refuse to use it (sdstudio.localredis.require_sdstudio_redis) rather than enqueue
# into whatever other Redis listens on the default port.
REDIS_URL_KNOWN = bool(os.environ.get("REDIS_URL") or _local_redis_url())
REDIS_URL = os.environ.get("REDIS_URL") or _local_redis_url() or "redis://127.0.0.1:6379/0"
SDSTUDIO_JOB_TIMEOUT = int(os.environ.get("SDSTUDIO_JOB_TIMEOUT", "1800"))
RQ_QUEUES = {
    "generation": {
        "URL": REDIS_URL,
        "DEFAULT_TIMEOUT": SDSTUDIO_JOB_TIMEOUT,
        "SERIALIZER": "rq.serializers.JSONSerializer",
    },
}
# Shop work (imports that fetch images) has its own queue and a light worker (catalog.worker.ShopWorker).
RQ_QUEUES["shop"] = {"URL": REDIS_URL, "DEFAULT_TIMEOUT": 3600, "SERIALIZER": "rq.serializers.JSONSerializer"}
RQ = {"WORKER_CLASS": "generation.worker.GenerationWorker"}
RQ_SHOW_ADMIN_LINK = True

# The diffusion model. Unset: the embedded model (SD v1.5's structure, tiny,
# built locally, images are noise). A Hub id or a local directory otherwise.
SDSTUDIO_MODEL = os.environ.get("SDSTUDIO_MODEL", "")
SDSTUDIO_MODEL_REVISION = os.environ.get("SDSTUDIO_MODEL_REVISION", "")
# Other models jobs may ask for before any worker has served them (comma-separated Hub ids or folders). Models a
# worker has served are accepted anyway; any other name is refused (it would wait forever on a queue of its own).
SDSTUDIO_MODELS = [name.strip() for name in os.environ.get("SDSTUDIO_MODELS", "").split(",") if name.strip()]
# A model's safety checker (SD v1.5 has one) runs on every output as a review signal: flagged outputs keep
# their pixels, are stored as flagged and shown blurred to reviewers. off = not loaded, not run.
SDSTUDIO_SAFETY_CHECKER = env_bool("SDSTUDIO_SAFETY_CHECKER", True)
# Scene mode: a dedicated inpainting checkpoint (its UNet; the VAE and text encoder stay shared), or blank to
# inpaint with the model's own UNet. Edge guidance: a ControlNet (e.g. lllyasviel/control_v11p_sd15_canny);
# the embedded model has its own.
# Content Credentials (C2PA) on every output: the signer's chain and key (PEM files), or a signing service's
# callback (dotted path to sign(data) -> signature, ES256) with its chain. Development settings without them sign
# with a development certificate made under var/c2pa; production without them leaves outputs unsigned.
SDSTUDIO_VERSION = "0.4.0"
SDSTUDIO_C2PA_CERT = os.environ.get("SDSTUDIO_C2PA_CERT", "")
SDSTUDIO_C2PA_KEY = os.environ.get("SDSTUDIO_C2PA_KEY", "")
SDSTUDIO_C2PA_SIGNER = os.environ.get("SDSTUDIO_C2PA_SIGNER", "")
SDSTUDIO_C2PA_DEV_DIR = Path(os.environ.get("SDSTUDIO_C2PA_DEV_DIR", BASE_DIR / "var" / "c2pa"))
SDSTUDIO_C2PA_DEV_SIGNING = env_bool("SDSTUDIO_C2PA_DEV_SIGNING", True)
SDSTUDIO_INPAINT_MODEL = os.environ.get("SDSTUDIO_INPAINT_MODEL", "")
# More generation modes: comma-separated modules that register one each (generation.modes.register), e.g. a
# relighting mode; the web process and every worker import them at start.
SDSTUDIO_EXTRA_MODES = [name.strip() for name in os.environ.get("SDSTUDIO_EXTRA_MODES", "").split(",") if name.strip()]
SDSTUDIO_CONTROLNET_MODEL = os.environ.get("SDSTUDIO_CONTROLNET_MODEL", "")
SDSTUDIO_DEVICE = os.environ.get("SDSTUDIO_DEVICE", "auto")
SDSTUDIO_DTYPE = os.environ.get("SDSTUDIO_DTYPE", "auto")
SDSTUDIO_MODEL_CACHE = Path(os.environ.get("SDSTUDIO_MODEL_CACHE") or BASE_DIR / "var" / "models")
SDSTUDIO_TORCH_THREADS = int(os.environ.get("SDSTUDIO_TORCH_THREADS", "0"))
# An optional learned segmenter for the automatic mask (catalog.segmenter): blank = the built-in method; a known
# name (isnet-general-use, birefnet-general, birefnet-general-lite, u2net: weights fetched on first use) or an .onnx
# path. It runs on the shop worker; the built-in mask stands until it has answered.
SDSTUDIO_SEGMENTER = os.environ.get("SDSTUDIO_SEGMENTER", "").strip()
SDSTUDIO_SEGMENTER_URL = os.environ.get("SDSTUDIO_SEGMENTER_URL", "").strip()  # a mirror of the known segmenter's file
SDSTUDIO_ATTENTION_SLICING = env_bool("SDSTUDIO_ATTENTION_SLICING", False)
SDSTUDIO_VAE_TILING = env_bool("SDSTUDIO_VAE_TILING", False)
SDSTUDIO_CPU_OFFLOAD = env_bool("SDSTUDIO_CPU_OFFLOAD", False)
SDSTUDIO_CHANNELS_LAST = env_bool("SDSTUDIO_CHANNELS_LAST", True)
SDSTUDIO_DETERMINISTIC = env_bool("SDSTUDIO_DETERMINISTIC", False)
SDSTUDIO_VAE_SLICING = env_bool("SDSTUDIO_VAE_SLICING", False)
SDSTUDIO_COMPILE = env_bool("SDSTUDIO_COMPILE", False)
SDSTUDIO_COMPILE_BACKEND = os.environ.get("SDSTUDIO_COMPILE_BACKEND", "inductor")
# Shapes run once at worker start-up (e.g. "512x512,768x512"); defaults to 512x512 when compiling.
SDSTUDIO_WARMUP_SHAPES = os.environ.get("SDSTUDIO_WARMUP_SHAPES", "512x512" if SDSTUDIO_COMPILE else "")
SDSTUDIO_PROGRESS_INTERVAL = float(os.environ.get("SDSTUDIO_PROGRESS_INTERVAL", "0.5"))
# The post-processing thread's niceness (Linux, per thread): it yields the CPU to the pipeline's threads. 0 = as is.
SDSTUDIO_POSTPROCESS_NICE = int(os.environ.get("SDSTUDIO_POSTPROCESS_NICE", "10"))
# A worker keeps its database connections this long (seconds; checked before reuse) instead of opening one per
# job: opening a SQLite connection costs ~2.5 ms in the gap between two pipeline calls. 0 = one per job.
SDSTUDIO_WORKER_CONN_MAX_AGE = int(os.environ.get("SDSTUDIO_WORKER_CONN_MAX_AGE", "600"))
# Every worker reconciles the database with Redis this often, busy or idle (seconds).
SDSTUDIO_RECONCILE_INTERVAL = max(1, int(os.environ.get("SDSTUDIO_RECONCILE_INTERVAL", "60")))
SDSTUDIO_HEARTBEAT_STALE_SECONDS = int(os.environ.get("SDSTUDIO_HEARTBEAT_STALE_SECONDS", "120"))
SDSTUDIO_MAX_ATTEMPTS = int(os.environ.get("SDSTUDIO_MAX_ATTEMPTS", "3"))
# Batching: a worker may run up to this many queued jobs of the same shape, steps, scheduler and
# guidance in one pipeline call (one generator per job). 1 = off.
SDSTUDIO_BATCH_MAX = max(1, int(os.environ.get("SDSTUDIO_BATCH_MAX", "1")))
# Campaign jobs each campaign keeps on its model's campaign queue at once (generation.campaigns): campaigns take turns.
SDSTUDIO_CAMPAIGN_WINDOW = max(1, int(os.environ.get("SDSTUDIO_CAMPAIGN_WINDOW", "2")))
# Finished images waiting for encoding and storage while the worker starts the next job (bounded: memory
# cannot grow; a full queue makes the worker wait). 0 = post-process inline, before the next job.
SDSTUDIO_POSTPROCESS_QUEUE = max(0, int(os.environ.get("SDSTUDIO_POSTPROCESS_QUEUE", "2")))

# Login throttling (django-axes): five failures from one address lock logins from it for an hour, whichever
# usernames were tried (one try per username, "password spraying", counts too). Not per username alone: anyone
# could then lock anyone out. `python manage.py axes_reset` unlocks.
AXES_FAILURE_LIMIT = int(os.environ.get("AXES_FAILURE_LIMIT", "5"))
AXES_COOLOFF_TIME = 1
AXES_LOCKOUT_PARAMETERS = ["ip_address"]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_TEMPLATE = "429.html"

# Deploy hardening: on whenever DEBUG is off.
SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"
if not DEBUG:
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_SSL_REDIRECT = env_bool("DJANGO_SECURE_SSL_REDIRECT", True)
    SECURE_HSTS_SECONDS = int(os.environ.get("DJANGO_HSTS_SECONDS", "31536000"))
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True
    # Only behind a proxy that sets X-Forwarded-Proto itself: trusted otherwise, a client's own header would pass
    # for HTTPS and skip the redirect (gunicorn binds 0.0.0.0).
    if env_bool("DJANGO_SECURE_PROXY_SSL_HEADER", False):
        SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    CSRF_TRUSTED_ORIGINS = env_list("DJANGO_CSRF_TRUSTED_ORIGINS", "")

# Content Security Policy (django-csp): the pages' scripts and styles are files of their own, so nothing inline runs.
# Media responses keep their stricter policy (sdstudio.media).
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "img-src": ["'self'", "data:", "blob:"],
        "object-src": ["'none'"],
        "base-uri": ["'self'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
    },
}
# Password reset requests: at most this many per hour from one address, and per email address (no mail bombing).
SDSTUDIO_PASSWORD_RESET_PER_HOUR = int(os.environ.get("SDSTUDIO_PASSWORD_RESET_PER_HOUR", "5"))

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "loggers": {
        "sdstudio": {"handlers": ["console"], "level": os.environ.get("SDSTUDIO_LOG_LEVEL", "INFO")},
        "generation": {"handlers": ["console"], "level": os.environ.get("SDSTUDIO_LOG_LEVEL", "INFO")},
        "catalog": {"handlers": ["console"], "level": os.environ.get("SDSTUDIO_LOG_LEVEL", "INFO")},
    },
}
