"""The visual tour: the pages an attendee and an organiser see, photographed in Chromium at 1280
and 390 px wide on the sample conference as the demo shows it (sessions running now).

`bin/tour` runs this test with LPCFE_TOUR_DIR=docs/tour to refresh the pictures in docs/tour.md;
otherwise they go to a temporary folder and are only checked.
"""

import os
import struct
from pathlib import Path

import pytest
from django.conf import settings
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from chat_embed.handoff import account_for_person
from chat_embed.models import MatrixMembership, MatrixRoom
from sessions import agenda
from sessions.models import Room, Talk
from tests import factories
from tests.chatkit import Homeserver
from tests.importing import BUNDLED, run_import

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

WIDTHS = {1280: 800, 390: 844}
PAGES = ("now", "grid", "session", "room", "status")


def _png_size(path: Path) -> tuple[int, int]:
    header = path.read_bytes()[:24]
    assert header[:8] == b"\x89PNG\r\n\x1a\n", path
    return struct.unpack(">II", header[16:24])


def _logged_in_page(new_page, live_server, user, width: int):
    page = new_page(timezone_id="Europe/Dublin", viewport={"width": width, "height": WIDTHS[width]})
    client = Client()
    client.force_login(user)
    cookie = client.cookies[settings.SESSION_COOKIE_NAME].value
    page.context.add_cookies([{"name": settings.SESSION_COOKIE_NAME, "value": cookie, "url": live_server.url}])
    return page


def test_visual_tour(matrix_settings, bbb_double, new_page, live_server, tmp_path):
    out = Path(os.environ.get("LPCFE_TOUR_DIR") or tmp_path)
    out.mkdir(parents=True, exist_ok=True)
    # 10:20: the morning sessions have 20 minutes or more to run while the pictures are taken.
    code, _, err = run_import("--shift-to-now", "--now-is", "10:20", str(BUNDLED))
    assert code == 0, err
    now = timezone.now()
    running = Talk.objects.filter(start__lte=now, end__gt=now, room__slug="main-hall").select_related("room").get()

    # The main hall's chat, with a conversation going on.
    hs = Homeserver(matrix_settings.url, matrix_settings.admin_token, matrix_settings.server_name)
    room_id, alias = hs.room("Main hall")
    matrix_room = MatrixRoom.objects.create(
        key="room:main-hall",
        alias_localpart=alias[1:].split(":")[0],
        room_id=room_id,
        name="Main hall",
        public=False,
        schedule_room=Room.objects.get(slug="main-hall"),
    )
    ada = factories.person("ada@example.org", first_name="Ada", last_name="Lovelace")
    account = account_for_person("ada@example.org", "Ada Lovelace")
    hs.put_user(account.user_id, account.display_name)
    account.on_server = True
    account.save(update_fields=["on_server"])
    hs.join(account.user_id, room_id)
    MatrixMembership.objects.create(account=account, room=matrix_room)
    people = {name: hs.user(displayname=name) for name in ("Grace Hopper", "Linus Plumber")}
    for user in people.values():
        hs.join(user, room_id)
    for name, text in [
        ("Grace Hopper", "The slides are at https://example.org/slides (page 12 has the numbers)."),
        ("Linus Plumber", "Does the io_uring change need a new kernel config option?"),
        ("Grace Hopper", "No, it is on by default since 6.1."),
    ]:
        hs.send(hs.token(people[name]), room_id, text)
    orla = factories.person("organiser@example.org", "organiser", first_name="Orla", last_name="Organiser")
    day = agenda.conference_day_of(now, agenda.conference_zone())

    for width in WIDTHS:
        page = _logged_in_page(new_page, live_server, ada, width)
        page.goto(live_server.url + reverse("now"))
        assert (
            page.locator(".room-card", has_text="Main hall").get_by_role("button", name="Join Main hall").is_enabled()
        )
        page.screenshot(path=out / f"now-{width}.png")
        page.goto(live_server.url + reverse("schedule_day", args=[day.isoformat()]))
        page.locator(".now-line").scroll_into_view_if_needed()
        page.screenshot(path=out / f"grid-{width}.png")
        page.goto(live_server.url + reverse("talk", args=[running.pk]))
        page.screenshot(path=out / f"session-{width}.png")
        page.get_by_role("button", name="Join Main hall").click()
        page.wait_for_url(f"{live_server.url}/rooms/main-hall/")
        page.frame_locator("iframe.bbb-frame").get_by_test_id("you").wait_for()
        chat = page.frame_locator("iframe.chat-frame")
        if width < 768:  # phones show the meeting and the chat as tabs
            page.get_by_role("tab", name="Chat").click()
        chat.locator("#chat-messages li.msg", has_text="on by default").wait_for(timeout=20_000)
        page.screenshot(path=out / f"room-{width}.png")

        page = _logged_in_page(new_page, live_server, orla, width)
        page.goto(live_server.url + reverse("status"))
        assert page.get_by_role("heading", name="Status", exact=True).is_visible()
        page.screenshot(path=out / f"status-{width}.png")

    for name in PAGES:
        for width, height in WIDTHS.items():
            assert _png_size(out / f"{name}-{width}.png") == (width, height)
