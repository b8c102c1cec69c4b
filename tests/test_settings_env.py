import pytest
from django.core.exceptions import ImproperlyConfigured

from lpcfe.env import database_from_url, env_bool, env_int


def test_bad_boolean_names_the_variable(monkeypatch):
    monkeypatch.setenv("SOME_FLAG", "maybe")
    with pytest.raises(ImproperlyConfigured, match="SOME_FLAG"):
        env_bool("SOME_FLAG")


def test_bad_integer_names_the_variable(monkeypatch):
    monkeypatch.setenv("SOME_NUMBER", "ten")
    with pytest.raises(ImproperlyConfigured, match="SOME_NUMBER"):
        env_int("SOME_NUMBER", 1)


def test_integer_below_minimum(monkeypatch):
    monkeypatch.setenv("SOME_NUMBER", "-3")
    with pytest.raises(ImproperlyConfigured, match="minimum"):
        env_int("SOME_NUMBER", 1, minimum=0)


def test_database_url_parsed():
    db = database_from_url("DATABASE_URL", "postgres://lpc:p%40ss@db.example:5433/lpcfe")
    assert db["NAME"] == "lpcfe"
    assert db["USER"] == "lpc"
    assert db["PASSWORD"] == "p@ss"
    assert db["PORT"] == "5433"


def test_database_url_wrong_scheme():
    with pytest.raises(ImproperlyConfigured, match="DATABASE_URL"):
        database_from_url("DATABASE_URL", "mysql://x/y")


@pytest.mark.django_db
def test_shared_cache_keeps_entries_through_a_join_storm():
    # 500 join clicks stash 500 links; the meeting and the throttles must survive them.
    from django.core.cache import cache

    cache.set("lpcfe:test:meeting", "created once", 600)
    cache.set_many({f"lpcfe:test:stash:{i}": i for i in range(1200)}, 60)
    cache.set("lpcfe:test:one-more", 1, 60)
    assert cache.get("lpcfe:test:meeting") == "created once"
    cache.clear()


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"LIVE_SUBSCRIBE_PATH": "live"}, "LIVE_SUBSCRIBE_PATH='live' must start and end with '/'"),
        ({"LIVE_SUBSCRIBE_PATH": "/live/"}, "LIVE_SUBSCRIBE_PATH needs LIVE_PUBLISH_URL"),
        ({"MATRIX_APPSERVICE_HS_TOKEN": "x"}, "Set both MATRIX_APPSERVICE_HS_TOKEN and MATRIX_APPSERVICE_AS_TOKEN"),
    ],
)
def test_live_chat_settings_fail_loudly(env, message):
    import os
    import subprocess
    import sys

    result = subprocess.run(
        [sys.executable, "-c", "import lpcfe.settings"],
        env={**os.environ, "SECRET_KEY": "x" * 50, "DEBUG": "0", **env},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode != 0
    assert message in result.stderr
