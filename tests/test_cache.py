"""The Redis cache and its stand-in: while a real redis-server is stopped, the cache is the database
table every front-end process shares; once Redis answers again, the cache is back in Redis."""

import logging
import socket
import time

import pytest
import redis

from bench.stack import Redis
from lpcfe import cache as resilient


@pytest.fixture
def redis_server(tmp_path):
    server = Redis(tmp_path / "redis")
    server.start()
    yield server
    server.stop()


@pytest.fixture
def shared_cache(redis_server, db, monkeypatch):
    monkeypatch.setattr(resilient, "RETRY_SECONDS", 0.5)
    url = f"redis://127.0.0.1:{redis_server.port}/1"
    made = resilient.RedisWithFallback(
        url, {"OPTIONS": {"socket_connect_timeout": 1, "socket_timeout": 2}, "FALLBACK_MAX_ENTRIES": 1000}
    )
    made.fallback.clear()
    return made


def in_redis(server: Redis, key: str) -> bool:
    client = redis.Redis(port=server.port, db=1)
    try:
        return any(key in found.decode() for found in client.keys("*"))
    finally:
        client.close()


def test_the_database_stands_in_while_redis_is_down_and_redis_takes_over_again(redis_server, shared_cache, caplog):
    caplog.set_level(logging.WARNING, logger="lpcfe.cache")
    shared_cache.set("meeting", "created")
    assert shared_cache.get("meeting") == "created" and in_redis(redis_server, "meeting")
    assert shared_cache.fallback.get("meeting") is None

    redis_server.stop()
    shared_cache.set("throttle", 3)
    assert shared_cache.redis_is_down
    assert (shared_cache.get("throttle"), shared_cache.fallback.get("throttle")) == (3, 3)
    # What other processes rely on holds in the table too: add() is a lock, incr() a shared count.
    assert shared_cache.add("lock", "mine", 30) and not shared_cache.add("lock", "theirs", 30)
    assert shared_cache.incr("throttle") == 4 and shared_cache.get_or_set("page", lambda: "rendered") == "rendered"
    assert shared_cache.get_many(["throttle", "page", "meeting"]) == {"throttle": 4, "page": "rendered"}
    said = [r.getMessage() for r in caplog.records]
    assert len([m for m in said if "Redis cannot be reached" in m]) == 1, said
    assert "lpcfe_cache" in said[0]

    redis_server.start()  # empty, as after a restart without persistence
    time.sleep(0.6)
    assert shared_cache.get("throttle") is None  # the outage's entries are not read back
    assert not shared_cache.redis_is_down and "Redis answers again" in caplog.records[-1].getMessage()
    shared_cache.set("meeting", "created again")
    assert in_redis(redis_server, "meeting") and shared_cache.fallback.get("meeting") is None


def test_a_redis_that_never_answers_costs_one_timeout_then_requests_go_straight_to_the_table(db):
    with socket.create_server(("127.0.0.1", 0)) as silent:  # accepts connections, never answers
        made = resilient.RedisWithFallback(
            f"redis://127.0.0.1:{silent.getsockname()[1]}/1",
            {"OPTIONS": {"socket_connect_timeout": 0.5, "socket_timeout": 0.5}, "FALLBACK_MAX_ENTRIES": 1000},
        )
        made.fallback.clear()
        started = time.monotonic()
        made.set("first", 1)
        first = time.monotonic() - started
        started = time.monotonic()
        for n in range(20):
            assert made.get("first") == 1 and made.add(f"k{n}", n)
        rest = time.monotonic() - started
    assert 0.5 <= first < 2 and rest < 0.5, (first, rest)
