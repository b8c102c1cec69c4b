"""Schedules published by real conferences, each class of file the importers once got wrong:
old pentabarf (events directly under <day>), frab without event dates, overlapping sessions,
HTML abstracts, and a schedule without a time zone. Every expectation is counted from the file
itself here (ElementTree, json), independently of the importer. Sources: tests/data/README.md."""

import html
import json
import re
from collections import defaultdict
from datetime import datetime, timedelta
from pathlib import Path
from xml.etree.ElementTree import SubElement
from zoneinfo import ZoneInfo

import pytest
from defusedxml import ElementTree as ET
from django.urls import reverse

from sessions.importers import ImportFailed, load_schedule
from sessions.importers.richtext import abstract_text
from sessions.models import Room, Talk
from tests import schedule_data
from tests.importing import run_import, snapshot

DATA = Path(__file__).parent / "data"
BRUSSELS = ZoneInfo("Europe/Brussels")
OLD_PENTABARF = ["pentabarf-fosdem-2007.xml", "pentabarf-fosdem-2010.xml"]


def pentabarf_events(path: Path) -> list[dict]:
    """Every <event> of a FOSDEM schedule, read with ElementTree: wall-clock times in Brussels."""
    out = []
    for day in ET.parse(path).getroot().iter("day"):
        for ev in day.iter("event"):
            start = datetime.fromisoformat(f"{day.get('date')}T{ev.findtext('start')}").replace(tzinfo=BRUSSELS)
            hours, minutes = ev.findtext("duration").split(":")[:2]
            out.append(
                {
                    "id": ev.get("id"),
                    "guid": ev.get("guid"),
                    "title": ev.findtext("title").strip(),
                    "start": start,
                    "end": start + timedelta(hours=int(hours), minutes=int(minutes)),
                    "room": ev.findtext("room").strip(),
                    "persons": [p.text.strip() for p in ev.iter("person") if p.text and p.text.strip()],
                    "abstract": (ev.findtext("abstract") or "").strip() or (ev.findtext("description") or "").strip(),
                }
            )
    return out


def overlaps(events: list[dict]) -> list[tuple[dict, dict]]:
    """(earlier, later) for each event that starts before an earlier one in its room has ended."""
    found = []
    by_room = defaultdict(list)
    for e in events:
        by_room[e["room"]].append(e)
    for room_events in by_room.values():
        room_events.sort(key=lambda e: (e["start"], e["end"]))
        running = None
        for e in room_events:
            if running and e["start"] < running["end"]:
                found.append((running, e))
            if running is None or e["end"] > running["end"]:
                running = e
    return found


# --- 10. old pentabarf: events directly under <day> -------------------------------------------


@pytest.mark.parametrize("name", OLD_PENTABARF)
def test_old_pentabarf_events_directly_under_day_are_all_read(name):
    path = DATA / name
    root = ET.parse(path).getroot()
    assert root.find("day/room") is None and root.findall("day/event"), "the class: no <room> wrapper"
    expected = pentabarf_events(path)

    schedule = load_schedule(str(path), timezone="Europe/Brussels", allow_overlaps=True)

    assert len(schedule.sessions) == len(expected) > 200
    got = {s.external_id: s for s in schedule.sessions}
    for e in expected:
        s = got[f"frab::{e['id']}"]
        assert (s.title, s.start, s.end, s.room, s.speaker_names) == (
            e["title"],
            e["start"],
            e["end"],
            e["room"],
            e["persons"],
        )
    assert {r.name for r in schedule.rooms} == {e["room"] for e in expected}


@pytest.mark.django_db
def test_fosdem_2007_lands_in_the_database_whole():
    path = DATA / "pentabarf-fosdem-2007.xml"
    expected = pentabarf_events(path)
    code, out, err = run_import(str(path), "--timezone", "Europe/Brussels")
    assert code == 0, err
    assert Talk.objects.count() == len(expected)
    assert set(Room.objects.values_list("name", flat=True)) == {e["room"] for e in expected}
    speakers = {name for names in Talk.objects.values_list("speaker_names", flat=True) for name in names}
    assert speakers == {p for e in expected for p in e["persons"]}
    first = min(expected, key=lambda e: (e["start"], e["id"]))
    assert Talk.objects.get(external_id=f"frab::{first['id']}").start == first["start"]


@pytest.mark.django_db
def test_a_schedule_whose_events_are_not_read_is_refused_never_a_success(tmp_path):
    xml = (DATA / "pentabarf-fosdem-2010.xml").read_text()
    # The same events one level deeper, in an element no exporter writes: nothing may be lost silently.
    hidden = re.sub(r'(<day index="1"[^>]*>)', r"\1<track>", xml, count=1).replace("</day>", "</track></day>", 1)
    first_event = hidden[: hidden.index("<event", hidden.index("<track>"))].count("\n") + 1
    in_day_one = len(ET.fromstring(hidden).findall("day/track/event"))
    (tmp_path / "hidden.xml").write_text(hidden)
    code, _out, err = run_import(str(tmp_path / "hidden.xml"), "--timezone", "Europe/Brussels")
    assert code == 1
    assert f"hidden.xml:{first_event}: {in_day_one} <event> element(s)" in err
    assert Talk.objects.count() == 0

    empty = re.sub(r"<event .*?</event>", "", xml, flags=re.S)
    assert ET.fromstring(empty).find(".//event") is None
    (tmp_path / "empty.xml").write_text(empty)
    code, _out, err = run_import(str(tmp_path / "empty.xml"), "--timezone", "Europe/Brussels")
    assert code == 1 and "no sessions were found" in err and "nothing was changed" in err


# --- 11. frab without dates on events ---------------------------------------------------------

# Congress schedules whose days run past midnight (Camp 2019 and rC3 have no session after it).
FRAB = [("frab-schedule-36c3.json", "Europe/Berlin"), ("frab-schedule-31c3.xml", "Europe/Berlin")]
# How a schedule without event dates says where its days begin: as published (the day's ISO
# start), the day's start as a bare time, only the day's end, only the conference's day change.
BOUNDARIES = ["day_start", "day_start_time", "day_end_only", "day_change_only"]


def _undated(name: str, boundary: str, folder: Path) -> tuple[Path, dict[str, datetime]]:
    """The real schedule with every event's date removed; returns it and the removed instants."""
    truth = {}
    if name.endswith(".json"):
        document = json.loads((DATA / name).read_text())
        conference = document["schedule"]["conference"]
        conference["day_change"] = conference["days"][0]["day_start"][11:16]
        for day in conference["days"]:
            if boundary == "day_start_time":
                day["day_start"] = day["day_start"][11:16]
            if boundary in ("day_end_only", "day_change_only"):
                del day["day_start"]
            if boundary == "day_change_only":
                del day["day_end"]
            for events in day["rooms"].values():
                for ev in events:
                    truth[ev["guid"]] = datetime.fromisoformat(ev.pop("date"))
        if boundary != "day_change_only":
            del conference["day_change"]
        path = folder / "schedule.json"
        path.write_text(json.dumps(document))
        return path, truth
    tree = ET.parse(DATA / name)
    root = tree.getroot()
    days = root.findall("day")
    if boundary == "day_change_only":
        SubElement(root.find("conference"), "day_change").text = days[0].get("start")[11:16]
    for day in days:
        if boundary == "day_start_time":
            day.set("start", day.get("start")[11:16])
        if boundary in ("day_end_only", "day_change_only"):
            del day.attrib["start"]
        if boundary == "day_change_only":
            del day.attrib["end"]
        for ev in day.iter("event"):
            date = ev.find("date")
            truth[ev.get("guid")] = datetime.fromisoformat(date.text)
            ev.remove(date)
    path = folder / "schedule.xml"
    tree.write(path, encoding="utf-8", xml_declaration=True)
    return path, truth


@pytest.mark.parametrize("boundary", BOUNDARIES)
@pytest.mark.parametrize(("name", "zone"), FRAB)
def test_undated_frab_events_after_midnight_are_on_the_next_morning(tmp_path, name, zone, boundary):
    path, truth = _undated(name, boundary, tmp_path)
    after_midnight = [t for t in truth.values() if t.astimezone(ZoneInfo(zone)).hour < 6]
    assert after_midnight, "the sample must have sessions after midnight for this to mean anything"

    schedule = load_schedule(str(path), timezone=zone)

    assert len(schedule.sessions) == len(truth)
    wrong = [(s.title, s.start, truth[s.external_id]) for s in schedule.sessions if s.start != truth[s.external_id]]
    assert wrong == []


# --- 12. overlaps in real schedules -------------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize(("name", "count"), [("pentabarf-fosdem-2024.xml", 2), ("pentabarf-fosdem-2010.xml", 1)])
def test_real_overlaps_are_refused_by_default_and_imported_as_listed_warnings_when_allowed(settings, name, count):
    path = DATA / name
    events = pentabarf_events(path)
    clashes = overlaps(events)
    assert len(clashes) == count

    code, _out, err = run_import(str(path), "--timezone", "Europe/Brussels")
    assert code == 1 and Talk.objects.count() == 0
    errors = [line for line in err.splitlines() if " overlaps " in line]
    assert len(errors) == count
    for (earlier, later), line in zip(clashes, errors, strict=True):
        assert repr(later["title"]) in line and repr(earlier["title"]) in line and "--allow-overlaps" in line

    with pytest.raises(ImportFailed):
        load_schedule(str(path), timezone="Europe/Brussels")
    warnings = load_schedule(str(path), timezone="Europe/Brussels", allow_overlaps=True).warnings
    assert len([w for w in warnings if " overlaps " in w.message]) == count

    code, _out, err = run_import(str(path), "--timezone", "Europe/Brussels", "--allow-overlaps")
    assert code == 0, err
    listed = [line for line in err.splitlines() if " overlaps " in line]
    assert len(listed) == count and all(": warning: " in line for line in listed)
    assert Talk.objects.count() == len(events)
    for earlier, later in clashes:
        a = Talk.objects.get(external_id=f"frab::{earlier['id']}")
        b = Talk.objects.get(external_id=f"frab::{later['id']}")
        assert a.room_id == b.room_id and b.start < a.end
        assert (a.start, b.start, b.end) == (earlier["start"], later["start"], later["end"])

    before = snapshot()
    settings.SCHEDULE_ALLOW_OVERLAPS = True
    code, out, err = run_import(str(path), "--timezone", "Europe/Brussels")
    assert code == 0 and ": no changes" in out and err.count(" overlaps ") == count
    code, _out, err = run_import(str(path), "--timezone", "Europe/Brussels", "--no-allow-overlaps")
    assert code == 1 and snapshot() == before


# --- 13. HTML abstracts ------------------------------------------------------------------------


def _words(fragment: str) -> list[str]:
    """The words of an HTML fragment, found without any HTML parser: drop script/style, tags, entities."""
    fragment = re.sub(r"<(script|style)\b.*?</\1>", " ", fragment, flags=re.S | re.I)
    return re.findall(r"\w+", html.unescape(re.sub(r"<[^>]*>", " ", fragment)))


@pytest.mark.parametrize("name", ["pentabarf-fosdem-2026-excerpt.xml", "pentabarf-fosdem-2010.xml"])
def test_html_abstracts_become_their_text_without_markup(name):
    path = DATA / name
    events = {e["id"]: e for e in pentabarf_events(path)}
    marked_up = {e["guid"] or f"frab::{i}": e for i, e in events.items() if re.search(r"<(p|a|li|br)\b", e["abstract"])}
    assert len(marked_up) > 0.5 * len(events)  # 2026: every abstract

    schedule = load_schedule(str(path), timezone="Europe/Brussels", allow_overlaps=True)

    assert len({s.external_id for s in schedule.sessions} & set(marked_up)) == len(marked_up)
    for s in schedule.sessions:
        source = marked_up.get(s.external_id)
        if source is None:
            continue
        assert not re.search(r"</?(p|a|li|ul|ol|br|strong|em|code|h\d)\b[^>]*>", s.abstract), s.title
        assert "&lt;" not in s.abstract and "&gt;" not in s.abstract and "&amp;" not in s.abstract
        text_words = re.findall(r"\w+", s.abstract)
        assert set(_words(source["abstract"])) <= set(text_words), s.title
        assert "\n\n" in s.abstract or source["abstract"].count("<p") <= 1


def test_plain_text_abstracts_that_mention_angle_brackets_stay_as_written():
    for text in ("#include <stdio.h> and a < b && c > d", "Use std::vector<int> &x", "5 < 6\n\n7 > 3"):
        assert abstract_text(text) == text


@pytest.mark.django_db
def test_session_page_and_api_show_the_abstract_as_text_never_markup(tmp_path):
    xml = (DATA / "pentabarf-fosdem-2026-excerpt.xml").read_text()
    first = re.search(r"<abstract>(.*?)</abstract>", xml, re.S)
    hostile = html.escape(
        '<p>Zanzibar welcome <img src=x onerror="alert(2)">to <a href="javascript:alert(3)">FOSDEM</a></p>'
        "<script>alert(1)</script><ul><li>Janson</li><li>K building</li></ul>"
    )
    (tmp_path / "fosdem.xml").write_text(xml[: first.start(1)] + hostile + xml[first.end(1) :])
    code, _out, err = run_import(str(tmp_path / "fosdem.xml"))
    assert code == 0, err

    talk = Talk.objects.get(abstract__startswith="Zanzibar")
    assert talk.abstract == "Zanzibar welcome to FOSDEM\n\n• Janson\n• K building"
    client, _ = schedule_data.client_for("attendee")
    page = client.get(reverse("talk", args=[talk.pk])).content.decode()
    section = page[page.index('class="abstract"') : page.index("</section>", page.index('class="abstract"'))]
    assert "Zanzibar welcome to FOSDEM<br><br>• Janson<br>• K building" in section
    assert "alert" not in page and "&lt;p&gt;" not in page and "&lt;li&gt;" not in page

    other = Talk.objects.exclude(pk=talk.pk).filter(abstract__contains="\n\n").first()
    page = client.get(reverse("talk", args=[other.pk])).content.decode()
    assert "&lt;p&gt;" not in page and "&lt;a href" not in page
    api = client.get(reverse("api_schedule")).json()
    abstracts = [s["abstract"] for s in api["sessions"]] if isinstance(api, dict) else []
    assert abstracts and not any(re.search(r"</?(p|a|li|script)\b", a) for a in abstracts)


# --- 14. the fix first, repeats counted ---------------------------------------------------------


@pytest.mark.django_db
def test_a_schedule_without_a_zone_says_what_to_do_in_one_line_not_one_per_event():
    path = DATA / "pentabarf-fosdem-2024.xml"
    n = len(ET.parse(path).getroot().findall(".//event"))
    code, _out, err = run_import(str(path))
    lines = err.splitlines()
    assert code == 1
    assert "give --timezone" in lines[0] and f"{n} of its {n} events" in lines[0]
    assert len(lines) <= 3, lines


@pytest.mark.django_db
def test_repeated_errors_are_counted_after_the_first_five(tmp_path):
    document = json.loads((DATA / "frab-schedule-camp2019.json").read_text())
    events = [ev for day in document["schedule"]["conference"]["days"] for evs in day["rooms"].values() for ev in evs]
    for ev in events:
        ev["duration"] = "forever"
    document["schedule"]["conference"]["time_zone_name"] = "Mars/Olympus"
    path = tmp_path / "schedule.json"
    path.write_text(json.dumps(document))
    code, _out, err = run_import(str(path))
    assert code == 1 and "'Mars/Olympus' is not an IANA time zone" in err.splitlines()[0]

    document["schedule"]["conference"]["time_zone_name"] = "Europe/Berlin"
    path.write_text(json.dumps(document))
    code, _out, err = run_import(str(path))
    lines = err.splitlines()
    assert code == 1
    assert len([line for line in lines if "duration 'forever'" in line]) == 5
    assert f"… and {len(events) - 5} more like this" in err
    assert lines[-2].startswith(f"{len(events)} error(s)")  # the last is the command's own

    code, _out, err = run_import(str(path), verbosity=2)
    assert len([line for line in err.splitlines() if "duration 'forever'" in line]) == len(events)
