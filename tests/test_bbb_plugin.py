"""lpcfe's BBB client plugin: what join URLs carry with it off and on, the chat ticket's
lifetime and single use, and the plugin contract with the BBB double."""

import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import uuid
from datetime import timedelta
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from django.contrib.staticfiles import finders
from django.test import Client
from django.utils import timezone

from bbb_simulator.models import SimMeeting
from chat_embed import handoff
from chat_embed.ids import email_to_user_id
from chat_embed.matrix import MatrixClient
from chat_embed.models import ChatTicket
from chat_embed.provisioning import Provisioner, chat_room_for
from sessions import chat_plugin
from sessions.models import Talk
from tests import factories, matrix_sample

live = pytest.mark.django_db(transaction=True)


@pytest.fixture
def hall(settings, fresh_cache):
    settings.SCHEDULE_JOIN_OPEN_MINUTES = 10
    settings.SCHEDULE_SPEAKER_OPEN_MINUTES = 30
    factories.conference(name="Plumbers", timezone="Europe/Dublin")
    room = factories.room(slug="hall-a", name="Hall A")
    factories.talk_now(
        room,
        title="Scheduling",
        speaker_names=["Linus Speaker"],
        speaker_emails=["linus@example.org"],
    )
    return room


def _ticket(join_url: str) -> str:
    chat_url = parse_qs(urlsplit(join_url).query)["userdata-lpcfe_chat_url"][0]
    assert urlsplit(chat_url).path == "/chat/hall-a/"
    return parse_qs(urlsplit(chat_url).query)["ticket"][0]


# --- The chat ticket in join URLs -------------------------------------------------------------


@live
def test_join_url_carries_no_chat_ticket_with_the_plugin_off(bbb_double, hall, matrix_settings, settings):
    settings.BBB_CHAT_PLUGIN = False
    url = factories.join_url(factories.client_for("ada@example.org", first_name="Ada", last_name="Lovelace"), hall)
    assert "ticket" not in url and "userdata-" not in url and "/chat/" not in url
    assert ChatTicket.objects.count() == 0  # none made, so none to steal from a log


@live
def test_plugin_ticket_works_once_then_is_refused(bbb_double, hall, matrix_settings, settings):
    settings.BBB_CHAT_PLUGIN = True
    ticket = _ticket(
        factories.join_url(factories.client_for("ada@example.org", first_name="Ada", last_name="Lovelace"), hall)
    )
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
    ticket = _ticket(factories.join_url(factories.client_for("ada@example.org"), hall))
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
    factories.join_url(factories.client_for("ada@example.org"), hall)
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
    join_url = factories.join_url(factories.client_for("ada@example.org"), hall)
    (plugin,) = SimMeeting.objects.get().plugins
    assert plugin["failure"] == "manifest checksum mismatch"
    page = requests.get(join_url, timeout=5).text
    assert 'data-testid="plugin-failure"' in page and "plugin-host.js" not in page


@live
def test_without_the_plugin_meetings_load_none(bbb_double, hall, settings):
    settings.BBB_CHAT_PLUGIN = False
    join_url = factories.join_url(factories.client_for("ada@example.org"), hall)
    meeting = SimMeeting.objects.get()
    assert "pluginManifests" not in meeting.params and meeting.plugins == []
    assert "plugin-host.js" not in requests.get(join_url, timeout=5).text


# --- In a browser: our chat in BBB's side panel -------------------------------------------------


def _join_in_browser(page, live_server, email: str, first: str, last: str, role: str) -> None:
    factories.browser_login(
        page,
        live_server,
        email,
        "CODE-7cq3-93kd",
        first_name=first,
        last_name=last,
        role=role,
        next_path="/rooms/town-hall/",
    )
    page.get_by_role("button", name=re.compile(r"^Join (as moderator: )?Town Hall$")).click()
    page.wait_for_url("**/bbb-simulator/bigbluebutton/client/**")


def _panel_message(page, text: str):
    return page.frame_locator("#sim-sidekick iframe").locator("#chat-messages li.msg", has_text=text)


@pytest.mark.browser
@live
def test_chat_in_bbbs_side_panel_for_an_attendee_and_a_speaker(
    bbb_double, matrix_settings, settings, new_page, live_server, fresh_cache
):
    settings.BBB_CHAT_PLUGIN = True
    settings.BBB_JOIN_MODE = "redirect"  # straight into BBB: before the plugin, no chat at all
    tag = uuid.uuid4().hex[:8]
    settings.MATRIX_ROOM_ALIAS_PREFIX = f"p{tag}-"
    domain = f"{tag}.example.org"
    sample = matrix_sample.build(domain)
    Talk.objects.filter(room=sample.townhall).update(speaker_names=["Sam Speaker"], speaker_emails=[f"sam@{domain}"])
    client = MatrixClient(matrix_settings.url, matrix_settings.admin_token, timeout=10)
    assert Provisioner(client, matrix_settings.server_name, join_mode="on_open").run().failures == []
    room_id = chat_room_for(sample.townhall).room_id

    ada = new_page()
    _join_in_browser(ada, live_server, f"ada@{domain}", "Ada", "Attendee", "attendee")
    assert ada.get_by_test_id("you").inner_text() == "Ada Attendee — VIEWER"
    assert "disabledFeatures=chat" in ada.get_by_test_id("chat-state").inner_text()
    panel_button = ada.get_by_role("button", name="Chat", exact=True)
    assert panel_button.get_attribute("aria-expanded") == "true"  # open on load
    frame = ada.frame_locator("#sim-sidekick iframe")
    frame.locator('#chat[data-state="live"]').wait_for()
    frame.locator("#chat-input").fill("Hello from BBB's side panel")
    frame.locator("#chat-input").press("Enter")
    sent = _panel_message(ada, "Hello from BBB's side panel")
    sent.wait_for()
    assert "Ada Attendee" in sent.locator(".nick").inner_text()
    # It went through the homeserver, as Ada.
    history = requests.get(
        f"{matrix_settings.url}/_synapse/admin/v1/rooms/{room_id}/messages",
        params={"dir": "b", "limit": 20},
        headers={"Authorization": f"Bearer {matrix_settings.admin_token}"},
        timeout=10,
    ).json()["chunk"]
    bodies = {(e["sender"], e["content"].get("body")) for e in history if e["type"] == "m.room.message"}
    assert (email_to_user_id(f"ada@{domain}", matrix_settings.server_name), "Hello from BBB's side panel") in bodies
    assert ChatTicket.objects.filter(used_at__isnull=False).count() == 1  # redeemed at once

    # Closing and reopening the panel needs no second ticket: the chat page kept its session.
    panel_button.click()
    assert panel_button.get_attribute("aria-expanded") == "false" and ada.locator("#sim-sidekick iframe").count() == 0
    panel_button.click()
    frame.locator('#chat[data-state="live"]').wait_for()
    _panel_message(ada, "Hello from BBB's side panel").wait_for()
    assert ChatTicket.objects.count() == 1

    sam = new_page()
    _join_in_browser(sam, live_server, f"sam@{domain}", "Sam", "Speaker", "speaker")
    assert sam.get_by_test_id("you").inner_text() == "Sam Speaker — MODERATOR"
    seen = _panel_message(sam, "Hello from BBB's side panel")
    seen.wait_for()
    assert "Ada Attendee" in seen.locator(".nick").inner_text()
    speaker_frame = sam.frame_locator("#sim-sidekick iframe")
    speaker_frame.locator("#chat-input").fill("Welcome, Ada")
    speaker_frame.locator("#chat-input").press("Enter")
    reply = _panel_message(ada, "Welcome, Ada")
    reply.wait_for()
    assert "Sam Speaker" in reply.locator(".nick").inner_text()


def test_the_setting_refuses_to_start_without_a_built_plugin(tmp_path):
    """BBB_CHAT_PLUGIN=on on a checkout where bin/build-plugin has not run: a clear message at start-up."""
    root = Path(__file__).resolve().parent.parent
    shutil.copytree(root / "lpcfe", tmp_path / "lpcfe")  # the same settings, with no bbb_plugin/dist beside them
    env = {**os.environ, "SECRET_KEY": "x", "ALLOWED_HOSTS": "localhost", "BBB_CHAT_PLUGIN": "on"}
    missing = subprocess.run(
        [sys.executable, "-c", "import lpcfe.settings"], env=env, capture_output=True, text=True, cwd=tmp_path
    )
    assert missing.returncode != 0 and "run bin/build-plugin first" in missing.stderr
    built = subprocess.run(
        [sys.executable, "-c", "import lpcfe.settings as s; print(s.BBB_CHAT_PLUGIN, s.STATICFILES_DIRS[-1][0])"],
        env=env,
        capture_output=True,
        text=True,
        cwd=root,
    )
    assert built.stdout.split() == ["True", "bbb-plugin"], built.stderr
