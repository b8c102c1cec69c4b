"""Applying a schedule: idempotent re-imports, the diff of a changed source, calendar sequence
numbers, the schedule_changed signal, dry runs, and what admins set by hand surviving imports."""

from datetime import UTC, datetime

import pytest

from sessions.importers import load_schedule
from sessions.importers.apply import apply_schedule
from sessions.models import Room, Talk, Track
from sessions.signals import schedule_changed
from tests.importing import run_import, snapshot

ROOMS = "Hall A::session\nHall B::session\n"
TRACKS = "Kernel:#112233:kernel\nNetworking:#445566\n"
V1 = """conference: Diff Conference
timezone: Europe/Dublin
rooms: rooms
tracks: tracks

day 2026-10-24
09:00-09:45 | Hall A | Kernel | Stays put | Ada Example <ada.example@example.org>
10:00-10:45 | Hall A | Kernel | Will move later
11:00-11:45 | Hall A | Kernel | Will change room
12:00-12:45 | Hall B | Networking | Old title
    id: renamed-talk
13:00-13:45 | Hall B | Networking | Will be cancelled
14:00-14:45 | Hall B | Networking | New speakers | Bob Example <bob@example.com>
"""
V2 = """conference: Diff Conference
timezone: Europe/Dublin
rooms: rooms
tracks: tracks

day 2026-10-24
09:00-09:45 | Hall A | Kernel | Stays put | Ada Example <ada.example@example.org>
10:30-11:15 | Hall A | Kernel | Will move later
11:00-11:45 | Hall B | Kernel | Will change room
12:00-12:45 | Hall B | Networking | New title
    id: renamed-talk
14:00-14:45 | Hall B | Networking | New speakers | Carol Example <carol@example.com>
15:00-15:45 | Hall B | Networking | Brand new
"""


@pytest.fixture
def folder(tmp_path):
    (tmp_path / "rooms").write_text(ROOMS)
    (tmp_path / "tracks").write_text(TRACKS)
    return tmp_path


def write(folder, text: str) -> str:
    path = folder / "conf.schedule"
    path.write_text(text)
    return str(path)


@pytest.fixture
def signals():
    received = []

    def receiver(sender, diff, **kwargs):
        received.append(diff)

    schedule_changed.connect(receiver)
    yield received
    schedule_changed.disconnect(receiver)


@pytest.mark.django_db
def test_reimporting_the_same_source_changes_nothing(folder, signals):
    path = write(folder, V1)
    first = apply_schedule(load_schedule(path))
    assert len(first.added) == 6 and first.rooms_added == ["Hall A", "Hall B"]
    assert len(signals) == 1
    before = snapshot()
    code, out, _err = run_import(path)
    assert code == 0
    assert out.rstrip().endswith(": no changes")
    assert snapshot() == before
    assert len(signals) == 1  # nothing changed: no signal


@pytest.mark.django_db
def test_a_changed_source_gives_the_right_diff(folder, signals):
    apply_schedule(load_schedule(write(folder, V1)))
    sequences = dict(Talk.objects.values_list("external_id", "sequence"))
    diff = apply_schedule(load_schedule(write(folder, V2)))

    assert [s.title for s in diff.added] == ["Brand new"]
    assert [s.title for s in diff.cancelled] == ["Will be cancelled"]
    moved = {after.title: (before, after) for before, after in diff.moved}
    assert set(moved) == {"Will move later", "Will change room"}
    before, after = moved["Will move later"]
    assert (before.start, after.start) == (
        datetime(2026, 10, 24, 9, 0, tzinfo=UTC),
        datetime(2026, 10, 24, 9, 30, tzinfo=UTC),
    )
    assert (moved["Will change room"][0].room, moved["Will change room"][1].room) == ("Hall A", "Hall B")
    assert [(b.title, a.title) for b, a in diff.retitled] == [("Old title", "New title")]
    assert [s.title for s in diff.updated] == ["New speakers"]
    assert diff.summary() == "1 added, 2 moved, 1 retitled, 1 updated, 1 cancelled"

    # Calendar clients see a new SEQUENCE only where time or room changed.
    now = dict(Talk.objects.values_list("external_id", "sequence"))
    assert now["will-move-later"] == sequences["will-move-later"] + 1
    assert now["will-change-room"] == sequences["will-change-room"] + 1
    assert now["renamed-talk"] == sequences["renamed-talk"]
    assert now["stays-put"] == sequences["stays-put"]
    assert "will-be-cancelled" not in now
    assert Talk.objects.get(external_id="new-speakers").speaker_emails == ["carol@example.com"]

    assert len(signals) == 2 and signals[1] is diff

    lines = "\n".join(diff.lines())
    assert "> Will move later: Sat 24 Oct 10:00-10:45 Hall A -> Sat 24 Oct 10:30-11:15 Hall A" in lines
    assert "~ 'Old title' -> 'New title'" in lines
    assert "- Sat 24 Oct 13:00-13:45 Hall B  Will be cancelled" in lines
    assert "+ Sat 24 Oct 15:00-15:45 Hall B  Brand new" in lines


@pytest.mark.django_db
def test_dry_run_shows_the_diff_and_writes_nothing(folder, signals):
    apply_schedule(load_schedule(write(folder, V1)))
    before = snapshot()
    code, out, _err = run_import(write(folder, V2), dry_run=True)
    assert code == 0
    assert out.startswith("Dry run, nothing written: ")
    assert "1 added, 2 moved, 1 retitled, 1 updated, 1 cancelled" in out
    assert "Cancelled 1 session:" in out
    assert snapshot() == before
    assert len(signals) == 1


@pytest.mark.django_db
def test_rooms_and_tracks_files_set_everything_and_survive_reimport(folder):
    (folder / "rooms").write_text(
        "Hall A:bbb1.example.org:private:hall-a:moderators=mod@example.org:capacity=30\nHall B::public\n"
    )
    apply_schedule(load_schedule(write(folder, V1)))
    hall_a = Room.objects.get(slug="hall-a")
    assert (hall_a.kind, hall_a.bbb_server, hall_a.matrix_room, hall_a.capacity) == (
        "private",
        "bbb1.example.org",
        "hall-a",
        30,
    )
    assert hall_a.moderator_emails == ["mod@example.org"]
    assert list(Room.objects.values_list("slug", "position")) == [("hall-a", 0), ("hall-b", 1)]
    kernel = Track.objects.get(slug="kernel")
    assert (kernel.colour, kernel.matrix_room) == ("#112233", "kernel")

    # The organiser edits the tracks file: the change is applied and reported.
    (folder / "tracks").write_text("Kernel:#abcdef:kernel-chat:Day one only\nNetworking:#445566\n")
    diff = apply_schedule(load_schedule(str(folder / "conf.schedule")))
    assert diff.tracks_changed == ["Kernel"] and diff.summary() == "no session changes"
    kernel.refresh_from_db()
    assert (kernel.colour, kernel.matrix_room, kernel.extra) == ("#abcdef", "kernel-chat", "Day one only")


@pytest.mark.django_db
def test_sources_without_room_details_keep_what_the_admin_set(tmp_path):
    """A frab schedule names rooms and tracks only: kinds, capacities and colours set in the
    admin must survive the next import."""
    (tmp_path / "schedule.json").write_text(
        '{"schedule": {"conference": {"title": "T", "time_zone_name": "Europe/Berlin", "acronym": "t", "days": ['
        '{"date": "2026-06-01", "rooms": {"Saal 1": [{"guid": "g1", "id": 1, "date": "2026-06-01T10:00:00+02:00",'
        '"start": "10:00", "duration": "00:30", "room": "Saal 1", "title": "Hello", "track": "Talks",'
        '"type": "lecture", "persons": [{"public_name": "Somebody"}]}]}}]}}}'
    )
    path = str(tmp_path / "schedule.json")
    apply_schedule(load_schedule(path))
    Room.objects.filter(slug="saal-1").update(kind="public", capacity=99)
    Track.objects.filter(slug="talks").update(colour="#010203")
    diff = apply_schedule(load_schedule(path))
    assert not diff.changed
    room = Room.objects.get(slug="saal-1")
    assert (room.kind, room.capacity) == ("public", 99)
    assert Track.objects.get(slug="talks").colour == "#010203"


@pytest.mark.django_db
def test_unused_rooms_are_reported_not_deleted(folder):
    apply_schedule(load_schedule(write(folder, V1)))
    Room.objects.create(slug="old-room", name="Old room")
    diff = apply_schedule(load_schedule(str(folder / "conf.schedule")))
    assert diff.rooms_unused == ["Old room"]
    assert Room.objects.filter(slug="old-room").exists()
    assert "Rooms no longer used by any session" in "\n".join(diff.lines())


@pytest.mark.django_db
def test_admin_pages_for_imported_data_render(folder, client):
    from django.contrib.auth.models import User

    apply_schedule(load_schedule(write(folder, V1)))
    User.objects.create_superuser("admin@example.org", "admin@example.org", "pw")
    client.force_login(User.objects.get(username="admin@example.org"))
    talk = Talk.objects.get(external_id="renamed-talk")
    from django.urls import reverse

    urls = [reverse(f"admin:lpc_sessions_{model}_changelist") for model in ("talk", "room", "track", "conference")]
    change = reverse("admin:lpc_sessions_talk_change", args=[talk.pk])
    add = reverse("admin:lpc_sessions_talk_add")
    for url in [*urls, change, add]:
        response = client.get(url)
        assert response.status_code == 200, url
    page = client.get(change).content.decode()
    assert "Filled in by manage.py import_schedule" in page
    assert 'name="external_id"' not in page  # fixed once imported
    assert 'name="external_id"' in client.get(add).content.decode()
