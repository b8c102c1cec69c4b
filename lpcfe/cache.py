"""The Redis cache, with the database as its stand-in while Redis cannot be reached.

Everything the front end keeps in the cache must be shared by all its processes (single-use join
links and chat tickets, login throttles, the one BBB create per room), so a per-process stand-in
would break joins and weaken throttles. The stand-in is the database cache table that CACHE_URL=db
uses (made by `migrate`): shared, slower, and only used until Redis answers again. What Redis held
before the outage is not in the table, and what was written to the table during it is not read
back afterwards (docs/deployment.md, "What a Redis restart loses").
"""

import logging
import time
from collections.abc import Callable
from typing import Any

from django.core.cache.backends.db import DatabaseCache
from django.core.cache.backends.redis import RedisCache
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

logger = logging.getLogger(__name__)

FALLBACK_TABLE = "lpcfe_cache"
# After a failure, Redis is tried again this long after; meanwhile requests go straight to the
# table instead of each waiting for a connection that will not come.
RETRY_SECONDS = 5.0
UNREACHABLE = (RedisConnectionError, RedisTimeoutError)


class RedisWithFallback(RedisCache):
    def __init__(self, server: str, params: dict[str, Any]) -> None:
        super().__init__(server, params)
        self.fallback = DatabaseCache(FALLBACK_TABLE, {"OPTIONS": {"MAX_ENTRIES": params["FALLBACK_MAX_ENTRIES"]}})
        self._retry_at = 0.0  # 0: Redis answered last time

    @property
    def redis_is_down(self) -> bool:
        return time.monotonic() < self._retry_at

    def _either(self, name: str, *args: Any, **kwargs: Any) -> Any:
        if not self.redis_is_down:
            try:
                result = getattr(super(), name)(*args, **kwargs)
            except UNREACHABLE as error:
                self._went_down(error)
            else:
                self._came_back()
                return result
        return getattr(self.fallback, name)(*args, **kwargs)

    def _went_down(self, error: Exception) -> None:
        first = not self._retry_at
        self._retry_at = time.monotonic() + RETRY_SECONDS
        if first:
            logger.warning(
                "Redis cannot be reached (%s): the cache is kept in the database table %s until it answers again.",
                error,
                FALLBACK_TABLE,
            )

    def _came_back(self) -> None:
        if self._retry_at:
            self._retry_at = 0.0
            logger.warning("Redis answers again: the cache is back in Redis.")


def _delegating(name: str) -> Callable[..., Any]:
    def method(self: RedisWithFallback, *args: Any, **kwargs: Any) -> Any:
        return self._either(name, *args, **kwargs)

    method.__name__ = name
    return method


# The operations RedisCache itself implements; the rest of the cache API (get_or_set, decr, …)
# is built on these, so it follows whichever store they use.
for _name in (
    "add",
    "get",
    "set",
    "touch",
    "delete",
    "get_many",
    "has_key",
    "incr",
    "set_many",
    "delete_many",
    "clear",
):
    setattr(RedisWithFallback, _name, _delegating(_name))
