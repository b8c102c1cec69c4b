"""provision_matrix against the suite's real Synapse: rooms, accounts, joins, resuming, 429s."""

import uuid
from io import StringIO

import pytest
import requests
from django.core.management import call_command

from chat_embed.ids import email_to_user_id
from chat_embed.matrix import MatrixClient
from chat_embed.models import MatrixAccount, MatrixMembership, MatrixRoom
from chat_embed.provisioning import Person, Provisioner, renaming_notices
from tests import matrix_sample

pytestmark = pytest.mark.django_db


class Interrupted(Exception):
    pass


@pytest.fixture
def homeserver(matrix_settings, settings):
    """The suite's Synapse, with aliases and addresses no other test uses."""
    tag = uuid.uuid4().hex[:8]
    settings.MATRIX_ROOM_ALIAS_PREFIX = f"t{tag}-"
    matrix_settings.tag = tag
    return matrix_settings


def admin_get(synapse, path: str, token: str | None = None) -> requests.Response:
    return requests.get(
        f"{synapse.url}{path}", headers={"Authorization": f"Bearer {token or synapse.admin_token}"}, timeout=10
    )


def state(synapse, room_id: str, kind: str) -> dict:
    return admin_get(synapse, f"/_matrix/client/v3/rooms/{room_id}/state/{kind}/").json()


def writes(synapse) -> int:
    return sum(synapse.count_requests("/_", method) for method in ("POST", "PUT", "DELETE"))


def provision(*args: str) -> str:
    out = StringIO()
    call_command("provision_matrix", "--no-progress", *args, stdout=out, stderr=StringIO())
    return out.getvalue()


def test_rooms_accounts_and_joins_then_a_second_run_changes_nothing(homeserver):
    sample = matrix_sample.build(f"{homeserver.tag}.example.org")
    server = homeserver.server_name
    output = provision()
    assert "Rooms: 5 created" in output, output

    rooms = {room.key: room for room in MatrixRoom.objects.all()}
    assert set(rooms) == {"track:kernel-summit", "track:networking", "track:toolchains", "room:town-hall", "room:board"}
    kernel = rooms["track:kernel-summit"]
    alias = f"#t{homeserver.tag}-kernel-summit:{server}"
    assert (
        admin_get(homeserver, f"/_matrix/client/v3/directory/room/{requests.utils.quote(alias)}").json()["room_id"]
        == kernel.room_id
    )
    # Track rooms: attendees only (invite + admin join), history readable by late joiners.
    assert state(homeserver, kernel.room_id, "m.room.join_rules")["join_rule"] == "invite"
    assert state(homeserver, kernel.room_id, "m.room.history_visibility")["history_visibility"] == "shared"
    assert state(homeserver, kernel.room_id, "m.room.guest_access")["guest_access"] == "forbidden"
    assert state(homeserver, kernel.room_id, "m.room.name")["name"] == "Kernel Summit"
    assert "Kernel Summit" in state(homeserver, kernel.room_id, "m.room.topic")["topic"]
    levels = state(homeserver, kernel.room_id, "m.room.power_levels")
    speaker0 = email_to_user_id(sample.email("speaker0"), server)
    speaker1 = email_to_user_id(sample.email("speaker1"), server)
    assert levels["users"][speaker0] == 50  # this track's speaker moderates
    assert speaker1 not in levels["users"]  # another track's speaker does not
    assert levels["users"][email_to_user_id(sample.email("organiser"), server)] == 50
    assert levels["users"][email_to_user_id(sample.email("moderator"), server)] == 50
    assert levels["users"][email_to_user_id(sample.email("hall.mod"), server)] == 50  # moderates the track's room
    assert email_to_user_id(sample.email("attendee0"), server) not in levels["users"]
    assert (levels["invite"], levels["kick"], levels["ban"], levels["redact"], levels["events_default"]) == (
        50, 50, 50, 50, 0,
    )  # fmt: skip
    # The public room: joinable, world-readable, listed in the directory.
    townhall = rooms["room:town-hall"]
    assert state(homeserver, townhall.room_id, "m.room.join_rules")["join_rule"] == "public"
    assert state(homeserver, townhall.room_id, "m.room.history_visibility")["history_visibility"] == "world_readable"
    listing = admin_get(homeserver, f"/_matrix/client/v3/directory/list/room/{townhall.room_id}").json()
    assert listing["visibility"] == "public"
    assert (
        admin_get(homeserver, f"/_matrix/client/v3/directory/list/room/{kernel.room_id}").json()["visibility"]
        == "private"
    )

    # Accounts: 4 attendees, organiser, moderator, 3 speakers (from the schedule only).
    accounts = MatrixAccount.objects.filter(email__endswith=sample.domain)
    assert accounts.count() == 9 and all(a.on_server for a in accounts)
    ann = admin_get(homeserver, f"/_synapse/admin/v2/users/{email_to_user_id(sample.email('attendee0'), server)}")
    assert ann.json()["displayname"] == "Attendee 0"
    assert admin_get(homeserver, f"/_synapse/admin/v2/users/{speaker0}").json()["displayname"] == "Speaker 0"

    # Joins: everyone in every room except the private room's chat, which is for moderators.
    members = set(admin_get(homeserver, f"/_matrix/client/v3/rooms/{kernel.room_id}/joined_members").json()["joined"])
    assert {a.user_id for a in accounts} <= members
    board = set(
        admin_get(homeserver, f"/_matrix/client/v3/rooms/{rooms['room:board'].room_id}/joined_members").json()["joined"]
    )
    assert email_to_user_id(sample.email("organiser"), server) in board
    assert email_to_user_id(sample.email("attendee0"), server) not in board
    assert MatrixMembership.objects.count() == 9 * 4 + 2

    # Second run: nothing new, and not a single write request reaches the homeserver.
    before = writes(homeserver)
    output = provision()
    assert "nothing changed" in output, output
    assert writes(homeserver) == before


def rooms_only(homeserver) -> Provisioner:
    client = MatrixClient(homeserver.url, homeserver.admin_token, timeout=10)
    return Provisioner(client, homeserver.server_name, join_mode="on_open")


def test_schedule_changes_update_only_what_changed(homeserver):
    sample = matrix_sample.build(f"{homeserver.tag}.example.org")
    rooms_only(homeserver).run(people=[])
    track = sample.tracks[1]
    track.name = "Networking and BPF"
    track.save()
    sample.hall.moderator_emails = []
    sample.hall.save()
    report = rooms_only(homeserver).run(people=[])
    assert (report.rooms_created, report.rooms_updated) == (0, 3)  # the three tracks held in Hall A
    room = MatrixRoom.objects.get(key="track:networking")
    assert state(homeserver, room.room_id, "m.room.name")["name"] == "Networking and BPF"
    hall_mod = email_to_user_id(sample.email("hall.mod"), homeserver.server_name)
    assert hall_mod not in state(homeserver, room.room_id, "m.room.power_levels")["users"]


def test_an_interrupted_run_resumes_and_finishes(homeserver):
    sample = matrix_sample.build(f"{homeserver.tag}.example.org")
    client = MatrixClient(homeserver.url, homeserver.admin_token, timeout=10)
    recorded = []

    def stop_after_three(step: str, count: int) -> None:
        recorded.append(step)
        if step == "accounts" and recorded.count("accounts") == 3:
            raise Interrupted

    with pytest.raises(Interrupted):
        Provisioner(client, homeserver.server_name, workers=2, on_item=stop_after_three).run()
    assert MatrixAccount.objects.filter(on_server=True).count() == 3
    assert MatrixMembership.objects.count() == 0

    report = Provisioner(client, homeserver.server_name, workers=2).run()
    assert report.failures == []
    assert report.rooms_created == 0  # the rooms were recorded before the interruption
    assert report.accounts_created == 6  # only the rest
    accounts = MatrixAccount.objects.filter(email__endswith=sample.domain)
    assert accounts.count() == 9 and all(a.on_server for a in accounts)
    assert MatrixMembership.objects.count() == 9 * 4 + 2
    again = Provisioner(client, homeserver.server_name, workers=2).run()
    assert not again.changed


def test_a_room_made_just_before_a_crash_is_adopted_not_duplicated(homeserver):
    matrix_sample.build(f"{homeserver.tag}.example.org")
    rooms_only(homeserver).run(people=[])
    kernel = MatrixRoom.objects.get(key="track:kernel-summit")
    room_id = kernel.room_id
    MatrixRoom.objects.filter(pk=kernel.pk).update(room_id="", applied_hash="")  # as if never recorded
    report = rooms_only(homeserver).run(people=[])
    assert (report.rooms_created, report.rooms_updated) == (0, 1)
    assert MatrixRoom.objects.get(pk=kernel.pk).room_id == room_id


def test_429_answers_are_waited_out(homeserver):
    """A second admin whose own rate limit is 1 request/s: room creation gets real 429s."""
    matrix_sample.build(f"{homeserver.tag}.example.org")
    slow = homeserver.register_user(f"slow-admin-{homeserver.tag}", admin=True)
    MatrixClient(homeserver.url, homeserver.admin_token).set_ratelimit(slow["user_id"], 1, 1)
    client = MatrixClient(homeserver.url, slow["access_token"], timeout=10, retry_budget=60)
    client.create_room({"preset": "private_chat"})  # uses up the burst: the next room must wait
    report = Provisioner(client, homeserver.server_name, lift_own_rate_limit=False).run(people=[])
    assert report.failures == []
    assert report.rooms_created == 5
    assert report.rate_limited >= 1 and report.waited_seconds > 0


def test_collisions_and_duplicates_are_reported(homeserver):
    domain = f"{homeserver.tag}.example.org"
    client = MatrixClient(homeserver.url, homeserver.admin_token, timeout=10)
    people = [
        Person(f"Dup@{domain}", "Dup One", "attendee"),
        Person(f"dup@{domain.upper()}", "Dup Two", "speaker"),
        Person("not-an-address", "Nobody", "attendee"),
    ]
    report = Provisioner(client, homeserver.server_name).run(people=people)
    assert any("one address after normalisation" in n for n in report.notices)
    assert any("not-an-address" in f for f in report.failures)
    account = MatrixAccount.objects.get(email=f"dup@{domain}")
    assert account.role == "speaker" and account.on_server


def test_dry_run_changes_nothing(homeserver):
    matrix_sample.build(f"{homeserver.tag}.example.org")
    before = writes(homeserver)
    output = provision("--dry-run")
    assert "5 room(s)" in output and "9 account(s)" in output
    assert writes(homeserver) == before
    assert not MatrixRoom.objects.exists()


def test_provisioning_checks_that_people_cannot_rename_themselves(homeserver):
    matrix_sample.build(f"{homeserver.tag}.example.org")
    # The suite's homeserver is configured as docs/matrix.md asks: no warning.
    capabilities = MatrixClient(homeserver.url, homeserver.admin_token).capabilities()
    assert capabilities["m.set_displayname"] == {"enabled": False}
    assert "pose as someone else" not in provision()
    # One that lets people rename themselves is named, with the settings that fix it.
    notices = renaming_notices({"m.set_displayname": {"enabled": True}, "m.set_avatar_url": {"enabled": False}})
    assert notices == [
        "The homeserver lets people change their own display name, so anyone could pose as someone else in the "
        "chat: set `enable_set_displayname: false` and `allow_per_room_profiles: false` in homeserver.yaml "
        "(docs/matrix.md)."
    ]
