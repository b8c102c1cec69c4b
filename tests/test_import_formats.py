"""Each importer's happy path, on the real sample schedules in tests/data (sources: tests/data/README.md) and on the
bundled sample conference.

`tests/data/indico-modern-timetable.json` is built by hand in the shape of Indico 2.x/3.x's
TimetableSerializer (no real modern dump is public): a block with contributions and a break,
an empty block, a block past midnight listed under two days, top-level contributions and breaks,
relative URLs, presenters with emails, a null description, times on both sides of a DST change.
"""

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from sessions.importers import load_schedule
from sessions.importers.apply import apply_schedule
from sessions.importers.base import Problems
from sessions.importers.flatfiles import parse_rooms, parse_tracks
from sessions.models import Conference, Room, Talk, Track
from tests.importing import BUNDLED, SAMPLES, run_import

DATA = __import__("pathlib").Path(__file__).parent / "data"


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


@pytest.fixture(scope="module")
def chep():
    """The 2 MB CHEP 2009 export, parsed once for the whole module."""
    return load_schedule(str(SAMPLES / "indico-timetable-export-chep2009-event35523.json"))


# --- lpcfe flat files --------------------------------------------------------------------


def test_lpcfe_tracks_file_2020():
    problems = Problems()
    tracks = parse_tracks((SAMPLES / "lpcfe-tracks.2020-initial").read_bytes(), "tracks", problems)
    assert not problems.items
    assert len(tracks) == 11
    assert (tracks[0].name, tracks[0].colour) == ("BPF MC", "#dddddd")
    databases = next(t for t in tracks if t.name == "Databases MC")
    assert databases.colour == "#eeeeee"  # written "Databases MC: #eeeeee", with a space
    assert databases.where.line == 6


def test_lpcfe_rooms_file_old_two_field_form():
    problems = Problems()
    rooms = parse_rooms((SAMPLES / "lpcfe-rooms.2020-initial").read_bytes(), "rooms", problems)
    assert not problems.items
    assert [r.name for r in rooms][:3] == ["Ametista/room-I", "Esmerelda/room-I&II", "Floriana/room-I"]
    assert {r.kind for r in rooms} == {"session"}
    assert rooms[2].bbb_server == "linuxplumbers.lwn.net"


def test_rooms_file_current_form_with_extensions():
    problems = Problems()
    text = (
        "# comment\n"
        "Main:bbb1.example.org:session:lpc-main\n"
        "Town hall::public::capacity=900\n"
        "PC:bbb2.example.org:private:pc:moderators=A@example.org, b@example.com:capacity=12\n"
        "Hacking:bbb2.example.org:hack\n"
    )
    rooms = parse_rooms(text.encode(), "rooms", problems)
    assert not problems.items
    assert [(r.name, r.kind, r.bbb_server, r.matrix_room, r.capacity) for r in rooms] == [
        ("Main", "session", "bbb1.example.org", "lpc-main", None),
        ("Town hall", "public", "", "", 900),
        ("PC", "private", "bbb2.example.org", "pc", 12),
        ("Hacking", "hack", "bbb2.example.org", "", None),
    ]
    assert rooms[2].moderator_emails == ["a@example.org", "b@example.com"]


# --- Indico --------------------------------------------------------------------------------


@pytest.mark.django_db
def test_indico_chep2009(chep):
    assert chep.format == "indico"
    assert chep.conference.timezone == "Europe/Zurich"
    assert (chep.conference.start_date, chep.conference.end_date) == (date(2009, 3, 21), date(2009, 3, 27))
    diff = apply_schedule(chep)
    assert diff.changed and not diff.cancelled

    # 246 talks and blocks (3 poster blocks folded into one session each), 1 break inside a
    # block, and 12 top-level breaks without a room, placed beside the sessions around them.
    assert Talk.objects.filter(is_break=False).count() == 246
    assert Talk.objects.get(external_id="indico:35523:s67l1b5").room.name == "Congress Hall"
    assert Talk.objects.filter(is_break=True).count() == 46
    assert Room.objects.count() == 9
    assert Track.objects.count() == 13

    opening = Talk.objects.get(title="Opening Address")
    assert (opening.start, opening.end) == (utc(2009, 3, 23, 8, 0), utc(2009, 3, 23, 8, 30))  # CET = UTC+1
    assert opening.room.name == "Congress Hall"
    assert opening.track.name == "Opening"

    wlcg = Talk.objects.get(external_id="indico:35523:s1c510")
    assert wlcg.title == "WLCG - Can we deliver ?"
    assert wlcg.speaker_names == ["Neil GEDDES"]  # Indico 1.x "GEDDES, Neil"
    assert wlcg.track.name == "Plenary" and wlcg.track.colour == "#f0c060"

    posters = Talk.objects.filter(track__name="Poster session")
    assert posters.count() == 3
    first = posters.order_by("start").first()
    assert first.room.name == "Prague"  # no room anywhere: the entry's location
    assert first.abstract.count("\n") >= 99 and first.abstract.startswith("• ")

    # The 10:30 coffee break on the first day is placed only where sessions run around it.
    coffee = Talk.objects.filter(title="coffee break, exhibits and posters", start=utc(2009, 3, 23, 9, 30))
    assert [t.room.name for t in coffee] == ["Congress Hall"]
    lunch = Talk.objects.filter(title="lunch", start=utc(2009, 3, 23, 12, 0))
    assert sorted(t.room.name for t in lunch) == [
        "Club A",
        "Club B",
        "Club C",
        "Club D",
        "Club E",
        "Congress Hall",
        "Panorama",
    ]


@pytest.mark.django_db
def test_indico_chep2009_reimport_changes_nothing(chep):
    apply_schedule(chep)
    before = list(Talk.objects.values_list("external_id", "start", "sequence"))
    again = load_schedule(str(SAMPLES / "indico-timetable-export-chep2009-event35523.json"))
    diff = apply_schedule(again)
    assert not diff.changed
    assert diff.summary() == "no changes"
    assert list(Talk.objects.values_list("external_id", "start", "sequence")) == before


@pytest.mark.django_db
def test_indico_modern_shape():
    schedule = load_schedule(str(DATA / "indico-modern-timetable.json"), base_url="https://lpc.example.org/")
    assert schedule.conference.timezone == "Europe/Prague"
    apply_schedule(schedule)
    talks = {t.external_id: t for t in Talk.objects.select_related("room", "track")}

    report = talks["indico:7:c201"]
    assert report.start == utc(2026, 10, 24, 8, 0)  # 10:00 CEST
    assert report.room.name == "South Hall 1B"  # empty room: the block's
    assert report.track.name == "Kernel Summit" and report.track.colour == "#e3f2fd"
    assert report.speaker_emails == ["ada.example@example.com", "grace@example.org"]
    assert report.url == "https://lpc.example.org/event/7/contributions/201/"
    assert talks["indico:7:c204"].abstract == ""  # null description
    assert talks["indico:7:b203"].is_break and talks["indico:7:b203"].room.name == "South Hall 1B"

    # The tz field is honoured: Sunday is after the DST change, 09:00 CET = 08:00 UTC.
    assert talks["indico:7:c402"].start == utc(2026, 10, 25, 8, 0)
    assert talks["indico:7:c401"].start == utc(2026, 10, 24, 7, 0)
    assert talks["indico:7:c401"].track is None  # a contribution outside any block

    empty_block = talks["indico:7:s102"]  # a block without contributions is one session
    assert (empty_block.title, empty_block.room.name) == ("BPF MC", "Club A")
    assert empty_block.speaker_emails == ["daniel@example.org", "alexei@example.com"]

    # Listed under two days, imported once; ends after midnight.
    assert talks["indico:7:s103"].end == utc(2026, 10, 24, 23, 0)  # 01:00 CEST

    # Top-level breaks are kept: with a room in it, without one beside the sessions around it.
    assert talks["indico:7:b302"].room.name == "Congress Hall"
    lunch = sorted(k for k in talks if k.startswith("indico:7:b301@"))
    assert lunch == ["indico:7:b301@club-a", "indico:7:b301@south-hall-1b"]


def test_indico_relative_urls_without_base_are_dropped_with_a_warning():
    schedule = load_schedule(str(DATA / "indico-modern-timetable.json"))
    assert all(s.url == "" for s in schedule.sessions)
    assert any("relative session URL" in w.message for w in schedule.warnings)


@pytest.mark.django_db
def test_indico_with_lpcfe_tracks_and_rooms_files_reports_each_unknown_name_once():
    code, _out, err = run_import(
        str(SAMPLES / "indico-timetable-export-chep2009-event35523.json"),
        tracks=str(SAMPLES / "lpcfe-tracks.2020-initial"),
        rooms=str(SAMPLES / "lpcfe-rooms.2020-initial"),
    )
    assert code == 1
    assert "unknown room 'Club B': it is not in the rooms file" in err
    assert err.count("unknown room 'Club B'") == 1
    assert "(also used by 34 more sessions)" in err
    assert Talk.objects.count() == 0


# --- frab / pretalx ------------------------------------------------------------------------


@pytest.mark.django_db
def test_frab_xml_31c3():
    schedule = load_schedule(str(SAMPLES / "frab-schedule-31c3.xml"))
    assert schedule.format == "frab-xml"
    assert schedule.conference.name == "31. Chaos Communication Congress"
    assert schedule.conference.timezone == "Etc/GMT-1"  # no zone name: derived from +01:00
    assert any("--timezone" in w.message for w in schedule.warnings)
    apply_schedule(schedule)
    assert Talk.objects.count() == 138
    assert sorted(Room.objects.values_list("name", flat=True)) == ["Saal 1", "Saal 2", "Saal 6", "Saal G"]
    assert Track.objects.count() == 8
    opening = Talk.objects.get(external_id="29aecfd7-2e44-4f49-ab86-29b5e0877325")
    assert opening.title == "31C3 Opening Event"
    assert (opening.start, opening.end) == (utc(2014, 12, 27, 10, 0), utc(2014, 12, 27, 10, 30))
    assert opening.speaker_names == ["erdgeist", "Geraldine de Bastion"]
    assert opening.track.name == "CCC"
    keynote = Talk.objects.get(title="31C3 Keynote")
    assert keynote.abstract.startswith("A New Dawn")
    assert Track.objects.filter(name="Ethics, Society & Politics").exists()
    # Days run past midnight: the day of 28 December ends with a show at 00:15 on the 29th.
    fnord = Talk.objects.get(title="Fnord News Show")
    assert fnord.start == utc(2014, 12, 28, 23, 15)


@pytest.mark.django_db
def test_frab_json_camp2019():
    schedule = load_schedule(str(SAMPLES / "frab-schedule-camp2019.json"))
    assert schedule.format == "frab-json"
    assert schedule.conference.timezone == "Europe/Berlin"
    assert not schedule.warnings
    apply_schedule(schedule)
    assert Talk.objects.count() == 79
    assert set(Room.objects.values_list("name", flat=True)) == {"Curie", "Meitner"}
    assert Track.objects.count() == 7
    opening = Talk.objects.get(title="Opening Ceremony")
    assert opening.start == utc(2019, 8, 21, 9, 0)  # 11:00 CEST
    assert opening.url == "https://fahrplan.events.ccc.de/camp/2019/Fahrplan/events/10386.html"
    assert opening.external_id == "a0a0fcfe-b7fb-46e3-84b6-97a5406016b4"
    assert Conference.current().timezone == "Europe/Berlin"


@pytest.mark.django_db
def test_pretalx_frab_json_rc3_without_zone_name():
    schedule = load_schedule(str(SAMPLES / "pretalx-frab-schedule-rc3-channels-2020.json"))
    assert schedule.conference.timezone == "Etc/GMT-1"
    apply_schedule(schedule)
    assert Talk.objects.count() == 48
    assert Room.objects.count() == 5
    room = Room.objects.get(name="hacc München / about:future - München")  # ':' and '/' in a name
    assert room.slug == "hacc-munchen-about-future-munchen"
    talk = Talk.objects.get(external_id="c3642671-4c1f-5109-81ba-0535c1cc8428")
    assert talk.start == utc(2020, 12, 27, 10, 30)
    assert talk.speaker_names == ["Chris Fiege", "Kasa"]
    assert talk.track.name == "MON r3s Rhein VHS"


@pytest.mark.django_db
def test_timezone_option_overrides_a_derived_zone():
    code, out, _err = run_import(
        str(SAMPLES / "pretalx-frab-schedule-rc3-channels-2020.json"), timezone="Europe/Berlin"
    )
    assert code == 0, out
    assert Conference.current().timezone == "Europe/Berlin"
    assert Talk.objects.get(external_id="c3642671-4c1f-5109-81ba-0535c1cc8428").start == utc(2020, 12, 27, 10, 30)


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("indico-event-export-xdc2021-event1.json", "use the timetable export"),
        ("pretalx-widget-v2-pydata-london-2023.json", "frab-compatible export"),
        ("ical-lpc2026-kernel-summit-track.ics", "iCalendar"),
    ],
)
@pytest.mark.django_db  # a failed import is noted for the organisers' console
def test_sources_that_are_not_schedules_are_named(name, message):
    code, _out, err = run_import(str(SAMPLES / name))
    assert code == 1
    assert f"{SAMPLES / name}: " in err and message in err


# --- the bundled sample conference ---------------------------------------------------------


@pytest.mark.django_db
def test_bundled_sample_conference_has_the_promised_shape():
    code, out, err = run_import(str(BUNDLED))
    assert code == 0, err
    assert err == ""
    conference = Conference.current()
    assert conference.name == "Sample Plumbers Conference 2026"
    assert conference.timezone == "Europe/Dublin"
    assert (conference.start_date, conference.end_date) == (date(2026, 10, 23), date(2026, 10, 26))

    tz = ZoneInfo("Europe/Dublin")
    talks = list(Talk.objects.select_related("room", "track"))
    days = {t.start.astimezone(tz).date() for t in talks}
    assert days == {date(2026, 10, 23) + timedelta(days=i) for i in range(4)}
    assert Track.objects.count() >= 25
    assert Track.objects.filter(name__endswith=" MC").count() >= 15
    kinds = dict(Room.objects.values_list("name", "kind"))
    assert len(kinds) >= 6
    assert kinds["Town hall"] == "public" and kinds["Hack room"] == "hack"
    private = Room.objects.get(kind="private")
    assert private.moderator_emails

    # Six or more rooms run in parallel.
    at = datetime(2026, 10, 24, 10, 15, tzinfo=tz)
    assert Talk.objects.filter(start__lte=at, end__gt=at, is_break=False).count() >= 6
    assert Talk.objects.filter(is_break=True).count() >= 12

    # speaker@example.org speaks on every day; the DST change shows in UTC.
    speaker_days = {t.start.astimezone(tz).date() for t in talks if "speaker@example.org" in t.speaker_emails}
    assert speaker_days == days
    assert all(e.endswith(("@example.org", "@example.com")) for t in talks for e in t.speaker_emails)
    saturday = Talk.objects.get(external_id="pc-sync-2026-10-24")
    sunday = Talk.objects.get(external_id="pc-sync-2026-10-25")
    assert saturday.start == utc(2026, 10, 24, 7, 30)  # 08:30 IST
    assert sunday.start == utc(2026, 10, 25, 8, 30)  # 08:30 GMT


@pytest.mark.django_db
def test_the_documented_example_imports(tmp_path):
    """The example in docs/schedule-formats.md is a working schedule (with the sample's files)."""
    text = (BUNDLED.parents[1] / "docs" / "schedule-formats.md").read_text()
    example = text.split("## The local schedule file", 1)[1].split("```", 2)[1].removeprefix("\n")
    (tmp_path / "example.schedule").write_text(example)
    for name in ("rooms", "tracks"):
        (tmp_path / name).write_bytes((BUNDLED.parent / name).read_bytes())
    code, out, err = run_import(str(tmp_path / "example.schedule"))
    assert code == 0, err
    assert "(local, 11 sessions, Europe/Dublin): 11 added" in out  # 8 talks, coffee in 1 room, lunch in 2
    tz = ZoneInfo("Europe/Dublin")
    welcome = Talk.objects.get(external_id="welcome-to-sample-plumbers-2026")
    assert welcome.url == "https://plumbers.example.org/event/2026/timetable/#welcome"
    assert welcome.abstract.endswith('Indent continuation lines further than "abstract:".')
    assert Talk.objects.get(title="Late-night hacking").end == datetime(2026, 10, 26, 0, 30, tzinfo=tz)
    assert Talk.objects.get(title="A session planned in another zone").start == utc(2026, 10, 25, 22, 0)
    assert Talk.objects.get(title="An untracked talk").speaker_emails == ["speaker@example.org"]
    assert sorted(Talk.objects.filter(title="Lunch").values_list("room__name", flat=True)) == [
        "Kernel room",
        "Main hall",
    ]
