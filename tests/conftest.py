"""Shared fixtures. Real services (slapd, Synapse, Chromium) live in tests/fixtures/ and start
once per test run."""

import threading
from collections.abc import Callable
from typing import Any

import pytest
from django.core.cache import cache
from django.db import connection

from sessions import schedule_cache

pytest_plugins = [
    "tests.fixtures.browser",
    "tests.fixtures.bbb",
    "tests.fixtures.slapd",
    "tests.fixtures.synapse",
    "tests.fixtures.liveedge",
]


@pytest.fixture
def fresh_cache():
    # Join results, BBB answers, throttles and schedule renders live in the shared cache, which
    # outlives a test's transaction; the schedule version's in-process memo goes with it.
    cache.clear()
    schedule_cache.forget()
    yield
    cache.clear()
    schedule_cache.forget()


@pytest.fixture
def hold_in(monkeypatch):
    """hold_in(owner, name, slow, meanwhile, only): run `slow` in a thread and hold it when it calls
    owner.<name> (with arguments `only` accepts), run `meanwhile` here, then let `slow` go on.
    Returns both results: two requests of one person made to overlap at a chosen point."""

    def run(
        owner: object,
        name: str,
        slow: Callable[[], Any],
        meanwhile: Callable[[], Any],
        only: Callable[..., bool] = lambda *args, **kwargs: True,
    ) -> tuple[Any, Any]:
        inside, go_on = threading.Event(), threading.Event()
        original = getattr(owner, name)

        def held(*args, **kwargs):
            if only(*args, **kwargs):
                inside.set()
                assert go_on.wait(20)
            return original(*args, **kwargs)

        monkeypatch.setattr(owner, name, held)
        results: list[Any] = []
        errors: list[BaseException] = []

        def in_thread() -> None:
            try:
                results.append(slow())
            except BaseException as error:  # re-raised below, in the test's thread
                errors.append(error)
            finally:
                connection.close()

        thread = threading.Thread(target=in_thread)
        thread.start()
        try:
            assert inside.wait(20), f"the first request never reached {name}"
            meanwhile_result = meanwhile()
        finally:
            go_on.set()
            thread.join(30)
        if errors:
            raise errors[0]
        assert results, "the first request did not finish within 30 seconds"
        return results[0], meanwhile_result

    return run
