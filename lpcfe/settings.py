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
    "console.apps.ConsoleConfig",
]

MIDDLEWARE = [
    # nginx's question before each live chat subscription, answered without the page middleware below.
    "chat_embed.live_views.AuthorizeFirstMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "sessions.models.ConferenceMemoMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # Renders every page in the viewer's time zone (cookie set by the browser or the selector).
    "sessions.timezones.TimezoneMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    # Before XFrameOptionsMiddleware: frame-ancestors follows the X-Frame-Options it sets.
    "lpcfe.csp.ContentSecurityPolicyMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # Inside everything above, so our 404 page gets the viewer, the zone and the messages.
    "sessions.errors.FriendlyNotFoundMiddleware",
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
# Django's default of 300 entries would cull BBB meetings and login throttles as soon as a join
# storm stashes its links; expired rows are still removed as they are met.
_cache_max_entries = env_int("CACHE_MAX_ENTRIES", 1_000_000, minimum=1000)
if _cache_url.startswith("redis://") or _cache_url.startswith("rediss://"):
    CACHES = {
        "default": {
            # While Redis cannot be reached, the database cache table stands in (lpcfe/cache.py).
            "BACKEND": "lpcfe.cache.RedisWithFallback",
            "LOCATION": _cache_url,
            "OPTIONS": {"socket_connect_timeout": 1, "socket_timeout": 2},
            "FALLBACK_MAX_ENTRIES": _cache_max_entries,
        }
    }
elif _cache_url.startswith("memcached://"):
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.memcached.PyMemcacheCache",
            "LOCATION": _cache_url.removeprefix("memcached://"),
        }
    }
elif _cache_url in ("", "db"):
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.db.DatabaseCache",
            "LOCATION": "lpcfe_cache",
            "OPTIONS": {"MAX_ENTRIES": _cache_max_entries},
        }
    }
else:
    raise ImproperlyConfigured(f"CACHE_URL={_cache_url!r}: use db, redis://host:port/n or memcached://host:port.")

# Login sessions
# Saved key by key, so that two requests of one page cannot drop each other's changes.
SESSION_ENGINE = "lpcfe.sessionstore"
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
# The homeserver pushes to the application service over loopback, in plain HTTP (docs/live-chat.md).
SECURE_REDIRECT_EXEMPT = [r"^_matrix/app/"]
SESSION_COOKIE_SECURE = env_bool("SECURE_COOKIES", not DEBUG)
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 0 if DEBUG else 31536000, minimum=0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", not DEBUG)
SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", not DEBUG)
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
# The BBB client plugin, built by bin/build-plugin (npm ci && npm run build in bbb_plugin/).
BBB_PLUGIN_DIST = BASE_DIR / "bbb_plugin" / "dist"
if BBB_PLUGIN_DIST.is_dir():
    STATICFILES_DIRS.append(("bbb-plugin", BBB_PLUGIN_DIST))
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
# Open now pages update at each session boundary plus a random 0..N seconds, so they do not
# all ask the server in the same second.
SCHEDULE_REFRESH_JITTER_SECONDS = env_int("SCHEDULE_REFRESH_JITTER_SECONDS", 30, minimum=0)
# Sent as "Authorization: Bearer <token>" when fetching a URL source (an Indico API token), so
# no key has to sit in the URL, where it would end up in logs.
SCHEDULE_SOURCE_TOKEN = env_str("SCHEDULE_SOURCE_TOKEN")
# Two sessions at once in one room refuse the whole import unless this is on: then they are
# imported, listed as warnings and shown side by side (large published schedules have a few).
SCHEDULE_ALLOW_OVERLAPS = env_bool("SCHEDULE_ALLOW_OVERLAPS", False)
# Organisers' announcements from the console: at most this many per organiser per 10 minutes.
SCHEDULE_ANNOUNCEMENTS_PER_10_MINUTES = env_int("SCHEDULE_ANNOUNCEMENTS_PER_10_MINUTES", 5, minimum=1)

# --- LDAP_* -----------------------------------------------------------------------------
# Empty LDAP_URI: attendees are checked against the local attendee table.
LDAP_URI = env_str("LDAP_URI")
LDAP_START_TLS = env_bool("LDAP_START_TLS", False)
LDAP_BIND_DN = env_str("LDAP_BIND_DN")
LDAP_BIND_PASSWORD = env_str("LDAP_BIND_PASSWORD")
LDAP_USER_BASE = env_str("LDAP_USER_BASE")
LDAP_TIMEOUT = env_int("LDAP_TIMEOUT", 5, minimum=1)
# CA certificate(s) for ldaps:// or StartTLS against a private CA; empty: the system's CAs.
LDAP_CA_FILE = env_str("LDAP_CA_FILE")
# Attributes of a person entry, and the search that finds one by email (%(user)s is the email).
LDAP_EMAIL_ATTR = env_str("LDAP_EMAIL_ATTR", "mail")
LDAP_FIRST_NAME_ATTR = env_str("LDAP_FIRST_NAME_ATTR", "givenName")
LDAP_LAST_NAME_ATTR = env_str("LDAP_LAST_NAME_ATTR", "sn")
LDAP_USER_FILTER = env_str("LDAP_USER_FILTER", f"(&(objectClass=inetOrgPerson)({LDAP_EMAIL_ATTR}=%(user)s))")
# Roles come from an attribute of the person (values: attendee, speaker, moderator, organiser)
# and/or from group membership; the highest role found wins. Empty LDAP_ROLE_ATTR: no attribute.
LDAP_ROLE_ATTR = env_str("LDAP_ROLE_ATTR", "employeeType")
LDAP_GROUP_BASE = env_str("LDAP_GROUP_BASE")  # empty: groups are not read
LDAP_GROUP_FILTER = env_str("LDAP_GROUP_FILTER", "(objectClass=groupOfNames)")
LDAP_GROUP_TYPE = env_choice("LDAP_GROUP_TYPE", "groupofnames", ("groupofnames", "groupofuniquenames", "posixgroup"))


def _role_groups(name: str) -> dict[str, str]:
    """role=group-name pairs, e.g. organiser=organisers,speaker=speakers."""
    pairs = {}
    for item in env_list(name, "organiser=organisers,moderator=moderators,speaker=speakers"):
        role, sep, group = (part.strip() for part in item.partition("="))
        if not sep or not group or role not in ("attendee", "speaker", "moderator", "organiser"):
            raise ImproperlyConfigured(f"{name}: {item!r} is not role=group (roles: speaker, moderator, organiser).")
        pairs[role] = group
    return pairs


LDAP_ROLE_GROUPS = _role_groups("LDAP_ROLE_GROUPS")
# The import writes with its own DN (the login only reads); new entries go under LDAP_IMPORT_BASE.
LDAP_ADMIN_DN = env_str("LDAP_ADMIN_DN")
LDAP_ADMIN_PASSWORD = env_str("LDAP_ADMIN_PASSWORD")
LDAP_IMPORT_BASE = env_str("LDAP_IMPORT_BASE", LDAP_USER_BASE)
# How the import hashes regcodes into userPassword: ssha works on every OpenLDAP; ssha256 and
# ssha512 need slapd's pw-sha2 module.
LDAP_PASSWORD_SCHEME = env_choice("LDAP_PASSWORD_SCHEME", "ssha", ("ssha", "ssha256", "ssha512"))
if LDAP_URI and not LDAP_USER_BASE:
    raise ImproperlyConfigured("LDAP_URI is set but LDAP_USER_BASE is empty: name the DN that holds the attendees.")
if "%(user)s" not in LDAP_USER_FILTER:
    raise ImproperlyConfigured(f"LDAP_USER_FILTER={LDAP_USER_FILTER!r} must contain %(user)s (the email searched for).")
AUTHENTICATION_BACKENDS = [
    "sessions.directory.LDAPDirectoryBackend" if LDAP_URI else "sessions.directory.LocalDirectoryBackend",
    # Superusers made with createsuperuser log in to the admin with a password.
    "django.contrib.auth.backends.ModelBackend",
]

# --- LOGIN_* (throttling, "email me my code", guests) ------------------------------------
# Wrong codes per email address (and, more generously, per client address: a venue's NAT
# can put hundreds of people behind one address) before each further try is delayed, then
# before a lockout of LOGIN_LOCKOUT_SECONDS.
LOGIN_SLOW_AFTER = env_int("LOGIN_SLOW_AFTER", 3, minimum=1)
LOGIN_LOCK_AFTER = env_int("LOGIN_LOCK_AFTER", 10, minimum=1)
LOGIN_IP_SLOW_AFTER = env_int("LOGIN_IP_SLOW_AFTER", 30, minimum=1)
LOGIN_IP_LOCK_AFTER = env_int("LOGIN_IP_LOCK_AFTER", 100, minimum=1)
LOGIN_MAX_DELAY_SECONDS = env_int("LOGIN_MAX_DELAY_SECONDS", 60, minimum=1)
LOGIN_LOCKOUT_SECONDS = env_int("LOGIN_LOCKOUT_SECONDS", 900, minimum=1)
# "Email me my code again": requests per address and per client address, per hour.
LOGIN_RESEND_PER_HOUR = env_int("LOGIN_RESEND_PER_HOUR", 3, minimum=1)
LOGIN_RESEND_IP_PER_HOUR = env_int("LOGIN_RESEND_IP_PER_HOUR", 30, minimum=1)
LOGIN_GUEST_SESSION_HOURS = env_int("LOGIN_GUEST_SESSION_HOURS", 12, minimum=1)
# Ends guest sessions on the next request once an organiser switches guest mode off.
MIDDLEWARE.append("sessions.guests.GuestSessionMiddleware")

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
# How lpcfe reaches each host named in BBB_SERVERS_FILE ({host} is replaced by the host).
BBB_SERVERS_API_URL = env_str("BBB_SERVERS_API_URL", "https://{host}/bigbluebutton/api").rstrip("/")
if "{host}" not in BBB_SERVERS_API_URL:
    raise ImproperlyConfigured(f"BBB_SERVERS_API_URL={BBB_SERVERS_API_URL!r} must contain {{host}}.")
# embed: the room page shows BBB beside the chat; redirect: the browser goes straight to BBB.
BBB_JOIN_MODE = env_choice("BBB_JOIN_MODE", "embed", ("embed", "redirect"))
# Passed to create as disabledFeatures; chat is off because the room page shows the Matrix chat.
BBB_DISABLED_FEATURES = env_list("BBB_DISABLED_FEATURES", "chat")
# Room types whose meetings are recorded (recording starts automatically).
BBB_RECORD_ROOM_KINDS = env_list("BBB_RECORD_ROOM_KINDS", "session")
_unknown_kinds = set(BBB_RECORD_ROOM_KINDS) - {"session", "hack", "private", "public"}
if _unknown_kinds:
    raise ImproperlyConfigured(
        f"BBB_RECORD_ROOM_KINDS names unknown room types {sorted(_unknown_kinds)}: use session, hack, private, public."
    )
# Origins the room page's BBB frame may also show, besides BBB_URL and the servers file: the BBB
# hosts behind a Scalelite, which redirects each join to one of them (Content-Security-Policy).
BBB_FRAME_ORIGINS = env_list("BBB_FRAME_ORIGINS")
_bad_origins = [o for o in BBB_FRAME_ORIGINS if not o.startswith(("https://", "http://"))]
if _bad_origins:
    raise ImproperlyConfigured(f"BBB_FRAME_ORIGINS: {_bad_origins} must start with https:// or http://.")
# Lets BBB accept a join whose browser lost BBB's session cookie (third-party iframe); see docs/bbb.md.
BBB_ALLOW_REQUESTS_WITHOUT_SESSION = env_bool("BBB_ALLOW_REQUESTS_WITHOUT_SESSION", False)
# Prefix of every meetingID (the room slug follows), so conferences sharing a Scalelite never collide.
BBB_MEETING_ID_PREFIX = env_str("BBB_MEETING_ID_PREFIX")
# How long a create result (with its createTime) is reused before create is called again.
BBB_MEETING_CACHE_SECONDS = env_int("BBB_MEETING_CACHE_SECONDS", 120, minimum=10)
# on: meetings load lpcfe's BBB client plugin (BBB 3.0+), which shows our chat in BBB's side
# panel; join URLs then carry the chat address with a 60-second single-use ticket. Off: no ticket.
BBB_CHAT_PLUGIN = env_bool("BBB_CHAT_PLUGIN", False)
if BBB_CHAT_PLUGIN and not (BBB_PLUGIN_DIST / "manifest.json").is_file():
    raise ImproperlyConfigured("BBB_CHAT_PLUGIN is on but the plugin is not built: run bin/build-plugin first.")
if BBB_SIMULATOR:
    # The labelled local stand-in, mounted at /bbb-simulator/bigbluebutton/ (never in production).
    INSTALLED_APPS.append("bbb_simulator.apps.BBBSimulatorConfig")

# --- MATRIX_* ---------------------------------------------------------------------------
MATRIX_URL = env_url("MATRIX_URL")  # how the front end reaches the homeserver
MATRIX_PUBLIC_URL = env_url("MATRIX_PUBLIC_URL", MATRIX_URL)  # how browsers reach it
MATRIX_SERVER_NAME = env_str("MATRIX_SERVER_NAME")
MATRIX_ADMIN_TOKEN = env_str("MATRIX_ADMIN_TOKEN")
MATRIX_TIMEOUT = env_int("MATRIX_TIMEOUT", 10, minimum=1)
if MATRIX_URL and not MATRIX_SERVER_NAME:
    raise ImproperlyConfigured("MATRIX_URL is set but MATRIX_SERVER_NAME is empty.")
# Only used by `manage.py matrix_create_admin` to make the admin user MATRIX_ADMIN_TOKEN belongs to.
MATRIX_REGISTRATION_SHARED_SECRET = env_str("MATRIX_REGISTRATION_SHARED_SECRET")
# all: provisioning joins every attendee to every track room; on_open: the chat page joins
# them to a room the first time they open it (still through the admin API).
MATRIX_JOIN_MODE = env_choice("MATRIX_JOIN_MODE", "all", ("all", "on_open"))
MATRIX_PROVISION_WORKERS = env_int("MATRIX_PROVISION_WORKERS", 4, minimum=1)
# Longest total wait for 429 answers in one call: provisioning, and a page's token request.
MATRIX_PROVISION_RETRY_SECONDS = env_int("MATRIX_PROVISION_RETRY_SECONDS", 300, minimum=0)
MATRIX_INTERACTIVE_RETRY_SECONDS = env_int("MATRIX_INTERACTIVE_RETRY_SECONDS", 10, minimum=0)
# Prefix for every room alias this conference creates (e.g. "lpc2026-"), so conferences can share a homeserver.
MATRIX_ROOM_ALIAS_PREFIX = env_str("MATRIX_ROOM_ALIAS_PREFIX")
# Chat tokens: "day-end" (midnight in the conference's zone) or a number of hours; renewed
# when less than MATRIX_SESSION_RENEW_MINUTES remain.
MATRIX_SESSION_EXPIRY = env_str("MATRIX_SESSION_EXPIRY", "day-end").lower()
if MATRIX_SESSION_EXPIRY != "day-end" and not (MATRIX_SESSION_EXPIRY.isdigit() and int(MATRIX_SESSION_EXPIRY) > 0):
    raise ImproperlyConfigured(f"MATRIX_SESSION_EXPIRY={MATRIX_SESSION_EXPIRY!r}: use day-end or a number of hours.")
MATRIX_SESSION_RENEW_MINUTES = env_int("MATRIX_SESSION_RENEW_MINUTES", 60, minimum=1)
MATRIX_GUESTS_CAN_POST = env_bool("MATRIX_GUESTS_CAN_POST", False)
MATRIX_GUEST_ACCOUNTS_PER_MINUTE = env_int("MATRIX_GUEST_ACCOUNTS_PER_MINUTE", 30, minimum=0)
MATRIX_GUEST_ACCOUNTS_PER_ADDRESS_PER_HOUR = env_int("MATRIX_GUEST_ACCOUNTS_PER_ADDRESS_PER_HOUR", 5, minimum=0)
# Origins allowed to frame the chat page besides this site (BBB_URL's origin is added).
MATRIX_CHAT_FRAME_ANCESTORS = env_list("MATRIX_CHAT_FRAME_ANCESTORS")
# The account provisioning makes to post conference notices (schedule changes, announcements)
# in every chat, at moderator power level; its local part.
MATRIX_NOTICE_BOT = env_str("MATRIX_NOTICE_BOT", "lpcfe-notices")

# The application service through which the homeserver pushes each room event once (see
# docs/live-chat.md): `manage.py appservice_registration` writes Synapse's registration file.
MATRIX_APPSERVICE_HS_TOKEN = env_str("MATRIX_APPSERVICE_HS_TOKEN")  # the homeserver proves itself with it
MATRIX_APPSERVICE_AS_TOKEN = env_str("MATRIX_APPSERVICE_AS_TOKEN")  # we act as the bot with it
MATRIX_APPSERVICE_BOT = env_str("MATRIX_APPSERVICE_BOT", "lpcfe-live")  # localpart of the bot in every room
if bool(MATRIX_APPSERVICE_HS_TOKEN) != bool(MATRIX_APPSERVICE_AS_TOKEN):
    raise ImproperlyConfigured("Set both MATRIX_APPSERVICE_HS_TOKEN and MATRIX_APPSERVICE_AS_TOKEN, or neither.")

# --- LIVE_* (the chat's fan-out through nginx + nchan) -----------------------------------
# Path under which browsers subscribe to a room's channel on this site (e.g. /live/); empty:
# no live endpoint, the chat reads with /sync (the demo without nginx).
LIVE_SUBSCRIBE_PATH = env_str("LIVE_SUBSCRIBE_PATH")
if LIVE_SUBSCRIBE_PATH and not (LIVE_SUBSCRIBE_PATH.startswith("/") and LIVE_SUBSCRIBE_PATH.endswith("/")):
    raise ImproperlyConfigured(f"LIVE_SUBSCRIBE_PATH={LIVE_SUBSCRIBE_PATH!r} must start and end with '/'.")
# Where the front end publishes (nchan publisher location, reachable from the front end only).
LIVE_PUBLISH_URL = env_url("LIVE_PUBLISH_URL")
if LIVE_SUBSCRIBE_PATH and not (LIVE_PUBLISH_URL and MATRIX_APPSERVICE_HS_TOKEN):
    raise ImproperlyConfigured("LIVE_SUBSCRIBE_PATH needs LIVE_PUBLISH_URL and the MATRIX_APPSERVICE_* tokens.")
LIVE_TIMEOUT = env_int("LIVE_TIMEOUT", 3, minimum=1)
# Seconds an older page of a room's history stays in the shared cache (one copy for all viewers).
LIVE_HISTORY_CACHE_SECONDS = env_int("LIVE_HISTORY_CACHE_SECONDS", 300, minimum=1)

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "INFO").upper()},
    "loggers": {"django.db.backends": {"level": "WARNING"}},
}
