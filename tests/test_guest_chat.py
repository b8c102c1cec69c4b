"""Guests in a public room's chat: one clear line about what they can do, and the chat's times on
the pages' hour cycle whatever the browser's locale."""

import re

import pytest

from tests.chatkit import li_with, wait_ready
from tests.test_chat_client import ChatWorld

pytestmark = [pytest.mark.browser, pytest.mark.matrix, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def chat(matrix_settings, new_page, live_server) -> ChatWorld:
    return ChatWorld(matrix_settings, new_page, live_server)


def test_guest_is_told_once_that_guests_read_and_times_are_24_hour(chat):
    room = chat.room("Town hall")
    alice = chat.person(room, "Alice")
    chat.hs.send(alice.token, room.room_id, "Welcome, guests")
    # A US browser would show "03:05 PM" by default; the site's pages use a 24-hour clock.
    page = chat.open(None, room, guest="Gwen", locale="en-US")
    wait_ready(page)
    message = li_with(page, "Welcome, guests")
    message.wait_for()
    assert re.fullmatch(r"\d\d:\d\d", message.locator("time").inner_text())
    assert "AM" not in message.locator("time").get_attribute("title")
    assert "PM" not in message.locator("time").get_attribute("title")
    said = page.locator("#chat-form").inner_text()
    assert page.locator("#chat-readonly").inner_text() == "Guests can read this chat; log in to write."
    assert said.count("Guests can read this chat") == 1 and "not post" not in said
    assert page.locator("#chat-input").get_attribute("placeholder") == "Guests can read this chat; log in to write."
    assert page.locator("#chat-input").is_disabled()
