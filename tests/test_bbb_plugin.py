"""lpcfe's BBB client plugin: what join URLs carry with it off and on, the chat ticket's
lifetime and single use, and the plugin contract with the BBB double."""

import hashlib
import json
from datetime import timedelta
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from django.contrib.staticfiles import finders
from django.core.cache import cache
from django.test import Client
from django.utils import timezone

from bbb_simulator.models import SimMeeting
from chat_embed import handoff
from chat_embed.models import ChatTicket
from sessions import chat_plugin
from sessions.models import Room
from tests import factories

live = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def _fresh_cache():
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def hall(settings):
    settings.SCHEDULE_JOIN_OPEN_MINUTES = 10
    settings.SCHEDULE_SPEAKER_OPEN_MINUTES = 30
    factories.conference(name="Plumbers", timezone="Europe/Dublin")
    room = factories.room(slug="hall-a", name="Hall A")
    now = timezone.now()
    factories.talk(
        room,
        now - timedelta(minutes=5),
        now + timedelta(minutes=40),
        title="Scheduling",
        speaker_names=["Linus Speaker"],
        speaker_emails=["linus@example.org"],
    )
    return room


def _person(email: str, role: str = "attendee", first: str = "", last: str = "") -> Client:
    client = Client()
    client.force_login(factories.person(email, role, first, last))
    return client


def _join_url(client: Client, room: Room) -> str:
    assert client.post(f"/rooms/{room.slug}/join/").status_code == 303
    frame = client.get(f"/rooms/{room.slug}/enter/")
    assert frame.status_code == 302
    return frame["Location"]


def _ticket(join_url: str) -> str:
    chat_url = parse_qs(urlsplit(join_url).query)["userdata-lpcfe_chat_url"][0]
    assert urlsplit(chat_url).path == "/chat/hall-a/"
    return parse_qs(urlsplit(chat_url).query)["ticket"][0]


# --- The chat ticket in join URLs -------------------------------------------------------------


@live
def test_join_url_carries_no_chat_ticket_with_the_plugin_off(bbb_double, hall, matrix_settings, settings):
    settings.BBB_CHAT_PLUGIN = False
    url = _join_url(_person("ada@example.org", first="Ada", last="Lovelace"), hall)
    assert "ticket" not in url and "userdata-" not in url and "/chat/" not in url
    assert ChatTicket.objects.count() == 0  # none made, so none to steal from a log


@live
def test_plugin_ticket_works_once_then_is_refused(bbb_double, hall, matrix_settings, settings):
    settings.BBB_CHAT_PLUGIN = True
    ticket = _ticket(_join_url(_person("ada@example.org", first="Ada", last="Lovelace"), hall))
    assert len(ticket) >= 40
    stored = ChatTicket.objects.get(digest=ChatTicket.hash(ticket))
    assert stored.expires_at - stored.created_at <= timedelta(seconds=60)
    # Bound to the browser that joined (the test client's 127.0.0.1): a log reader elsewhere
    # cannot use it, and trying does not spend it.
    with pytest.raises(handoff.ChatRefused):
        handoff.redeem_ticket(ticket, hall, "203.0.113.9")
    assert handoff.redeem_ticket(ticket, hall, "127.0.0.1").email == "ada@example.org"
    with pytest.raises(handoff.ChatRefused):
        handoff.redeem_ticket(ticket, hall, "127.0.0.1")
    again = Client().post(f"/chat/{hall.slug}/token/", {"ticket": ticket}, content_type="application/json")
    assert again.status_code == 403 and "already used" in again.json()["error"]


@live
def test_plugin_ticket_is_refused_after_60_seconds(bbb_double, hall, matrix_settings, settings, monkeypatch):
    settings.BBB_CHAT_PLUGIN = True
    ticket = _ticket(_join_url(_person("ada@example.org"), hall))
    made = timezone.now()
    monkeypatch.setattr(timezone, "now", lambda: made + timedelta(seconds=61))
    late = Client().post(f"/chat/{hall.slug}/token/", {"ticket": ticket}, content_type="application/json")
    assert late.status_code == 403 and "expired" in late.json()["error"]
    monkeypatch.setattr(timezone, "now", lambda: made + timedelta(seconds=50))
    assert handoff.redeem_ticket(ticket, hall, "127.0.0.1").email == "ada@example.org"  # in time: it works


# --- The plugin contract with BBB (the double checks the manifest as bbb-web does) --------------


def _manifest_file() -> Path:
    found = finders.find(chat_plugin.MANIFEST)
    assert found, "the BBB plugin is not built: run bin/build-plugin (bin/setup --dev does)"
    return Path(found)


@live
def test_meetings_are_created_with_the_plugin_manifest_and_its_checksum(bbb_double, hall, settings):
    settings.BBB_CHAT_PLUGIN = True
    _join_url(_person("ada@example.org"), hall)
    meeting = SimMeeting.objects.get()
    (sent,) = json.loads(meeting.params["pluginManifests"])
    assert sent["url"] == bbb_double.api_url.split("/bbb-simulator")[0] + "/static/bbb-plugin/manifest.json"
    assert sent["checksum"] == hashlib.sha256(_manifest_file().read_bytes()).hexdigest()
    (plugin,) = meeting.plugins
    assert plugin["failure"] == "" and plugin["name"] == "LpcfeChat"
    manifest = json.loads(_manifest_file().read_text())
    assert plugin["entrypoint"] == sent["url"].rsplit("/", 1)[0] + "/" + manifest["javascriptEntrypointUrl"]
    assert manifest["requiredSdkVersion"].startswith("~0.0.")  # the SDK line of BBB 3.0
    assert meeting.params["disabledFeatures"] == "chat"


@live
def test_a_manifest_that_does_not_match_its_checksum_is_not_loaded(bbb_double, hall, settings, monkeypatch):
    settings.BBB_CHAT_PLUGIN = True
    real = chat_plugin.manifest_entry
    monkeypatch.setattr(chat_plugin, "manifest_entry", lambda site: {**real(site), "checksum": "0" * 64})
    join_url = _join_url(_person("ada@example.org"), hall)
    (plugin,) = SimMeeting.objects.get().plugins
    assert plugin["failure"] == "manifest checksum mismatch"
    page = requests.get(join_url, timeout=5).text
    assert 'data-testid="plugin-failure"' in page and "plugin-host.js" not in page


@live
def test_without_the_plugin_meetings_load_none(bbb_double, hall, settings):
    settings.BBB_CHAT_PLUGIN = False
    join_url = _join_url(_person("ada@example.org"), hall)
    meeting = SimMeeting.objects.get()
    assert "pluginManifests" not in meeting.params and meeting.plugins == []
    assert "plugin-host.js" not in requests.get(join_url, timeout=5).text
