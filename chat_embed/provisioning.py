"""Matrix rooms, accounts and memberships made before the event, from the schedule and the
attendee list.

Three steps, each resumable because every finished item is recorded in our database as soon
as it is done: rooms (one per track, one per public room, one per room that names its own
chat), accounts (admin API, no password, so no bcrypt), memberships (admin join API).
HTTP calls run on a bounded thread pool; only the calling thread touches the database.
Nothing relies on the homeserver creating accounts at first login or on `auto_join_rooms`.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Callable, Iterable
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from datetime import datetime

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from chat_embed.ids import MatrixIdError, email_to_user_id, find_collisions
from chat_embed.matrix import MatrixClient, MatrixError
from chat_embed.models import MatrixAccount, MatrixMembership, MatrixRoom
from sessions import directory
from sessions.emails import normalise_email
from sessions.models import Conference, Room, Talk, Track
from sessions.people import role_of

logger = logging.getLogger(__name__)

_ROLE_RANK = {"attendee": 0, "speaker": 1, "moderator": 2, "organiser": 3}
MODERATOR_LEVEL = 50
# Bump when the room template below changes, so existing rooms get the new settings.
_TEMPLATE_VERSION = 1


# -- who -----------------------------------------------------------------------------------
@dataclass(frozen=True)
class Person:
    email: str  # as the source gives it
    display_name: str
    role: str  # attendee / speaker / moderator / organiser


def attendees_for_provisioning() -> list[Person]:
    """Everyone who gets a Matrix account: the directory (LDAP or the local attendee table),
    anyone else with a login here (e.g. organisers made in the admin) and the schedule's speakers.

    Provisioning only needs (email, display name, role) per person. Duplicates are fine; they
    are merged by normalised address and reported when spellings differ.
    """
    people = [Person(p.email, p.full_name or p.email.split("@")[0], p.role) for p in directory.all_people()]
    user_model = get_user_model()
    for user in user_model.objects.filter(is_active=True).prefetch_related("groups"):
        email = user.email or user.get_username()
        if "@" not in email:
            continue
        people.append(Person(email, user.get_full_name() or email.split("@")[0], role_of(user)))
    for names, emails in Talk.objects.exclude(speaker_emails=[]).values_list("speaker_names", "speaker_emails"):
        aligned = names if len(names) == len(emails) else [""] * len(emails)
        for name, email in zip(aligned, emails, strict=True):
            if email and "@" in email:
                people.append(Person(email, name or email.split("@")[0], "speaker"))
    return people


@dataclass
class PeoplePlan:
    people: dict[str, Person] = field(default_factory=dict)  # user ID -> merged person
    duplicates: list[str] = field(default_factory=list)  # notices: one person, several spellings
    collisions: list[str] = field(default_factory=list)  # errors: different people, one ID
    invalid: list[str] = field(default_factory=list)


def plan_people(people: Iterable[Person], server_name: str) -> PeoplePlan:
    """Merge by normalised email, map to Matrix IDs, and set aside what cannot be mapped
    or would collide (neither side of a collision gets an account: an organiser decides)."""
    plan = PeoplePlan()
    merged: dict[str, Person] = {}
    spellings: dict[str, set[str]] = {}
    for person in people:
        email = normalise_email(person.email)
        spellings.setdefault(email, set()).add(person.email.strip())
        known = merged.get(email)
        if known is None:
            merged[email] = Person(email, person.display_name.strip() or email.split("@")[0], person.role)
            continue
        role = person.role if _ROLE_RANK.get(person.role, 0) > _ROLE_RANK.get(known.role, 0) else known.role
        # The directory's own name beats a name typed into the schedule.
        name = known.display_name if known.role != "speaker" or person.role == "speaker" else person.display_name
        merged[email] = Person(email, name, role)
    for email, seen in sorted(spellings.items()):
        if len(seen) > 1:
            plan.duplicates.append(
                _("%(spellings)s are one address after normalisation: one account, %(email)s.")
                % {"spellings": ", ".join(sorted(seen)), "email": email}
            )
    clashing: set[str] = set()
    for collision in find_collisions(sorted(merged), server_name):
        plan.collisions.append(_("Matrix ID collision: %(what)s.") % {"what": collision.describe()})
        clashing.update(collision.emails)
    for email, person in sorted(merged.items()):
        if email in clashing:
            continue
        try:
            plan.people[email_to_user_id(email, server_name)] = person
        except MatrixIdError as exc:
            plan.invalid.append(str(exc))
    return plan


# -- rooms ---------------------------------------------------------------------------------
@dataclass
class RoomSpec:
    key: str
    alias_localpart: str
    name: str
    topic: str
    public: bool
    track: Track | None = None
    room: Room | None = None
    moderator_emails: set[str] = field(default_factory=set)

    def moderators(self, people: PeoplePlan, server_name: str) -> list[str]:
        ids = {uid for uid, p in people.people.items() if p.role in ("moderator", "organiser")}
        ids.add(notice_bot_id(server_name))
        for email in self.moderator_emails:
            try:
                ids.add(email_to_user_id(email, server_name))
            except MatrixIdError:
                continue
        return sorted(ids)


def notice_bot_id(server_name: str) -> str:
    """The account that posts conference notices (schedule changes, announcements) in every chat."""
    return f"@{settings.MATRIX_NOTICE_BOT}:{server_name}"


def alias_localpart(value: str) -> str:
    """'kernel-summit', '#kernel-summit' or '#kernel-summit:server' → prefixed localpart."""
    value = value.strip().lstrip("#").split(":", 1)[0].strip()
    return f"{settings.MATRIX_ROOM_ALIAS_PREFIX}{value}".lower()


def room_specs() -> list[RoomSpec]:
    """The chat rooms the schedule asks for, one per alias."""
    conference = Conference.current()
    prefix = f"{conference.name}: " if conference else ""
    specs: dict[str, RoomSpec] = {}
    talks = list(Talk.objects.filter(is_break=False).values("track_id", "room_id", "speaker_emails"))
    rooms = {room.pk: room for room in Room.objects.all()}

    for track in Track.objects.all():
        alias = alias_localpart(track.matrix_room or track.slug)
        spec = specs.setdefault(
            alias, RoomSpec(f"track:{track.slug}", alias, track.name, f"{prefix}{track.name}", False, track=track)
        )
        for talk in talks:
            if talk["track_id"] == track.pk:
                spec.moderator_emails.update(normalise_email(e) for e in talk["speaker_emails"])
                spec.moderator_emails.update(normalise_email(e) for e in rooms[talk["room_id"]].moderator_emails)
    for room in rooms.values():
        if room.kind != Room.Kind.PUBLIC and not room.matrix_room:
            continue
        alias = alias_localpart(room.matrix_room or room.slug)
        spec = specs.get(alias)
        if spec is None:
            spec = specs[alias] = RoomSpec(
                f"room:{room.slug}", alias, room.name, f"{prefix}{room.name}", False, room=room
            )
        elif spec.track is not None and room.kind == Room.Kind.PUBLIC:
            # A public room that names a track's chat makes that chat its own, and public.
            spec.room = spec.room or room
        spec.public = spec.public or room.kind == Room.Kind.PUBLIC
        spec.moderator_emails.update(normalise_email(e) for e in room.moderator_emails)
        for talk in talks:
            if talk["room_id"] == room.pk:
                spec.moderator_emails.update(normalise_email(e) for e in talk["speaker_emails"])
    return sorted(specs.values(), key=lambda s: s.key)


def _spec_hash(spec: RoomSpec, moderators: list[str]) -> str:
    payload = [_TEMPLATE_VERSION, spec.name, spec.topic, spec.public, moderators]
    return hashlib.sha256(json.dumps(payload).encode()).hexdigest()


def _settings_state(public: bool) -> dict[str, dict]:
    """Join rule, history and guest access of a room (documented in docs/matrix.md).

    Track rooms are invite-only (attendees are joined by the admin API), so the throwaway
    guest accounts cannot walk into them; their history is `shared` so people who join late
    read what was said before. Public rooms are joinable, listed, and world-readable.
    Matrix-native guest access is forbidden everywhere: lpcfe guests are ordinary accounts
    it controls.
    """
    return {
        "m.room.join_rules": {"join_rule": "public" if public else "invite"},
        "m.room.history_visibility": {"history_visibility": "world_readable" if public else "shared"},
        "m.room.guest_access": {"guest_access": "forbidden"},
    }


def _creator_is_privileged(room_version: str) -> bool:
    # From room version 12 the creator holds unlimited power and must not be listed in `users`.
    try:
        return int(room_version) >= 12
    except ValueError:
        return False


def _create_body(spec: RoomSpec, moderators: list[str], admin_id: str, room_version: str) -> dict:
    users = {uid: MODERATOR_LEVEL for uid in moderators if uid != admin_id}
    if not _creator_is_privileged(room_version):
        users[admin_id] = 100
    return {
        "preset": "public_chat" if spec.public else "private_chat",
        "visibility": "public" if spec.public else "private",
        "room_alias_name": spec.alias_localpart,
        "name": spec.name,
        "topic": spec.topic,
        "initial_state": [
            {"type": kind, "state_key": "", "content": content}
            for kind, content in _settings_state(spec.public).items()
        ],
        "power_level_content_override": {
            "users": users,
            "users_default": 0,
            "events_default": 0,
            "state_default": MODERATOR_LEVEL,
            "invite": MODERATOR_LEVEL,
            "kick": MODERATOR_LEVEL,
            "ban": MODERATOR_LEVEL,
            "redact": MODERATOR_LEVEL,
        },
    }


def _update_room(
    client: MatrixClient, room_id: str, spec: RoomSpec, moderators: list[str], previous: list[str], admin_id: str
) -> None:
    """Bring an existing room to the template, touching only what differs."""
    wanted = {
        "m.room.name": {"name": spec.name},
        "m.room.topic": {"topic": spec.topic},
        **_settings_state(spec.public),
    }
    for kind, content in wanted.items():
        current = client.get_state(room_id, kind) or {}
        if any(current.get(k) != v for k, v in content.items()):
            client.put_state(room_id, kind, {**current, **content})
    levels = client.get_state(room_id, "m.room.power_levels") or {}
    users = dict(levels.get("users", {}))
    changed = False
    for uid in set(previous) - set(moderators):
        if users.get(uid) == MODERATOR_LEVEL:
            del users[uid]
            changed = True
    for uid in moderators:
        if uid != admin_id and users.get(uid, 0) < MODERATOR_LEVEL:
            users[uid] = MODERATOR_LEVEL
            changed = True
    if changed:
        client.put_state(room_id, "m.room.power_levels", {**levels, "users": users})
    client.set_directory_visibility(room_id, spec.public)


def mute_in_room(client: MatrixClient, room: MatrixRoom, user_id: str) -> None:
    """Make `user_id` read-only in `room` (power level below events_default). Used for guests."""
    levels = client.get_state(room.room_id, "m.room.power_levels") or {}
    users = dict(levels.get("users", {}))
    floor = int(levels.get("events_default", 0)) - 1
    if users.get(user_id, int(levels.get("users_default", 0))) <= floor:
        return
    users[user_id] = floor
    client.put_state(room.room_id, "m.room.power_levels", {**levels, "users": users})


# -- running ---------------------------------------------------------------------------------
@dataclass
class Report:
    rooms_created: int = 0
    rooms_updated: int = 0
    accounts_created: int = 0
    accounts_updated: int = 0
    joins: int = 0
    failures: list[str] = field(default_factory=list)
    notices: list[str] = field(default_factory=list)
    rate_limited: int = 0
    waited_seconds: float = 0.0

    @property
    def changed(self) -> bool:
        return bool(
            self.rooms_created or self.rooms_updated or self.accounts_created or self.accounts_updated or self.joins
        )


ProgressHook = Callable[[str, int], None]


def renaming_notices(capabilities: dict) -> list[str]:
    """What the homeserver lets people change that should stay the directory's (docs/matrix.md)."""
    checks = [
        ("m.set_displayname", "display name", "enable_set_displayname"),
        ("m.set_avatar_url", "avatar", "enable_set_avatar_url"),
    ]
    return [
        f"The homeserver lets people change their own {what}, so anyone could pose as someone else in the chat: "
        f"set `{setting}: false` and `allow_per_room_profiles: false` in homeserver.yaml (docs/matrix.md)."
        for capability, what, setting in checks
        if capabilities.get(capability, {}).get("enabled", True)
    ]


@dataclass
class Provisioner:
    client: MatrixClient
    server_name: str
    workers: int = 4
    join_mode: str = "all"
    lift_own_rate_limit: bool = True
    progress: Callable[..., object] | None = None  # tqdm-like factory(total=, desc=, unit=)
    on_item: ProgressHook | None = None  # called after each account/join is recorded (tests)
    report: Report = field(default_factory=Report)

    def run(self, people: Iterable[Person] | None = None) -> Report:
        admin_id = self.client.whoami()
        if self.lift_own_rate_limit:
            current = self.client.get_ratelimit(admin_id)
            if current != {"messages_per_second": 0, "burst_count": 0}:
                self.client.set_ratelimit(admin_id, 0, 0)
        plan = plan_people(attendees_for_provisioning() if people is None else people, self.server_name)
        self.report.notices.extend(renaming_notices(self.client.capabilities()))
        self.report.notices.extend(plan.duplicates)
        self.report.failures.extend(plan.collisions + plan.invalid)
        self.provision_rooms(plan, admin_id)
        self.provision_notice_bot()
        self.provision_live_bot()
        self.provision_accounts(plan)
        if self.join_mode == "all":
            self.provision_joins()
        self.report.rate_limited = self.client.rate_limited
        self.report.waited_seconds = self.client.waited_seconds
        return self.report

    # rooms: few, done in order
    def provision_rooms(self, plan: PeoplePlan, admin_id: str) -> None:
        specs = room_specs()
        room_version = self.client.default_room_version() if specs else ""
        for spec in specs:
            moderators = spec.moderators(plan, self.server_name)
            wanted_hash = _spec_hash(spec, moderators)
            record = MatrixRoom.objects.filter(Q(key=spec.key) | Q(alias_localpart=spec.alias_localpart)).first()
            if record is None:
                record = MatrixRoom(key=spec.key, alias_localpart=spec.alias_localpart)
            record.key, record.alias_localpart = spec.key, spec.alias_localpart
            record.name, record.topic, record.public = spec.name, spec.topic, spec.public
            record.track, record.schedule_room = spec.track, spec.room
            if record.room_id and record.applied_hash == wanted_hash:
                if record.pk is None or record.last_error:
                    record.last_error = ""
                    record.save()
                continue
            alias = record.alias(self.server_name)
            try:
                if not record.room_id:
                    existing = self.client.resolve_alias(alias)
                    if existing:
                        # Made by an earlier run that stopped before recording it: adopt it.
                        record.room_id = existing
                        _update_room(self.client, existing, spec, moderators, [], admin_id)
                        self.report.rooms_updated += 1
                    else:
                        record.room_id = self.client.create_room(_create_body(spec, moderators, admin_id, room_version))
                        self.report.rooms_created += 1
                else:
                    _update_room(self.client, record.room_id, spec, moderators, record.managed_moderators, admin_id)
                    self.report.rooms_updated += 1
            except MatrixError as exc:
                record.last_error = str(exc)
                record.save()
                self.report.failures.append(_("Room %(alias)s: %(error)s") % {"alias": alias, "error": exc})
                continue
            record.applied_hash = wanted_hash
            record.managed_moderators = moderators
            record.last_error = ""
            record.save()

    def provision_notice_bot(self) -> None:
        """The notice account: in every chat, at moderator level (set with the room's moderators).
        Not counted in the report, which counts people."""
        bot = notice_bot_id(self.server_name)
        try:
            if self.client.get_user(bot) is None:
                self.client.put_user(bot, displayname=_("Conference notices"))
            for room_id in MatrixRoom.objects.exclude(room_id="").values_list("room_id", flat=True):
                if self.client.membership(room_id, bot) != "join":
                    self.client.admin_join(room_id, bot)
        except MatrixError as exc:
            self.report.failures.append(_("Notice account %(user)s: %(error)s") % {"user": bot, "error": exc})

    def provision_live_bot(self) -> None:
        """The application service's bot joins every room, so the homeserver pushes each room's
        events to the live fan-out (chat_embed.live)."""
        if not (settings.MATRIX_APPSERVICE_AS_TOKEN and settings.MATRIX_APPSERVICE_HS_TOKEN):
            return
        bot = f"@{settings.MATRIX_APPSERVICE_BOT}:{self.server_name}"
        try:
            self.client.register_appservice_user(settings.MATRIX_APPSERVICE_BOT, settings.MATRIX_APPSERVICE_AS_TOKEN)
        except MatrixError as exc:
            self.report.failures.append(_("Live chat bot %(user)s: %(error)s") % {"user": bot, "error": exc})
            return
        for room in MatrixRoom.objects.exclude(room_id=""):
            try:
                self.client.admin_join(room.room_id, bot)
            except MatrixError as exc:
                self.report.failures.append(
                    _("Live chat bot in %(room)s: %(error)s") % {"room": room.alias(self.server_name), "error": exc}
                )

    # accounts: many, in parallel
    def provision_accounts(self, plan: PeoplePlan) -> None:
        existing = {a.user_id: a for a in MatrixAccount.objects.filter(user_id__in=list(plan.people))}
        todo: list[tuple[MatrixAccount, str]] = []
        for user_id, person in plan.people.items():
            account = existing.get(user_id)
            if account is None:
                account = MatrixAccount(user_id=user_id, email=person.email, kind=MatrixAccount.Kind.PERSON)
            if account.pk is None or (account.display_name, account.role) != (person.display_name, person.role):
                account.display_name, account.role = person.display_name, person.role
                account.save()
            if not account.on_server or account.synced_display_name != person.display_name:
                todo.append((account, person.display_name))

        def create(item: tuple[MatrixAccount, str]) -> bool:
            account, name = item
            return self.client.put_user(account.user_id, displayname=name)

        def record(item: tuple[MatrixAccount, str], outcome: bool | MatrixError) -> None:
            account, name = item
            if isinstance(outcome, MatrixError):
                account.last_error = str(outcome)
                account.save(update_fields=["last_error"])
                self.report.failures.append(
                    _("Account %(user)s: %(error)s") % {"user": account.user_id, "error": outcome}
                )
                return
            if outcome or not account.on_server:
                self.report.accounts_created += 1
            else:
                self.report.accounts_updated += 1
            account.on_server, account.synced_display_name, account.last_error = True, name, ""
            account.save(update_fields=["on_server", "synced_display_name", "last_error"])

        self._parallel("accounts", todo, create, record)

    def provision_joins(self) -> None:
        rooms = list(MatrixRoom.objects.exclude(room_id="").select_related("schedule_room"))
        accounts = list(MatrixAccount.objects.filter(kind=MatrixAccount.Kind.PERSON, on_server=True))
        done = set(MatrixMembership.objects.values_list("account_id", "room_id"))
        todo = [(a, r) for a in accounts for r in rooms if (a.pk, r.pk) not in done and may_join(a, r)]

        def join(item: tuple[MatrixAccount, MatrixRoom]) -> str:
            account, room = item
            return self.client.admin_join(room.room_id, account.user_id)

        def record(item: tuple[MatrixAccount, MatrixRoom], outcome: str | MatrixError) -> None:
            account, room = item
            if isinstance(outcome, MatrixError):
                self.report.failures.append(
                    _("Joining %(user)s to %(room)s: %(error)s")
                    % {"user": account.user_id, "room": room.alias(self.server_name), "error": outcome}
                )
                return
            MatrixMembership.objects.get_or_create(account=account, room=room)
            self.report.joins += 1

        self._parallel("joins", todo, join, record)

    def _parallel(self, label: str, items: list, call: Callable, record: Callable) -> None:
        """Run `call` on a bounded pool; `record` each outcome here, in this thread, as it lands."""
        if not items:
            return
        bar = self.progress(total=len(items), desc=label, unit=label[:-1]) if self.progress else None
        pool = ThreadPoolExecutor(max_workers=self.workers, thread_name_prefix=f"matrix-{label}")
        pending: dict[Future, object] = {}
        queue = iter(items)
        try:
            for item in queue:
                pending[pool.submit(call, item)] = item
                if len(pending) >= self.workers * 2:
                    break
            while pending:
                finished, _unused = wait(pending, return_when=FIRST_COMPLETED)
                for future in finished:
                    item = pending.pop(future)
                    try:
                        outcome = future.result()
                    except MatrixError as exc:
                        outcome = exc
                    record(item, outcome)
                    if bar is not None:
                        bar.update(1)
                    if self.on_item is not None:
                        self.on_item(label, 1)
                    following = next(queue, None)
                    if following is not None:
                        pending[pool.submit(call, following)] = following
        finally:
            pool.shutdown(wait=True, cancel_futures=True)
            if bar is not None:
                bar.close()


# -- on demand (the chat page) --------------------------------------------------------------
def may_join(account: MatrixAccount, room: MatrixRoom) -> bool:
    """A private room's own chat is for its moderators; every other room is for everyone."""
    private = room.schedule_room is not None and room.schedule_room.kind == Room.Kind.PRIVATE
    if not private or account.role in ("moderator", "organiser"):
        return True
    return account.email in {normalise_email(e) for e in room.schedule_room.moderator_emails}


def chat_room_for(room: Room, at: datetime | None = None) -> MatrixRoom | None:
    """The Matrix room shown beside `room` at `at`: a public or private room's own chat; else
    the chat of the track running now (or next) there; else the room's own chat."""
    at = at or timezone.now()
    own = MatrixRoom.objects.filter(schedule_room=room).exclude(room_id="").first()
    if own and room.kind in (Room.Kind.PUBLIC, Room.Kind.PRIVATE):
        return own
    talk = (
        Talk.objects.filter(room=room, end__gt=at, track__isnull=False, is_break=False)
        .order_by("start")
        .select_related("track")
        .first()
    )
    if talk is not None:
        track_room = MatrixRoom.objects.filter(track=talk.track).exclude(room_id="").first()
        if track_room:
            return track_room
    if own:
        return own
    # Nothing later today: the track that last used the room keeps the conversation going.
    last = Talk.objects.filter(room=room, track__isnull=False).order_by("-end").select_related("track").first()
    if last is not None:
        return MatrixRoom.objects.filter(track=last.track).exclude(room_id="").first()
    return None


def ensure_account(client: MatrixClient, account: MatrixAccount) -> None:
    """Create a missing account now (someone registered after provisioning ran)."""
    if account.on_server:
        return
    logger.warning("Creating Matrix account %s on demand: it was not provisioned in advance", account.user_id)
    client.put_user(account.user_id, displayname=account.display_name)
    account.on_server, account.synced_display_name = True, account.display_name
    account.save(update_fields=["on_server", "synced_display_name"])


def ensure_joined(client: MatrixClient, account: MatrixAccount, room: MatrixRoom) -> None:
    """Join on first open (MATRIX_JOIN_MODE=on_open, late arrivals, new rooms)."""
    if MatrixMembership.objects.filter(account=account, room=room).exists():
        return
    client.admin_join(room.room_id, account.user_id)
    MatrixMembership.objects.get_or_create(account=account, room=room)
