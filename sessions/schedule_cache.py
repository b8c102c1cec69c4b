"""One cache version for everything rendered from the schedule.

Pages and feeds built from the schedule are cached under keys that include this version.
Any change to the schedule (an import sending `schedule_changed`, or an organiser editing a
session, room, track or the conference in the admin) replaces the version, so every cached
render becomes unreachable at once and expires on its own.
"""

import logging
import time
import uuid
from collections.abc import Hashable
from typing import Any

from django.core.cache import cache
from django.db.models.signals import post_delete, post_save, pre_save
from django.dispatch import receiver

from sessions.models import Conference, Room, Talk, Track
from sessions.signals import schedule_changed

logger = logging.getLogger(__name__)

VERSION_KEY = "lpcfe:schedule:version"
# Renders are dropped well after their version or minute has passed; the version key itself never expires.
RENDER_TIMEOUT = 15 * 60


# One page asks for the version several times; remember it in this process for a moment.
# Another process's bump is seen within MEMO_SECONDS.
MEMO_SECONDS = 1.0
_memo: dict[str, tuple[float, str]] = {}


def version() -> str:
    memo = _memo.get("version")
    if memo and time.monotonic() - memo[0] < MEMO_SECONDS:
        return memo[1]
    current = cache.get(VERSION_KEY)
    if current is None:
        current = uuid.uuid4().hex
        # add() so that concurrent first requests agree on one version.
        if not cache.add(VERSION_KEY, current, timeout=None):
            current = cache.get(VERSION_KEY) or current
    _memo["version"] = (time.monotonic(), current)
    return current


def bump() -> str:
    new = uuid.uuid4().hex
    cache.set(VERSION_KEY, new, timeout=None)
    _memo["version"] = (time.monotonic(), new)
    return new


def forget() -> None:
    """Drop this process's memo (after clearing the cache in tests)."""
    _memo.clear()


def key(*parts: Hashable) -> str:
    """A cache key for a schedule render: the current version plus the render's own parts."""
    return ":".join(["lpcfe", "sched", version(), *(str(p) for p in parts)])


@receiver(schedule_changed)
def _on_schedule_changed(sender: Any, **kwargs: Any) -> None:
    bump()
    logger.info("Schedule changed: cached schedule pages and feeds invalidated.")


@receiver(post_save, sender=Talk)
@receiver(post_delete, sender=Talk)
@receiver(post_save, sender=Room)
@receiver(post_delete, sender=Room)
@receiver(post_save, sender=Track)
@receiver(post_delete, sender=Track)
@receiver(post_save, sender=Conference)
@receiver(post_delete, sender=Conference)
def _on_model_change(sender: Any, **kwargs: Any) -> None:
    bump()
    if sender is Conference:
        Conference.forget_current()


@receiver(pre_save, sender=Talk)
def _grow_sequence_on_move(sender: Any, instance: Talk, **kwargs: Any) -> None:
    """Calendar clients only replace an event whose SEQUENCE grew; a moved session must say so.

    Callers that manage the sequence themselves (an import that already bumped it) are left alone.
    """
    if instance.pk is None or kwargs.get("raw"):
        return
    old = Talk.objects.filter(pk=instance.pk).values("start", "end", "room_id", "sequence").first()
    if old is None or old["sequence"] != instance.sequence:
        return
    if (old["start"], old["end"], old["room_id"]) != (instance.start, instance.end, instance.room_id):
        instance.sequence = old["sequence"] + 1
