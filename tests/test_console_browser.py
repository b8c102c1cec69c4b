"""The organisers' console in headless Chromium against the real test Synapse: an organiser edits
the tracks file (a mistake, then the fix), moves a session, an attendee sees the notice in the
room's chat and on the now page, the organiser rolls back; and two organisers edit at once.

With LPCFE_DOC_SCREENSHOTS=docs/img the screenshots in docs/organisers.md are made here.
"""

import os
import re
import uuid
from pathlib import Path

import pytest
from django.conf import settings
from django.test import Client
from django.urls import reverse

from chat_embed.matrix import MatrixClient
from chat_embed.models import MatrixRoom
from chat_embed.provisioning import Person, Provisioner, notice_bot_id
from console.models import NoticePost, SourceVersion
from sessions.models import Talk, Track
from sessions.timezones import COOKIE_NAME
from tests import factories
from tests.chatkit import wait_ready
from tests.consolekit import Sources

pytestmark = [pytest.mark.browser, pytest.mark.matrix, pytest.mark.django_db(transaction=True)]

MISTAKE = ("Toolchains:#fde2e4:toolchains", "Toolchains #fde2e4 toolchains")  # line 3
MOVE = ("13:00-13:45 | Main hall", "16:00-16:45 | Main hall")
NOTICE = "#chat-messages li.notice .body"


@pytest.fixture
def shots(tmp_path) -> Path:
    folder = Path(os.environ.get("LPCFE_DOC_SCREENSHOTS") or tmp_path / "shots")
    folder.mkdir(parents=True, exist_ok=True)
    return folder


@pytest.fixture
def world(tmp_path, settings, matrix_settings) -> Sources:
    settings.MATRIX_ROOM_ALIAS_PREFIX = f"c{uuid.uuid4().hex[:6]}-"
    sources = Sources(tmp_path)
    settings.SCHEDULE_SOURCE = str(sources.schedule)
    sources.import_()
    return sources


def open_as(new_page, live_server, user, **context):
    page = new_page(**context)
    client = Client()
    client.force_login(user)
    cookie = client.cookies[settings.SESSION_COOKIE_NAME].value
    page.context.add_cookies([{"name": settings.SESSION_COOKIE_NAME, "value": cookie, "url": live_server.url}])
    return page


def edit(page, live_server, role: str, text: str) -> None:
    page.goto(live_server.url + reverse("console:sources"))
    page.locator(f'tr[data-role="{role}"]').get_by_role("link", name="Edit").click()
    page.get_by_label("Text", exact=True).fill(text)


def test_organiser_edits_previews_applies_and_rolls_back_and_the_attendee_is_told(
    world, matrix_settings, new_page, live_server, shots
):
    organiser = factories.person("org@example.org", role="organiser", first_name="Orla")
    attendee = factories.person("ada@example.org", first_name="Ada")
    client = MatrixClient(matrix_settings.url, matrix_settings.admin_token)
    report = Provisioner(client, matrix_settings.server_name, lift_own_rate_limit=False).run(
        [Person("ada@example.org", "Ada", "attendee"), Person("org@example.org", "Orla", "organiser")]
    )
    assert not report.failures, report.failures
    # The notice account is in every chat with the power to post (moderator level).
    track_chat = MatrixRoom.objects.get(track__slug="kernel-summit")
    levels = client.get_state(track_chat.room_id, "m.room.power_levels")
    assert levels["users"][notice_bot_id(matrix_settings.server_name)] >= levels["events_default"]
    assert client.membership(track_chat.room_id, notice_bot_id(matrix_settings.server_name)) == "join"

    page = open_as(new_page, live_server, organiser, viewport={"width": 1100, "height": 900})
    page.context.add_cookies([{"name": COOKIE_NAME, "value": "America/New_York", "url": live_server.url}])
    page.goto(live_server.url + reverse("console:sources"))
    assert page.locator('[data-testid="sources"] tbody tr[data-role]').count() == 3
    page.screenshot(path=str(shots / "console-sources.png"), full_page=True)

    # A mistake in the tracks file: shown at its line as it is typed; nothing is stored.
    tracks = world.text("tracks")
    edit(page, live_server, "tracks", tracks.replace(*MISTAKE))
    problem = page.locator("#problems li[data-line='3']")
    problem.wait_for()
    assert "found no ':'" in problem.inner_text()
    assert problem.inner_text().startswith("Line 3")
    assert page.locator("#gutter span.bad").all_inner_texts() == ["3"]
    page.screenshot(path=str(shots / "console-editor-error.png"))
    page.get_by_role("button", name="Preview changes").click()
    assert page.locator("#problems li[data-line='3']").count() == 1  # the server refuses it too
    assert world.text("tracks") == tracks
    assert Track.objects.get(slug="toolchains").colour == "#fde2e4"
    assert SourceVersion.objects.count() == 1

    # Fixed (and a new colour): checks, previews, applies.
    page.get_by_label("Text", exact=True).fill(tracks.replace("#fde2e4", "#aabbcc"))
    page.get_by_role("button", name="Check").click()
    page.locator("#check-state.ok").wait_for()
    page.get_by_role("button", name="Preview changes").click()
    assert "Tracks changed: Toolchains" in page.locator("main").inner_text()
    page.get_by_role("button", name="Apply").click()
    page.locator('[data-testid="summary"]').wait_for()
    assert Track.objects.get(slug="toolchains").colour == "#aabbcc"
    assert "Toolchains:#aabbcc:toolchains" in world.text("tracks")

    # The attendee has the room's chat open.
    chat = open_as(new_page, live_server, attendee, viewport={"width": 480, "height": 800})
    chat.goto(live_server.url + reverse("chat:room", args=["main-hall"]))
    wait_ready(chat)

    # Move a session: the preview gives old and new times in both zones.
    talk = Talk.objects.get(external_id="sched-latency")
    start = talk.start
    edit(page, live_server, "schedule", world.text("schedule").replace(*MOVE))
    page.get_by_role("button", name="Preview changes").click()
    moved = page.locator("li.change-moved")
    assert moved.count() == 1
    text = moved.inner_text()
    assert "Scheduler latency" in text and "13:00–13:45" in text and "16:00–16:45" in text
    assert "your time:" in text and "(America/New_York, UTC-5)" in text
    assert page.locator("li.change-renamed").count() == 0
    page.screenshot(path=str(shots / "console-preview.png"), full_page=True)
    page.get_by_role("button", name="Apply").click()
    page.locator('[data-testid="summary"]').wait_for()
    assert Talk.objects.get(pk=talk.pk).start != start
    page.screenshot(path=str(shots / "console-applied.png"), full_page=True)

    # The attendee is told in the chat, as a notice from the conference, and on the now page.
    chat.locator(NOTICE, has_text="Scheduler latency").wait_for()
    [notice] = chat.locator(NOTICE).all_inner_texts()
    assert "Conference notice" in notice and "13:00–13:45" in notice and "16:00–16:45" in notice
    assert NoticePost.objects.filter(posted_at__isnull=True).count() == 0
    chat.screenshot(path=str(shots / "console-chat-notice.png"))
    now = open_as(new_page, live_server, attendee)
    now.goto(live_server.url + reverse("now"))
    banner = now.locator('[data-testid="conference-notices"]')
    assert "Scheduler latency" in banner.inner_text()
    now.screenshot(path=str(shots / "console-now-banner.png"))

    # Roll back to the version before the move.
    page.goto(live_server.url + reverse("console:history"))
    page.screenshot(path=str(shots / "console-history.png"), full_page=True)
    before_move = SourceVersion.objects.order_by("-pk")[1]
    page.get_by_role("link", name=f"#{before_move.pk}", exact=True).click()
    page.get_by_role("link", name="Preview re-applying this version").click()
    back = page.locator("li.change-moved")
    assert "16:00–16:45" in back.locator(".from").inner_text()
    assert "13:00–13:45" in back.locator(".to").inner_text()
    page.get_by_role("button", name="Apply").click()
    page.locator('[data-testid="summary"]').wait_for()
    assert Talk.objects.get(pk=talk.pk).start == start
    assert SourceVersion.objects.first().restored_from == before_move

    # A second notice, in the chat and on the now page.
    chat.locator(NOTICE).nth(1).wait_for()
    notices = chat.locator(NOTICE).all_inner_texts()
    assert len(notices) == 2 and re.search(r"16:00–16:45.*13:00–13:45", notices[1])
    now.reload()
    assert now.locator('[data-testid="conference-notices"] li').count() == 2

    # An announcement to the room: in its chat and on the now page, as text.
    page.goto(live_server.url + reverse("console:sources"))
    page.get_by_label("To", exact=True).select_option(label="Main hall")
    hostile = 'Coffee <b id="pwn">now</b><img src=x onerror="window.__pwn=1"> in the hall'
    page.get_by_label("Message", exact=True).fill(hostile)
    page.get_by_role("button", name="Post announcement").click()
    assert "Announcement posted in" in page.locator(".messages").inner_text()
    announced = chat.locator(NOTICE, has_text="Coffee")
    announced.wait_for()
    assert '<b id="pwn">now</b>' in announced.inner_text()
    assert chat.locator("#pwn").count() == 0 and chat.evaluate("window.__pwn") is None
    now.reload()
    assert '<b id="pwn">now</b>' in now.locator('[data-testid="conference-notices"]').inner_text()
    assert now.locator("#pwn").count() == 0


def test_two_organisers_edit_the_same_source_and_the_second_is_refused(world, new_page, live_server, shots):
    alice = open_as(new_page, live_server, factories.person("alice@example.org", role="organiser"))
    bob = open_as(new_page, live_server, factories.person("bob@example.org", role="organiser"))
    schedule = world.text("schedule")
    edit(alice, live_server, "schedule", schedule.replace(*MOVE))
    edit(bob, live_server, "schedule", schedule.replace("Memory tiering", "Memory tiering in practice"))
    for page in (alice, bob):
        page.get_by_role("button", name="Preview changes").click()
    alice.get_by_role("button", name="Apply").click()
    alice.locator('[data-testid="summary"]').wait_for()
    bob.get_by_role("button", name="Apply").click()
    conflict = bob.locator('[data-testid="conflict"]')
    assert "alice@example.org applied a change" in conflict.inner_text()
    theirs = bob.locator('[data-testid="their-change"]').inner_text()
    assert "-13:00-13:45 | Main hall" in theirs and "+16:00-16:45 | Main hall" in theirs
    assert "Memory tiering in practice" in bob.locator("textarea[readonly]").input_value()
    bob.screenshot(path=str(shots / "console-conflict.png"), full_page=True)
    assert not Talk.objects.filter(title="Memory tiering in practice").exists()
    assert "Memory tiering in practice" not in world.text("schedule")
    assert SourceVersion.objects.count() == 2


def test_organiser_allows_overlapping_sessions_with_the_keyboard(tmp_path, settings, new_page, live_server):
    """Two sessions at once in one room: an error as typed; ticking the box (Space) checks again and
    turns it into a warning, and the preview lists it."""
    sources = Sources(tmp_path)
    settings.SCHEDULE_SOURCE = str(sources.schedule)
    settings.SCHEDULE_ALLOW_OVERLAPS = False
    sources.import_()
    page = open_as(new_page, live_server, factories.person("org@example.org", role="organiser"))
    clash = sources.text("schedule").replace("14:00-14:45 | Kernel room", "12:30-13:15 | Kernel room")
    edit(page, live_server, "schedule", clash)
    page.locator("#problems li.error", has_text="overlaps 'Morning hacking'").wait_for()
    assert page.locator("#gutter span.bad").count() == 1
    box = page.get_by_label("Allow overlapping sessions")
    box.focus()
    page.keyboard.press("Space")
    assert box.is_checked()
    page.locator("#check-state.ok").wait_for()
    assert "overlaps 'Morning hacking'" in page.locator("#problems li.warning").inner_text()
    assert page.locator("#gutter span.bad").count() == 0
    page.get_by_role("button", name="Preview changes").click()
    assert "Overlapping sessions are allowed" in page.locator('[data-testid="allow-overlaps"]').inner_text()
    assert "overlaps 'Morning hacking'" in page.locator("#problems li.warning").inner_text()
    assert SourceVersion.objects.count() == 1 and sources.text("schedule") != clash
