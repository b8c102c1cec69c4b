"""Shared fixtures. Real services (slapd, Synapse, Chromium) live in tests/fixtures/ and start
once per test run."""

import pytest
from django.core.cache import cache
from django.core.management import call_command

from sessions import schedule_cache

pytest_plugins = [
    "tests.fixtures.browser",
    "tests.fixtures.bbb",
    "tests.fixtures.slapd",
    "tests.fixtures.synapse",
    "tests.fixtures.liveedge",
]


@pytest.fixture(scope="session")
def django_db_setup(django_db_setup, django_db_blocker):
    # The database cache table backs BBB create results and login throttles.
    with django_db_blocker.unblock():
        call_command("createcachetable", verbosity=0)


@pytest.fixture
def fresh_cache():
    # Join results, BBB answers, throttles and schedule renders live in the shared cache, which
    # outlives a test's transaction; the schedule version's in-process memo goes with it.
    cache.clear()
    schedule_cache.forget()
    yield
    cache.clear()
    schedule_cache.forget()
