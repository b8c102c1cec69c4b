"""Login throttling and rate limits, kept in the shared cache so every front-end process counts
the same attempts.

Wrong codes are counted per person and per client address. A person is counted under the
address typed and under the address the directory's +tag fallback would find
(`jane.doe+x@…` also counts for `jane.doe@…`), so new tags never bring fresh tries. After
LOGIN_SLOW_AFTER wrong codes each further one makes the next try wait (2 s, 4 s, 8 s, ... up to
LOGIN_MAX_DELAY_SECONDS); after LOGIN_LOCK_AFTER the address is locked out for
LOGIN_LOCKOUT_SECONDS. Per client address the thresholds are LOGIN_IP_SLOW_AFTER and
LOGIN_IP_LOCK_AFTER, set high because a venue's NAT can put hundreds of people behind one
address. A count is forgotten LOGIN_LOCKOUT_SECONDS after its last wrong code, and starts
again from zero when a lockout begins. Unknown addresses are counted exactly like known
ones, so throttling reveals nothing about who is registered.
"""

import hashlib
import math
import time
from dataclasses import dataclass

from django.conf import settings
from django.core.cache import cache
from django.http import HttpRequest
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from sessions.emails import email_candidates


@dataclass(frozen=True)
class Wait:
    seconds: int

    @property
    def message(self) -> str:
        return _("Too many wrong codes. Please try again in %(when)s.") % {"when": describe_wait(self.seconds)}


def describe_wait(seconds: int) -> str:
    if seconds < 60:
        return ngettext("%(n)d second", "%(n)d seconds", seconds) % {"n": seconds}
    minutes = math.ceil(seconds / 60)
    return ngettext("%(n)d minute", "%(n)d minutes", minutes) % {"n": minutes}


def client_ip(request: HttpRequest) -> str:
    """The client's address: REMOTE_ADDR, or the last entry of CLIENT_IP_HEADER behind a proxy.

    The last entry is the one our own proxy added; earlier ones are whatever the client sent.
    """
    header = settings.CLIENT_IP_HEADER
    if header:
        value = request.META.get(header, "")
        entries = [part.strip() for part in value.split(",") if part.strip()]
        if entries:
            return entries[-1][:64]
    return request.META.get("REMOTE_ADDR", "")[:64]


def _key(scope: str, value: str) -> str:
    # Hashed: keeps keys short and free of characters memcached refuses.
    return f"lpcfe:{scope}:" + hashlib.sha256(value.encode()).hexdigest()[:32]


def _scopes(email: str, ip: str) -> list[tuple[str, int, int]]:
    # Every address the lookup may land on, whether or not anyone is registered there: deciding
    # by the directory's answer would tell an attacker which tagged addresses exist.
    people = [
        (_key("login-email", address), settings.LOGIN_SLOW_AFTER, settings.LOGIN_LOCK_AFTER)
        for address in email_candidates(email)
    ]
    return [*people, (_key("login-ip", ip), settings.LOGIN_IP_SLOW_AFTER, settings.LOGIN_IP_LOCK_AFTER)]


def login_wait(email: str, ip: str) -> Wait | None:
    """How long this email/client must wait before its next try, if at all (checked before the code)."""
    now = time.time()
    waits = []
    for key, _slow, _lock in _scopes(email, ip):
        state = cache.get(key)
        if state and state["until"] > now:
            waits.append(math.ceil(state["until"] - now))
    return Wait(max(waits)) if waits else None


def record_failure(email: str, ip: str) -> Wait | None:
    """Count a wrong code (or an unknown address); returns the wait it imposes on the next try."""
    now = time.time()
    longest = 0.0
    for key, slow_after, lock_after in _scopes(email, ip):
        state = cache.get(key) or {"failures": 0, "until": 0.0}
        failures = state["failures"] + 1
        if failures >= lock_after:
            wait, failures = float(settings.LOGIN_LOCKOUT_SECONDS), 0
        elif failures > slow_after:
            wait = float(min(2 ** (failures - slow_after), settings.LOGIN_MAX_DELAY_SECONDS))
        else:
            wait = 0.0
        until = max(state["until"], now + wait)
        cache.set(key, {"failures": failures, "until": until}, timeout=settings.LOGIN_LOCKOUT_SECONDS + wait + 1)
        longest = max(longest, until - now)
    return Wait(math.ceil(longest)) if longest > 0 else None


def record_success(typed: str, registered: str) -> None:
    """A right code clears the counts of the address typed and of the person it found, nobody
    else's (a tagged registration must not clear the plain address's count), nor the client
    address's (others may share it)."""
    cache.delete_many([_key("login-email", typed), _key("login-email", registered)])


def hit(scope: str, value: str, limit: int, window_seconds: int) -> int | None:
    """Count one use of a rate-limited action; returns seconds to wait if `limit` per window is used up."""
    now = time.time()
    key = _key(scope, value)
    stamps = [t for t in (cache.get(key) or []) if t > now - window_seconds]
    if len(stamps) >= limit:
        return max(1, math.ceil(stamps[0] + window_seconds - now))
    stamps.append(now)
    cache.set(key, stamps, timeout=window_seconds)
    return None
