"""Every class of bad input gives a located, human error, all of them in one run, and leaves
the schedule imported before it exactly as it was."""

import json
import re
from html import escape
from pathlib import Path

import pytest

from tests.importing import run_import, snapshot

DATA = Path(__file__).parent / "data"

ROOMS = "# rooms\nHall A::session\nHall B::session:hall-b\nLobby::public\n"
TRACKS = "# tracks\nKernel:#112233\nNetworking:#445566:net\n"
GOOD = """# A small conference
conference: Test Conference
timezone:   Europe/Dublin
rooms:      rooms
tracks:     tracks

day 2026-10-24 Saturday
09:00-09:45 | Hall A | Kernel | Opening | Ada Example <ada.example@example.org>
10:00-10:45 | Hall A | Kernel | Second talk
10:00-10:45 | Hall B | Networking | Parallel talk | Bob Example <bob@example.com>
    id: parallel
11:00-11:30 | break | Coffee
"""


def lines_of(text: str) -> list[str]:
    return text.splitlines(keepends=True)


@pytest.fixture
def conf(tmp_path, db):
    """A conference imported from a good local schedule; yields (folder, schedule path, snapshot)."""
    (tmp_path / "rooms").write_text(ROOMS)
    (tmp_path / "tracks").write_text(TRACKS)
    path = tmp_path / "test.schedule"
    path.write_text(GOOD)
    code, _out, err = run_import(str(path))
    assert code == 0, err
    before = snapshot()
    assert len(before["talks"]) == 5  # 3 sessions, the coffee break in Hall A and Hall B
    return tmp_path, path, before


def import_bad(conf, name: str, content: bytes | str) -> str:
    """Write `name` in the conference folder, import the schedule, insist nothing changed."""
    folder, path, before = conf
    target = folder / name
    target.write_bytes(content.encode() if isinstance(content, str) else content)
    source = path if name in ("rooms", "tracks") else target
    code, _out, err = run_import(str(source))
    assert code == 1
    assert snapshot() == before, "a failed import changed the database"
    assert "Traceback" not in err
    assert "nothing was changed" in err
    return err


def with_line(index: int, new: str) -> str:
    lines = lines_of(GOOD)
    lines[index - 1] = new + "\n"
    return "".join(lines)


def inserted(index: int, new: str) -> str:
    lines = lines_of(GOOD)
    lines.insert(index - 1, new + "\n")
    return "".join(lines)


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (with_line(9, "10:00-10:45 | Hall A | Second talk"), ":9: a session line has 4 or 5 columns"),
        (with_line(12, "11:00-11:30 | break"), ":12: a break line has 3 or 4 columns"),
        (with_line(9, "10h00-10:45 | Hall A | Kernel | Second talk"), ":9: '10h00-10:45' is not a time range"),
        (with_line(9, "10:00-10:75 | Hall A | Kernel | Second talk"), ":9: '10:00-10:75': hours run 00-47"),
        (with_line(9, "10:00-10:45 CEST | Hall A | Kernel | Second talk"), ":9: 'CEST' is not an IANA time zone"),
        (
            with_line(9, "10:45-10:00 | Hall A | Kernel | Second talk"),
            ":9: 'Second talk' ends (Sat 24 Oct 10:00) before",
        ),
        (with_line(9, "10:00-10:00 | Hall A | Kernel | Second talk"), ":9: 'Second talk' ends"),
        (with_line(9, "10:00-10:45 | Hal A | Kernel | Second talk"), ":9: unknown room 'Hal A'"),
        (with_line(9, "10:00-10:45 | Hall A | Kernal | Second talk"), ":9: unknown track 'Kernal'"),
        (with_line(9, "10:00-10:45 | Hall A | Kernel | Second talk | Bob <bob@example>"), "is not an email address"),
        (
            with_line(9, "10:00-10:45 | Hall A | Kernel | Opening"),
            ":9: 'Opening' has the same title as the session at line 8",
        ),
        (with_line(7, "day 2026-10-24 Sunday"), ":7: 2026-10-24 is a Saturday, not a Sunday"),
        (with_line(7, "day 2026-13-24"), ":7: '2026-13-24' is not a date"),
        (with_line(3, "timezone: Europe/Atlantis"), ":3: 'Europe/Atlantis' is not an IANA time zone"),
        (with_line(2, "konference: Test"), ":2: unknown header 'konference'"),
        (with_line(4, "rooms: no-such-rooms"), ":4: rooms file 'no-such-rooms': no such file (looked for /"),
        (inserted(7, "09:00-09:45 | Hall A | Kernel | Too early"), ":7: a session line before any 'day"),
        (inserted(13, "    speaker: Somebody"), ":13: 'speaker: Somebody': expected one of id, url, abstract"),
        (inserted(13, "    url: ftp://example.org/x"), ":13: 'ftp://example.org/x' is not an http(s) URL"),
        (inserted(13, "Just some words"), ":13: 'Just some words' is not a header"),
    ],
    ids=lambda v: v if isinstance(v, str) and v.startswith(":") else None,
)
def test_local_schedule_errors_are_located(conf, content, expected):
    err = import_bad(conf, "test.schedule", content)
    assert f"test.schedule{expected}" in err or expected in err, err
    if expected.startswith(":"):
        assert f"test.schedule{expected}" in err


def test_overlapping_sessions_name_both_lines(conf):
    err = import_bad(conf, "test.schedule", inserted(9, "09:30-10:15 | Hall A | Networking | Clash"))
    assert "test.schedule:9: 'Clash' (Sat 24 Oct 09:30-10:15) overlaps 'Opening' (Sat 24 Oct 09:00-09:45, " in err
    assert "test.schedule:8) in room 'Hall A'" in err
    # The next session in that room clashes with the new one too, and says so.
    assert "test.schedule:10: 'Second talk'" in err and "test.schedule:9) in room 'Hall A'" in err


def test_duplicate_ids_name_both_lines(conf):
    content = GOOD + "13:00-13:45 | Hall B | Networking | Another talk\n    id: parallel\n"
    err = import_bad(conf, "test.schedule", content)
    assert "test.schedule:13: duplicate session ID 'parallel': 'Another talk' and 'Parallel talk'" in err
    assert "(…/test.schedule:10)" in err.replace(str(conf[0]), "…")


def test_non_utf8_names_line_and_byte(conf):
    content = GOOD.encode().replace(b"Second talk", b"Second caf\xe9 talk")
    err = import_bad(conf, "test.schedule", content)
    column = len("10:00-10:45 | Hall A | Kernel | Second caf") + 1
    assert f"test.schedule:9: not valid UTF-8 (byte 0xe9 at column {column})" in err


def test_dst_gap_and_repeated_hour_are_refused_with_the_way_out(conf):
    content = GOOD + "day 2026-10-25 Sunday\n01:30-02:00 | Hall A | Kernel | Night owls\n"
    err = import_bad(conf, "test.schedule", content)
    assert "test.schedule:14: 2026-10-25 01:30 happens twice in Europe/Dublin" in err
    assert "e.g. +01:00 or +00:00" in err
    content = GOOD + "day 2026-03-29 Sunday\n01:30-02:00 | Hall A | Kernel | Night owls\n"
    err = import_bad(conf, "test.schedule", content)
    assert "test.schedule:14: 2026-03-29 01:30 does not exist in Europe/Dublin" in err


def test_all_errors_are_reported_in_one_run(conf):
    content = with_line(8, "09:00-09:45 | Hall Z | Kernel | Opening")
    content = content.replace("10:00-10:45 | Hall A | Kernel | Second talk", "10:00-10:45 | Hall A | Second talk")
    content = content.replace("11:00-11:30 | break | Coffee", "11:00-1130 | break | Coffee")
    content += "12:00-13:00 | Hall B | Networking | Long one\n12:30-13:00 | Hall B | Kernel | Squeezed in\n"
    err = import_bad(conf, "test.schedule", content)
    assert "test.schedule:8: unknown room 'Hall Z'" in err
    assert "test.schedule:9: a session line has 4 or 5 columns" in err
    assert "test.schedule:12: '11:00-1130' is not a time range" in err
    assert "test.schedule:14: 'Squeezed in'" in err and "overlaps 'Long one'" in err
    assert "4 error(s)" in err


def test_tracks_file_errors(conf):
    err = import_bad(conf, "tracks", "# tracks\nKernel:#112233\nNetworking:blue\nNo colour at all\nKernel:#000000\n")
    assert "tracks:3: track 'Networking': colour 'blue' is not of the form #rrggbb" in err
    assert "tracks:4: expected track:colour[:matrix_room[:extra]], found no ':'" in err
    assert "tracks:5: track 'Kernel' is already defined at line 2" in err


def test_rooms_file_errors(conf):
    err = import_bad(
        conf,
        "rooms",
        "Hall A::session\nHall B::ballroom\nLobby::public:lobby:extra\nPC::private::moderators=not-an-email\n"
        "Attic::hack::capacity=lots\n",
    )
    assert "rooms:2: room 'Hall B': type 'ballroom' is not one of session, hack, private, public" in err
    assert "rooms:3: room 'Lobby': too many fields" in err
    assert "rooms:4: 'not-an-email' is not an email address" in err
    assert "rooms:5: room 'Attic': capacity 'lots' is not a positive whole number" in err


def test_crlf_and_bom_are_accepted_transparently(conf):
    folder, path, before = conf
    path.write_bytes(b"\xef\xbb\xbf" + GOOD.replace("\n", "\r\n").encode())
    (folder / "rooms").write_bytes(b"\xef\xbb\xbf" + ROOMS.replace("\n", "\r\n").encode())
    (folder / "tracks").write_bytes(TRACKS.replace("\n", "\r\n").encode())
    code, out, err = run_import(str(path))
    assert code == 0, err
    assert ": no changes" in out
    assert snapshot() == before


# --- JSON and XML sources ------------------------------------------------------------------


def test_indico_bad_zone_names_the_json_path(conf):
    document = json.loads((DATA / "indico-modern-timetable.json").read_text())
    document["results"]["7"]["20261024"]["s101"]["entries"]["c201"]["startDate"]["tz"] = "Mars/Olympus"
    document["results"]["7"]["20261024"]["c401"]["endDate"]["time"] = "25:00:00"
    err = import_bad(conf, "timetable.json", json.dumps(document))
    assert (
        'timetable.json:results["7"]["20261024"].s101.entries.c201.startDate.tz: '
        "'Mars/Olympus' is not an IANA time zone" in err
    )
    assert 'timetable.json:results["7"]["20261024"].c401.endDate: 2026-10-24 25:00:00 is not a date and time' in err


def test_indico_json_syntax_error_names_the_line(conf):
    text = (DATA / "indico-modern-timetable.json").read_text()
    broken = text.replace('"title": "Rust for the block layer",', '"title": "Rust for the block layer"', 1)
    line = broken[: broken.index('"title": "Rust for the block layer"')].count("\n") + 2
    err = import_bad(conf, "timetable.json", broken)
    assert f"timetable.json:{line}: not valid JSON: Expecting ',' delimiter" in err


def test_frab_xml_errors_name_lines(conf):
    from tests.importing import SAMPLES

    xml = (SAMPLES / "frab-schedule-31c3.xml").read_text()
    bad = xml.replace("<duration>00:30</duration>", "<duration>half an hour</duration>", 1)
    line = bad[: bad.index("half an hour")].count("\n") + 1
    err = import_bad(conf, "schedule.xml", bad)
    assert f"schedule.xml:{line}: duration 'half an hour' is not of the form HH:MM" in err

    broken = xml.replace("</title>", "</titel>", 1)
    line = broken[: broken.index("</titel>")].count("\n") + 1
    err = import_bad(conf, "schedule.xml", broken)
    assert f"schedule.xml:{line}: not well-formed XML: mismatched tag" in err


def test_frab_json_duplicate_ids_and_overlaps_name_json_paths(conf):
    from tests.importing import SAMPLES

    document = json.loads((SAMPLES / "frab-schedule-camp2019.json").read_text())
    events = document["schedule"]["conference"]["days"][0]["rooms"]["Curie"]
    events[1]["guid"] = events[0]["guid"]
    events[3]["date"] = events[2]["date"]
    err = import_bad(conf, "schedule.json", json.dumps(document))
    assert "schedule.json:schedule.conference.days[0].rooms.Curie[1]: duplicate session ID" in err
    assert "(" + str(conf[0] / "schedule.json") + ":schedule.conference.days[0].rooms.Curie[0])" in err
    assert re.search(r"schedule\.json:schedule\.conference\.days\[0\]\.rooms\.Curie\[\d\]: .* overlaps ", err)


def test_missing_source_file(conf):
    folder, _path, before = conf
    code, _out, err = run_import(str(folder / "nope.json"))
    assert code == 1
    assert f"{folder / 'nope.json'}: no such file" in err
    assert snapshot() == before


BOMB = (
    b'<?xml version="1.0"?><!DOCTYPE s [<!ENTITY a "aaaaaaaaaa">'
    + b"".join(b'<!ENTITY a%d "%s">' % (i, (b"&a%d;" % (i - 1) if i > 1 else b"&a;") * 10) for i in range(1, 10))
    + b"]><schedule><version>&a9;</version></schedule>"
)


@pytest.mark.parametrize(
    ("name", "content", "expected"),
    [
        ("list.json", b"[1, 2, 3]", "neither an Indico timetable export"),
        ("odd.json", b'{"schedule": 5}', "neither an Indico timetable export"),
        ("results.json", b'{"results": {"7": {"20261024": {"x": 5}}}}', '["20261024"].x: expected a timetable entry'),
        ("persons.json", b'{"schedule": {"conference": {"days": [{"rooms": {"A": [{"persons": "me"}]}}]}}}', "persons"),
        ("bomb.xml", BOMB, "limit on input amplification factor"),
        ("empty.schedule", b"", "the header must name the conference"),
        ("binary.schedule", bytes(range(256)), "not valid UTF-8"),
    ],
)
def test_hostile_or_strange_input_is_an_error_not_a_crash(conf, name, content, expected):
    err = import_bad(conf, name, content)
    assert expected in err


# --- links: only http(s), in every format --------------------------------------------------


def _indico_with_link(link: str) -> str:
    document = json.loads((DATA / "indico-modern-timetable.json").read_text())
    document["results"]["7"]["20261024"]["s101"]["entries"]["c201"]["url"] = link
    return json.dumps(document)


def _frab_json_with_link(link: str) -> str:
    document = json.loads((DATA / "frab-schedule-camp2019.json").read_text())
    document["schedule"]["conference"]["days"][0]["rooms"]["Curie"][0]["url"] = link
    return json.dumps(document)


def _frab_xml_with_link(link: str) -> str:
    xml = (DATA / "pentabarf-fosdem-2026-excerpt.xml").read_text()
    return re.sub(r"<url>[^<]*</url>", f"<url>{escape(link)}</url>", xml, count=1)


@pytest.mark.parametrize("link", ["javascript:alert(10)", "data:text/html,<script>alert(1)</script>", "ftp://x.org/"])
@pytest.mark.parametrize(
    ("name", "build", "where"),
    [
        ("timetable.json", _indico_with_link, 'timetable.json:results["7"]["20261024"].s101.entries.c201.url: '),
        ("schedule.json", _frab_json_with_link, "schedule.json:schedule.conference.days[0].rooms.Curie[0].url: "),
        ("schedule.xml", _frab_xml_with_link, "schedule.xml:{line}: "),
        ("links.schedule", lambda link: GOOD + f"    url: {link}\n", "links.schedule:{line}: "),
    ],
)
def test_every_format_refuses_links_that_are_not_http(conf, name, build, where, link):
    content = build(link)
    escaped = escape(link) if name.endswith(".xml") else link
    line = content[: content.index(escaped)].count("\n") + 1
    folder = conf[0]
    for extra in ([], ["--base-url", "https://indico.example.org/"]):
        (folder / name).write_text(content)
        code, _out, err = run_import(str(folder / name), *extra)
        assert code == 1
        assert snapshot() == conf[2], "a refused link changed the database"
        assert f"{folder / name}:" + where.split(":", 1)[1].format(line=line) in err, err
        assert "is not an http(s) URL" in err
