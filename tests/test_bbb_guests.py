"""Guests in BBB: a guest joins with guest=true, so the BBB server's own guest policy applies to
them; registered people join without it."""

import uuid
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from django.test import Client
from django.urls import reverse

from bbb_simulator.models import SimAttendee
from chat_embed.matrix import MatrixClient
from chat_embed.models import ChatTicket, MatrixAccount
from chat_embed.provisioning import Provisioner
from sessions import guests
from sessions.models import GuestMode, Room
from tests import factories, matrix_sample

live = pytest.mark.django_db(transaction=True)


@pytest.fixture
def town_hall(settings, fresh_cache):
    guests.forget_cached()
    GuestMode.objects.update_or_create(pk=1, defaults={"enabled": True})
    factories.conference(timezone="UTC")
    room = factories.room(slug="town-hall", name="Town hall", kind=Room.Kind.PUBLIC)
    factories.talk_now(room, title="Open session")
    return room
    guests.forget_cached()


@live
def test_guest_joins_bbb_as_a_guest_and_attendees_do_not(bbb_double, town_hall):
    gwen = Client()
    assert gwen.post(reverse("guest_login"), {"name": "Gwen Visitor"}).status_code == 302
    url = factories.join_url(gwen, town_hall)
    query = parse_qs(urlsplit(url).query)
    assert query["guest"] == ["true"] and query["fullName"][0].startswith("Gwen Visitor")
    assert 'data-testid="guest"' in requests.get(url, timeout=5).text
    assert SimAttendee.objects.get(full_name__startswith="Gwen Visitor").guest is True

    ada = factories.client_for("ada@example.org", first_name="Ada", last_name="Lovelace")
    url = factories.join_url(ada, town_hall)
    assert "guest" not in parse_qs(urlsplit(url).query)
    requests.get(url, timeout=5)
    assert SimAttendee.objects.get(full_name="Ada Lovelace").guest is False


@live
def test_guest_join_keeps_its_link_while_the_chat_fetches_its_first_token(
    bbb_double, matrix_settings, settings, hold_in
):
    """A new guest's room page asks for a chat token (making the guest's Matrix account) while the
    guest clicks Join. Both requests load the guest's session; the frame must still get in, and the
    chat in BBB's side panel (the join's ticket) must be the same guest as the chat beside it."""
    tag = uuid.uuid4().hex[:8]
    settings.MATRIX_ROOM_ALIAS_PREFIX = f"t{tag}-"
    settings.BBB_CHAT_PLUGIN = True
    sample = matrix_sample.build(f"{tag}.example.org")
    client = MatrixClient(matrix_settings.url, matrix_settings.admin_token, timeout=10)
    assert Provisioner(client, matrix_settings.server_name, join_mode="on_open").run().failures == []
    factories.talk_now(sample.townhall, title="Open session")
    gwen = factories.guest_client("Gwen Visitor")
    chat_frame = Client()
    chat_frame.cookies[settings.SESSION_COOKIE_NAME] = gwen.cookies[settings.SESSION_COOKIE_NAME].value

    # The token request is held once it has loaded the session and made the guest's account row.
    token, join = hold_in(
        MatrixClient,
        "put_user",
        slow=lambda: chat_frame.post(reverse("chat:token", args=[sample.townhall.slug]), {}, "application/json"),
        meanwhile=lambda: gwen.post(f"/rooms/{sample.townhall.slug}/join/"),
    )
    assert join.status_code == 303
    assert token.status_code == 200, token.content
    chat_user = token.json()["user_id"]

    frame = gwen.get(f"/rooms/{sample.townhall.slug}/enter/")
    assert frame.status_code == 302, frame.content.decode()[:300]  # not "This join link has been used"
    userdata_chat = parse_qs(urlsplit(frame["Location"]).query)["userdata-lpcfe_chat_url"][0]
    ticket = parse_qs(urlsplit(userdata_chat).query)["ticket"][0]
    assert ChatTicket.objects.get(digest=ChatTicket.hash(ticket)).account.user_id == chat_user
    assert MatrixAccount.objects.filter(kind=MatrixAccount.Kind.GUEST).count() == 1
