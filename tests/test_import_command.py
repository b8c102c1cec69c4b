"""`manage.py import_schedule` as organisers run it: exit codes and the FILE:LINE: MESSAGE error
format, --shift-to-today across DST changes, and URL sources (timeouts, API tokens, periodic
re-fetching) against a real HTTP server on loopback."""

import json
import os
import re
import subprocess
import sys
import threading
import time
from datetime import UTC, date, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from django.utils import timezone

from sessions.importers import load_schedule, shift_to_today
from sessions.models import Conference, Talk
from tests.importing import BUNDLED, REPO, run_import, snapshot

DATA = Path(__file__).parent / "data"
DUBLIN = ZoneInfo("Europe/Dublin")


def test_command_exit_code_and_error_format(tmp_path):
    """A real process: errors go to stderr as FILE:LINE: MESSAGE and the exit code is 1."""
    (tmp_path / "rooms").write_text("Hall A::session\n")
    bad = tmp_path / "bad.schedule"
    bad.write_text(
        "conference: X\ntimezone: Europe/Dublin\nrooms: rooms\n\nday 2026-10-24\n"
        "09:00-09:45 | Hall A | - | One\n09:30 | Hall A | - | Two\n10:00-09:00 | Hall A | - | Three\n"
        "11:00-12:00 | Hall Q | - | Four\n"
    )
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "tests.settings", "LPCFE_DATA_DIR": str(tmp_path / "data")}
    result = subprocess.run(
        [sys.executable, "manage.py", "import_schedule", str(bad)],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 1
    assert result.stdout == ""
    lines = result.stderr.splitlines()
    problems = [line for line in lines if line.startswith(str(bad))]
    assert [re.match(r"^.+?:(\d+): ", line).group(1) for line in problems] == ["7", "8", "9"]
    assert "Traceback" not in result.stderr
    assert lines[-2] == "3 error(s) in the schedule source; nothing was changed."
    assert lines[-1] == "CommandError: Nothing was changed; the schedule stays as it was."


@pytest.mark.django_db
def test_options_that_make_no_sense_are_refused():
    assert run_import(str(BUNDLED), max_runs=2)[0] == 1
    code, _out, err = run_import(str(BUNDLED), timezone="Moon/Base")
    assert code == 1 and "--timezone: 'Moon/Base' is not an IANA time zone" in err
    code, _out, err = run_import(str(BUNDLED), format="frab-xml")
    assert code == 1 and "not well-formed XML" in err


# --- --shift-to-today ------------------------------------------------------------------------


def wall_clock(talks) -> list[tuple]:
    """Each session's day number, local time and room, in the conference zone."""
    first = min(t.start.astimezone(DUBLIN).date() for t in talks)
    return sorted(
        (
            (t.start.astimezone(DUBLIN).date() - first).days,
            t.start.astimezone(DUBLIN).time(),
            t.end.astimezone(DUBLIN).time(),
            t.external_id,
        )
        for t in talks
    )


@pytest.mark.django_db
def test_shift_to_today_makes_the_first_day_today_and_keeps_wall_clock_times():
    schedule = load_schedule(str(BUNDLED))
    original = wall_clock(schedule.sessions)
    code, out, err = run_import(str(BUNDLED), shift_to_today=True)
    assert code == 0, err
    today = timezone.localdate(timezone=DUBLIN)
    conference = Conference.current()
    assert conference.start_date == today and conference.end_date == today + timedelta(days=3)
    talks = list(Talk.objects.all())
    assert min(t.start.astimezone(DUBLIN).date() for t in talks) == today
    assert wall_clock(talks) == original
    # Idempotent on the same day.
    code, out, _err = run_import(str(BUNDLED), shift_to_today=True)
    assert out.rstrip().endswith(": no changes")


def test_shift_across_the_spring_dst_change_keeps_local_times():
    """Shifted so the clocks go forward mid-conference (28 March 2027 in Dublin): 08:30 stays 08:30."""
    schedule = load_schedule(str(BUNDLED))
    original = wall_clock(schedule.sessions)
    assert shift_to_today(schedule, date(2027, 3, 26)) == 154
    assert wall_clock(schedule.sessions) == original
    assert (schedule.conference.start_date, schedule.conference.end_date) == (date(2027, 3, 26), date(2027, 3, 29))
    sync = {s.external_id: s.start for s in schedule.sessions if s.external_id.startswith("pc-sync-")}
    # The IDs keep their original dates; the instants move: GMT (UTC+0) then IST (UTC+1).
    assert sync["pc-sync-2026-10-23"] == datetime(2027, 3, 26, 8, 30, tzinfo=UTC)
    assert sync["pc-sync-2026-10-24"] == datetime(2027, 3, 27, 8, 30, tzinfo=UTC)
    assert sync["pc-sync-2026-10-25"] == datetime(2027, 3, 28, 7, 30, tzinfo=UTC)
    assert sync["pc-sync-2026-10-26"] == datetime(2027, 3, 29, 7, 30, tzinfo=UTC)


# --- URL sources over real HTTP --------------------------------------------------------------


class Server:
    """A loopback HTTP server answering each GET with the next scripted response."""

    def __init__(self) -> None:
        self.responses: list[tuple[int, bytes, dict]] = []
        self.requests: list[dict] = []
        self.delay = 0.0
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                server.requests.append({"path": self.path, **{k.lower(): v for k, v in self.headers.items()}})
                if server.delay:
                    time.sleep(server.delay)
                status, body, headers = server.responses.pop(0) if server.responses else (404, b"", {})
                if status == 200 and headers.get("ETag") and self.headers.get("If-None-Match") == headers["ETag"]:
                    status, body = 304, b""
                self.send_response(status)
                for key, value in headers.items():
                    self.send_header(key, value)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def server():
    s = Server()
    yield s
    s.close()


def frab(title: str) -> bytes:
    return json.dumps(
        {
            "schedule": {
                "conference": {
                    "title": "Periodic",
                    "acronym": "p",
                    "time_zone_name": "Europe/Berlin",
                    "days": [
                        {
                            "date": "2026-06-01",
                            "rooms": {
                                "Saal 1": [
                                    {
                                        "guid": "g1",
                                        "id": 1,
                                        "date": "2026-06-01T10:00:00+02:00",
                                        "start": "10:00",
                                        "duration": "00:30",
                                        "room": "Saal 1",
                                        "title": title,
                                        "track": "Talks",
                                        "type": "lecture",
                                        "persons": [],
                                    }
                                ]
                            },
                        }
                    ],
                }
            }
        }
    ).encode()


@pytest.mark.django_db
def test_indico_url_source_absolute_links_and_token_in_a_header(server, settings):
    settings.SCHEDULE_SOURCE_TOKEN = "indico-token-123"
    server.responses.append((200, (DATA / "indico-modern-timetable.json").read_bytes(), {}))
    code, out, err = run_import(f"{server.url}/export/timetable/7.json?ak=SECRET-KEY&pretty=yes")
    assert code == 0, err
    assert server.requests[0]["authorization"] == "Bearer indico-token-123"
    talk = Talk.objects.get(external_id="indico:7:c201")
    assert talk.url == f"{server.url}/event/7/contributions/201/"
    assert f"{server.url}/export/timetable/7.json (indico" in out
    assert "SECRET-KEY" not in out + err and "indico-token-123" not in out + err
    assert "SECRET-KEY" not in Conference.current().source


@pytest.mark.django_db
def test_url_errors_keep_the_schedule(server, settings):
    settings.SCHEDULE_FETCH_TIMEOUT = 1
    server.responses.append((200, frab("First"), {}))
    assert run_import(f"{server.url}/schedule.json")[0] == 0
    before = snapshot()

    server.responses.append((500, b"oops", {}))
    code, _out, err = run_import(f"{server.url}/schedule.json?token=abc")
    assert code == 1
    assert f"{server.url}/schedule.json: the server answered HTTP 500" in err
    assert "token=abc" not in err

    server.delay = 1.5
    server.responses.append((200, frab("Late"), {}))
    code, _out, err = run_import(f"{server.url}/schedule.json")
    assert code == 1
    assert "no answer within 1 seconds (SCHEDULE_FETCH_TIMEOUT)" in err
    assert snapshot() == before


@pytest.mark.django_db
def test_periodic_mode_follows_the_source_and_survives_bad_versions(server, settings, monkeypatch):
    settings.SCHEDULE_SOURCE = f"{server.url}/schedule.json"
    sleeps = []
    monkeypatch.setattr("console.management.commands.import_schedule.time.sleep", sleeps.append)
    server.responses += [
        (200, frab("Version one"), {"ETag": '"v1"'}),
        (200, frab("Version one"), {"ETag": '"v1"'}),  # answered 304: the client sent If-None-Match
        (200, b'{"schedule": {"conference": ', {}),
        (503, b"", {}),
        (200, frab("Version two"), {"ETag": '"v2"'}),
    ]
    code, out, err = run_import(periodic=30, max_runs=5)
    assert code == 0, err
    assert sleeps == [30, 30, 30, 30]
    assert server.requests[1]["if-none-match"] == '"v1"'
    assert out.count(": no changes") == 1
    assert "schedule.json:1: not valid JSON" in err
    assert "the server answered HTTP 503" in err
    assert "1 retitled" in out
    assert Talk.objects.get(external_id="g1").title == "Version two"


@pytest.mark.django_db
def test_periodic_mode_exits_non_zero_when_the_last_run_failed(server, monkeypatch):
    monkeypatch.setattr("console.management.commands.import_schedule.time.sleep", lambda s: None)
    server.responses += [(200, frab("Good"), {}), (200, b"<schedule><day>", {})]
    code, _out, err = run_import(f"{server.url}/s.xml", periodic=5, max_runs=2)
    assert code == 1
    assert "s.xml:1: not well-formed XML" in err
    assert Talk.objects.get(external_id="g1").title == "Good"
