"""Conference notices: today's schedule changes and organisers' announcements, on the pages and
in the rooms' Matrix chats (as m.notice from the notice account provisioning makes).

Posting happens after the change is committed and never undoes it: a chat that cannot be
reached keeps its post pending, shown on the console, and `manage.py post_notices` (or the
console's "post again") retries it.
"""

import contextlib
import logging
from datetime import datetime, timedelta, tzinfo

from django.conf import settings
from django.db.models import F, Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from chat_embed.matrix import MatrixClient, MatrixError, admin_client, is_configured
from chat_embed.models import MatrixRoom
from chat_embed.provisioning import chat_room_for, notice_bot_id
from console.models import Notice, NoticePost, SourceVersion
from sessions.importers.apply import ScheduleDiff, Slot
from sessions.models import Conference, Room, Talk, Track
from sessions.timezones import zone_label

logger = logging.getLogger(__name__)

BOT_TOKEN_MINUTES = 10


def bot_user_id() -> str:
    return notice_bot_id(settings.MATRIX_SERVER_NAME)


def end_of_day(at: datetime, tz: tzinfo) -> datetime:
    local = at.astimezone(tz)
    midnight = datetime.combine(local.date() + timedelta(days=1), datetime.min.time())
    return midnight.replace(tzinfo=tz)


def active(at: datetime | None = None) -> QuerySet[Notice]:
    return Notice.objects.filter(expires__gt=at or timezone.now()).prefetch_related("rooms")


def for_room(room: Room, at: datetime | None = None) -> list[Notice]:
    """Notices shown with a session in `room`: the ones about that room, and those for every room."""
    return list(active(at).filter(Q(rooms=room) | Q(rooms__isnull=True)).distinct())


def _span(slot: Slot, tz: tzinfo) -> str:
    start, end = slot.start.astimezone(tz), slot.end.astimezone(tz)
    return f"{start:%a %d %b %H:%M}–{end:%H:%M}"


def _chats(rooms: list[Room], at: datetime, tracks: list[Track]) -> list[MatrixRoom]:
    found: dict[int, MatrixRoom] = {}
    for room in rooms:
        for chat in [chat_room_for(room, at), *MatrixRoom.objects.filter(schedule_room=room)]:
            if chat is not None and chat.room_id:
                found[chat.pk] = chat
    for chat in MatrixRoom.objects.filter(track__in=tracks).exclude(room_id=""):
        found[chat.pk] = chat
    return list(found.values())


def _create(kind: str, text: str, author: str, rooms: list[Room], chats: list[MatrixRoom], **kwargs) -> Notice:
    tz = Conference.current().tz if Conference.current() else timezone.get_default_timezone()
    notice = Notice.objects.create(
        kind=kind, text=text, author=author, expires=end_of_day(timezone.now(), tz), **kwargs
    )
    notice.rooms.set(rooms)
    NoticePost.objects.bulk_create([NoticePost(notice=notice, matrix_room=chat) for chat in chats])
    return notice


def for_changes(diff: ScheduleDiff, version: SourceVersion) -> list[Notice]:
    """One notice per session of today that moved, changed room or was cancelled."""
    conference = Conference.current()
    if conference is None:
        return []
    tz = conference.tz
    today = timezone.now().astimezone(tz).date()
    label = zone_label(tz, timezone.now())
    rooms = {room.name: room for room in Room.objects.all()}
    made = []

    def today_(slot: Slot) -> bool:
        return slot.start.astimezone(tz).date() == today

    for before, after in diff.moved:
        if not (today_(before) or today_(after)):
            continue
        talk = Talk.objects.filter(title=after.title, start=after.start, room__name=after.room).first()
        if before.room != after.room and (before.start, before.end) == (after.start, after.end):
            text = _("“%(title)s” (%(when)s) moves from %(old)s to %(new)s.") % {
                "title": after.title,
                "when": _span(after, tz),
                "old": before.room,
                "new": after.room,
            }
        else:
            text = _("“%(title)s” moves from %(old)s, %(old_room)s to %(new)s, %(new_room)s (%(zone)s).") % {
                "title": after.title,
                "old": _span(before, tz),
                "old_room": before.room,
                "new": _span(after, tz),
                "new_room": after.room,
                "zone": label,
            }
        affected = [rooms[name] for name in {before.room, after.room} if name in rooms]
        tracks = [talk.track] if talk is not None and talk.track else []
        chats = _chats(affected, before.start, tracks) + _chats(affected, after.start, tracks)
        made.append(
            _create(
                Notice.Kind.CHANGE,
                text,
                version.author,
                affected,
                list({c.pk: c for c in chats}.values()),
                version=version,
                talk_external_ids=[talk.external_id] if talk else [],
            )
        )
    for slot in diff.cancelled:
        if not today_(slot):
            continue
        text = _("“%(title)s” (%(when)s, %(room)s, %(zone)s) is cancelled.") % {
            "title": slot.title,
            "when": _span(slot, tz),
            "room": slot.room,
            "zone": label,
        }
        affected = [rooms[slot.room]] if slot.room in rooms else []
        made.append(
            _create(
                Notice.Kind.CHANGE, text, version.author, affected, _chats(affected, slot.start, []), version=version
            )
        )
    return made


def announce(text: str, author: str, target: str) -> Notice:
    """An organiser's announcement to `target`: "all", "room:<slug>" or "track:<slug>"."""
    kind, _sep, slug = target.partition(":")
    if kind == "room":
        room = Room.objects.get(slug=slug)
        return _create(Notice.Kind.ANNOUNCEMENT, text, author, [room], _chats([room], timezone.now(), []))
    if kind == "track":
        track = Track.objects.get(slug=slug)
        rooms = list(Room.objects.filter(talks__track=track).distinct())
        chats = list(MatrixRoom.objects.filter(track=track).exclude(room_id=""))
        return _create(Notice.Kind.ANNOUNCEMENT, text, author, rooms, chats)
    return _create(Notice.Kind.ANNOUNCEMENT, text, author, [], list(MatrixRoom.objects.exclude(room_id="")))


def _body(notice: Notice) -> str:
    prefix = _("Conference notice") if notice.kind == Notice.Kind.CHANGE else _("Announcement from the organisers")
    return f"{prefix}: {notice.text}"


def _send(client: MatrixClient, token: str, post: NoticePost) -> str:
    try:
        return client.send_notice(post.matrix_room.room_id, _body(post.notice), token, f"lpcfe-notice-{post.pk}")
    except MatrixError as exc:
        if exc.status != 403:
            raise
    # Not in that room yet (a room made after provisioning ran): join, then post.
    client.admin_join(post.matrix_room.room_id, bot_user_id())
    return client.send_notice(post.matrix_room.room_id, _body(post.notice), token, f"lpcfe-notice-{post.pk}")


def post(notice_ids: list[int] | None = None) -> tuple[int, int]:
    """Post every pending notice (of `notice_ids`, or all active ones); returns (posted, failed)."""
    pending = NoticePost.objects.filter(posted_at__isnull=True, notice__expires__gt=timezone.now())
    if notice_ids is not None:
        pending = pending.filter(notice_id__in=notice_ids)
    pending = list(pending.select_related("notice", "matrix_room"))
    if not pending:
        return 0, 0
    if not is_configured():
        NoticePost.objects.filter(pk__in=[p.pk for p in pending]).update(
            last_error=_("Matrix is not configured (MATRIX_URL, MATRIX_SERVER_NAME, MATRIX_ADMIN_TOKEN).")
        )
        return 0, len(pending)
    posted = failed = 0
    client = admin_client()
    try:
        expires = timezone.now() + timedelta(minutes=BOT_TOKEN_MINUTES)
        token = client.login_as(bot_user_id(), expires.timestamp() * 1000)
    except MatrixError as exc:
        NoticePost.objects.filter(pk__in=[p.pk for p in pending]).update(
            last_error=str(exc), attempts=F("attempts") + 1
        )
        logger.error("Conference notices not posted: %s", exc)
        return 0, len(pending)
    try:
        for item in pending:
            item.attempts += 1
            try:
                item.event_id = _send(client, token, item)
            except MatrixError as exc:
                item.last_error = str(exc)
                failed += 1
                logger.warning("Notice %s not posted in %s: %s", item.notice_id, item.matrix_room.room_id, exc)
            else:
                item.posted_at, item.last_error = timezone.now(), ""
                posted += 1
            item.save(update_fields=["attempts", "event_id", "last_error", "posted_at"])
    finally:
        with contextlib.suppress(MatrixError):  # it expires by itself within minutes
            client.logout(token)
    return posted, failed
