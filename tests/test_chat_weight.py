"""The chat page stays light: what one attendee downloads to open the chat, compressed."""

import gzip
from pathlib import Path

import pytest
from django.contrib.staticfiles import finders
from django.urls import reverse

from tests import factories

pytestmark = pytest.mark.django_db

BUDGET = 25_000  # bytes, gzip: HTML + JS + CSS together (README "Chat client" states the figure)


def gzipped(data: bytes) -> int:
    return len(gzip.compress(data, compresslevel=9))


def test_chat_page_weight_is_tens_of_kb_compressed(client, settings):
    settings.MATRIX_URL = settings.MATRIX_PUBLIC_URL = "http://127.0.0.1:9"
    settings.MATRIX_SERVER_NAME = "example.org"
    settings.MATRIX_ADMIN_TOKEN = "unused"
    room = factories.room("hall-a", "Hall A")
    html = client.get(reverse("chat:room", args=[room.slug])).content
    assert b"chat_embed/chat.js" in html  # configured: the client is loaded
    js = Path(finders.find("chat_embed/chat.js")).read_bytes()
    css = Path(finders.find("chat_embed/chat.css")).read_bytes()
    sizes = {"html": gzipped(html), "js": gzipped(js), "css": gzipped(css)}
    total = sum(sizes.values())
    print(f"chat page, gzip -9: {sizes} = {total} bytes (raw {len(html) + len(js) + len(css)})")
    assert total < BUDGET, sizes


def test_unconfigured_chat_page_says_so_and_loads_no_client(client, settings):
    settings.MATRIX_URL = ""
    room = factories.room("hall-a", "Hall A")
    html = client.get(reverse("chat:room", args=[room.slug])).content.decode()
    assert "Chat is not configured on this server." in html
    assert "chat.js" not in html
