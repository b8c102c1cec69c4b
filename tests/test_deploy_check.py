"""Production settings pass Django's deployment checklist."""

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def production_env(**extra: str) -> dict[str, str]:
    # Start from the process environment minus anything the test settings or a developer set for lpcfe.
    dropped = {
        "DEBUG",
        "DJANGO_SETTINGS_MODULE",
        "DJANGO_ALLOW_ASYNC_UNSAFE",
        "SECURE_SSL_REDIRECT",
        "SECURE_COOKIES",
        "DATABASE_URL",
    }
    env = {k: v for k, v in os.environ.items() if k not in dropped}
    env.update(
        DJANGO_SETTINGS_MODULE="lpcfe.settings",
        SECRET_KEY="x7#k2-production-like-secret-key-of-fifty-or-more-characters-0123456789",
        ALLOWED_HOSTS="conf.example.org",
        SITE_URL="https://conf.example.org",
        BBB_URL="https://bbb.example.org/bigbluebutton/",
        BBB_SECRET="bbb-shared-secret-for-the-check",
        **extra,
    )
    return env


def run_manage(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "manage.py", *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )


def test_check_deploy_is_clean(tmp_path):
    result = run_manage(
        "check", "--deploy", "--fail-level", "WARNING", env=production_env(LPCFE_DATA_DIR=str(tmp_path))
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_missing_secret_key_stops_startup(tmp_path):
    env = production_env(LPCFE_DATA_DIR=str(tmp_path))
    del env["SECRET_KEY"]
    result = run_manage("check", env=env)
    assert result.returncode != 0
    assert "SECRET_KEY must be set" in result.stderr


def test_bad_value_names_the_variable(tmp_path):
    result = run_manage("check", env=production_env(LPCFE_DATA_DIR=str(tmp_path), SECURE_COOKIES="perhaps"))
    assert result.returncode != 0
    assert "SECURE_COOKIES" in result.stderr
