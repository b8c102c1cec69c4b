"""Settings for the test run: production settings with test-only environment values.

The environment is filled in before lpcfe.settings reads it, so the suite exercises the
same fail-loud parsing as a deployment.
"""

import os
import tempfile

os.environ.setdefault("SECRET_KEY", "test-only-not-secret")
os.environ.setdefault("ALLOWED_HOSTS", "testserver,127.0.0.1,localhost")
os.environ.setdefault("SECURE_SSL_REDIRECT", "0")
os.environ.setdefault("SECURE_COOKIES", "0")
os.environ.setdefault("SITE_URL", "http://testserver")
os.environ.setdefault("LPCFE_DATA_DIR", tempfile.mkdtemp(prefix="lpcfe-test-"))

from lpcfe.settings import *  # noqa: E402,F403

STORAGES["staticfiles"] = {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"}  # noqa: F405
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
# Static files come from the finders in tests; no collectstatic run is needed.
STATIC_ROOT = os.path.join(os.environ["LPCFE_DATA_DIR"], "static")
os.makedirs(STATIC_ROOT, exist_ok=True)
WHITENOISE_USE_FINDERS = True

# Live-server tests send concurrent requests (a burst of joins, the BBB double answering the
# front end): an in-memory SQLite test database would share one connection between threads,
# so SQLite runs the tests on a file in the data folder, where each thread gets its own.
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":  # noqa: F405
    DATABASES["default"]["TEST"] = {"NAME": str(DATA_DIR / "test.sqlite3")}  # noqa: F405
# Live-server request threads must not keep PostgreSQL connections open (CONN_MAX_AGE), or the
# test database cannot be dropped at the end of the run.
DATABASES["default"]["CONN_MAX_AGE"] = 0  # noqa: F405
