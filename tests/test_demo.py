"""The demo is live whenever it starts: the sample conference placed so that sessions run now,
the open rooms named, a preview address that shows something, and sample data that agrees."""

import csv
import re
from datetime import UTC, datetime
from unittest import mock
from urllib.parse import urlsplit

import pytest

from sessions.models import Talk
from tests import schedule_data
from tests.importing import BUNDLED, run_import

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    "started",
    [
        datetime(2026, 12, 1, 7, 5, tzinfo=UTC),  # a morning: the demo used to wait 79 minutes
        datetime(2026, 12, 1, 23, 52, tzinfo=UTC),  # late at night
        datetime(2027, 3, 28, 0, 30, tzinfo=UTC),  # the night Dublin moves to summer time
    ],
)
def test_shift_to_now_puts_running_and_upcoming_sessions_at_the_start(settings, started):
    settings.SCHEDULE_JOIN_OPEN_MINUTES = 10
    with mock.patch("django.utils.timezone.now", return_value=started):
        code, out, err = run_import("--shift-to-now", str(BUNDLED))
    assert code == 0, err
    running = Talk.objects.filter(start__lte=started, end__gt=started, is_break=False)
    assert running.count() >= 3
    assert Talk.objects.filter(start__gt=started, start__lte=started + (running[0].end - started)).exists()
    assert "now is 10:40 of its first day as the source has it" in out
    open_now = re.findall(r"^  open now +([^:\n]+)", out, re.M)
    assert {"Main hall", "Kernel room", "Hack room"} <= set(open_now), out
    # The speaker's own session starts in five minutes (their window is open).
    rust = Talk.objects.get(title="Rust: where the kernel goes next")
    assert (rust.start - started).total_seconds() == 5 * 60 - started.minute % 5 * 60

    preview = re.search(r"Organisers can preview later today: (\S+)", out).group(1)
    parts = urlsplit(preview)
    with mock.patch("django.utils.timezone.now", return_value=started):
        organiser, _ = schedule_data.client_for("organiser")
        html = organiser.get(parts.path + "?" + parts.query).content.decode()
    assert "Preview" in html and "Nothing is on right now" not in html
    assert html.count('class="room-card"') >= 3


def test_the_demo_speaker_has_one_name_in_the_logins_and_the_schedule():
    with open(BUNDLED.parent / "demo-attendees.tsv", encoding="utf-8") as f:
        speaker = next(row for row in csv.DictReader(f, delimiter="\t") if row["role"] == "speaker")
    name = f"{speaker['first name']} {speaker['last name']}"
    run_import(str(BUNDLED))
    theirs = [t for t in Talk.objects.all() if speaker["email"] in t.speaker_emails]
    assert theirs and all(name in t.speaker_names for t in theirs)
