"""lpcfe settings, read from environment variables (see docs/configuration.md).

Every service has its own group (LDAP_*, BBB_*, MATRIX_*, SCHEDULE_*). Empty service settings
mean "use the embedded default": a local attendee table instead of LDAP, the labelled BBB
simulator instead of BBB, and the demo's local Synapse.
"""

import secrets
from pathlib import Path

from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext_lazy as _

from lpcfe.env import (
    database_from_url,
    env_bool,
    env_choice,
    env_int,
    env_list,
    env_str,
    env_url,
)

BASE_DIR = Path(__file__).resolve().parent.parent
DATA_DIR = Path(env_str("LPCFE_DATA_DIR", str(BASE_DIR / "var"))).resolve()

DEBUG = env_bool("DEBUG", False)


def _secret_key() -> str:
    key = env_str("SECRET_KEY")
    if key:
        return key
    if not DEBUG:
        raise ImproperlyConfigured("SECRET_KEY must be set (a long random string) unless DEBUG=1.")
    # Development only: one random key per data folder, so logins survive restarts.
    path = DATA_DIR / "secret_key"
    if not path.exists():
        DATA_DIR.mkdir(parents=True, exist_ok=True)
        path.write_text(secrets.token_urlsafe(50))
        path.chmod(0o600)
    return path.read_text().strip()


SECRET_KEY = _secret_key()

SITE_URL = env_url("SITE_URL", "http://127.0.0.1:8000")
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "127.0.0.1,localhost" if DEBUG else "")
if not ALLOWED_HOSTS:
    raise ImproperlyConfigured("ALLOWED_HOSTS must name the host(s) lpcfe is served on, comma-separated.")
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", SITE_URL)

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "sessions.apps.SessionsConfig",
    "chat_embed.apps.ChatEmbedConfig",
]

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
]

ROOT_URLCONF = "lpcfe.urls"
WSGI_APPLICATION = "lpcfe.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "sessions.context_processors.conference",
            ],
        },
    },
]

# Database: SQLite under the data folder unless DATABASE_URL names PostgreSQL.
_database_url = env_str("DATABASE_URL")
if _database_url:
    DATABASES = {"default": database_from_url("DATABASE_URL", _database_url)}
else:
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": DATA_DIR / "lpcfe.sqlite3",
            "OPTIONS": {
                "transaction_mode": "IMMEDIATE",
                "timeout": 20,
                "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
            },
        }
    }
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# The cache is shared by every front-end process: it holds BBB create results and login
# throttles, which must be counted once across all workers, never per process.
_cache_url = env_str("CACHE_URL")
if _cache_url.startswith("redis://") or _cache_url.startswith("rediss://"):
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": _cache_url}}
elif _cache_url.startswith("memcached://"):
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.memcached.PyMemcacheCache",
            "LOCATION": _cache_url.removeprefix("memcached://"),
        }
    }
elif _cache_url in ("", "db"):
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.db.DatabaseCache", "LOCATION": "lpcfe_cache"}}
else:
    raise ImproperlyConfigured(f"CACHE_URL={_cache_url!r}: use db, redis://host:port/n or memcached://host:port.")

# Login sessions
SESSION_ENGINE = "django.contrib.sessions.backends.db"
SESSION_COOKIE_AGE = env_int("LOGIN_SESSION_HOURS", 24 * 7, minimum=1) * 3600
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "now"
LOGOUT_REDIRECT_URL = "login"
# Header a trusted reverse proxy sets to the client address (e.g. HTTP_X_FORWARDED_FOR);
# empty means REMOTE_ADDR. Only set it behind a proxy that overwrites the header.
CLIENT_IP_HEADER = env_str("CLIENT_IP_HEADER")

# Security: production defaults are strict; `manage.py check --deploy` stays clean.
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https") if env_bool("BEHIND_TLS_PROXY", False) else None
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", not DEBUG)
SESSION_COOKIE_SECURE = env_bool("SECURE_COOKIES", not DEBUG)
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 0 if DEBUG else 31536000, minimum=0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", not DEBUG)
SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", False)
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"

# Internationalisation: user-facing strings are marked for translation.
LANGUAGE_CODE = env_str("LANGUAGE_CODE", "en")
LANGUAGES = [("en", _("English"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
USE_I18N = True
USE_TZ = True
TIME_ZONE = "UTC"

STATIC_URL = "/static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"
        if DEBUG
        else "whitenoise.storage.CompressedManifestStaticFilesStorage"
    },
}

# Email ("email me my code again"): console in development, SMTP otherwise.
EMAIL_BACKEND = env_str(
    "EMAIL_BACKEND",
    "django.core.mail.backends.console.EmailBackend" if DEBUG else "django.core.mail.backends.smtp.EmailBackend",
)
EMAIL_HOST = env_str("EMAIL_HOST", "localhost")
EMAIL_PORT = env_int("EMAIL_PORT", 25, minimum=1)
EMAIL_HOST_USER = env_str("EMAIL_HOST_USER")
EMAIL_HOST_PASSWORD = env_str("EMAIL_HOST_PASSWORD")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", False)
EMAIL_TIMEOUT = 10
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", "lpcfe@localhost")

# --- SCHEDULE_* -------------------------------------------------------------------------
# Minutes before a room's first session of the day that attendees may join, and that
# speakers/moderators may join.
SCHEDULE_JOIN_OPEN_MINUTES = env_int("SCHEDULE_JOIN_OPEN_MINUTES", 10, minimum=0)
SCHEDULE_SPEAKER_OPEN_MINUTES = env_int("SCHEDULE_SPEAKER_OPEN_MINUTES", 30, minimum=0)
# Where `import_schedule --periodic` reads from when no source is given.
SCHEDULE_SOURCE = env_str("SCHEDULE_SOURCE")
SCHEDULE_FETCH_TIMEOUT = env_int("SCHEDULE_FETCH_TIMEOUT", 20, minimum=1)
# Sent as "Authorization: Bearer <token>" when fetching a URL source (an Indico API token), so
# no key has to sit in the URL, where it would end up in logs.
SCHEDULE_SOURCE_TOKEN = env_str("SCHEDULE_SOURCE_TOKEN")

# --- LDAP_* -----------------------------------------------------------------------------
# Empty LDAP_URI: attendees are checked against the local attendee table.
LDAP_URI = env_str("LDAP_URI")
LDAP_START_TLS = env_bool("LDAP_START_TLS", False)
LDAP_BIND_DN = env_str("LDAP_BIND_DN")
LDAP_BIND_PASSWORD = env_str("LDAP_BIND_PASSWORD")
LDAP_USER_BASE = env_str("LDAP_USER_BASE")
LDAP_TIMEOUT = env_int("LDAP_TIMEOUT", 5, minimum=1)

# --- BBB_* ------------------------------------------------------------------------------
# Empty BBB_URL (and no BBB_SERVERS_FILE): the labelled local BBB simulator stands in.
BBB_URL = env_url("BBB_URL")
BBB_SECRET = env_str("BBB_SECRET")
BBB_SERVERS_FILE = env_str("BBB_SERVERS_FILE")
BBB_CHECKSUM = env_choice("BBB_CHECKSUM", "sha256", ("sha1", "sha256", "sha384", "sha512"))
BBB_TIMEOUT = env_int("BBB_TIMEOUT", 5, minimum=1)
BBB_SIMULATOR = not (BBB_URL or BBB_SERVERS_FILE)
if BBB_URL and not BBB_SECRET:
    raise ImproperlyConfigured("BBB_URL is set but BBB_SECRET is empty: set the shared secret of that server.")

# --- MATRIX_* ---------------------------------------------------------------------------
MATRIX_URL = env_url("MATRIX_URL")  # how the front end reaches the homeserver
MATRIX_PUBLIC_URL = env_url("MATRIX_PUBLIC_URL", MATRIX_URL)  # how browsers reach it
MATRIX_SERVER_NAME = env_str("MATRIX_SERVER_NAME")
MATRIX_ADMIN_TOKEN = env_str("MATRIX_ADMIN_TOKEN")
MATRIX_TIMEOUT = env_int("MATRIX_TIMEOUT", 10, minimum=1)
if MATRIX_URL and not MATRIX_SERVER_NAME:
    raise ImproperlyConfigured("MATRIX_URL is set but MATRIX_SERVER_NAME is empty.")

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "INFO").upper()},
    "loggers": {"django.db.backends": {"level": "WARNING"}},
}
