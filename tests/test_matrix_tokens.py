"""Chat tokens and their hand-off, against the suite's real Synapse."""

import json
import uuid
from datetime import datetime, time, timedelta

import pytest
import requests
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from chat_embed.handoff import make_chat_ticket
from chat_embed.ids import email_to_user_id
from chat_embed.matrix import MatrixClient
from chat_embed.models import ChatTicket, MatrixAccount, MatrixRoom
from chat_embed.provisioning import Provisioner
from sessions.models import Conference
from sessions.people import Viewer
from tests import factories, matrix_sample
from tests.pagecheck import csp_directives

pytestmark = pytest.mark.django_db


@pytest.fixture
def sample(matrix_settings, settings):
    tag = uuid.uuid4().hex[:8]
    settings.MATRIX_ROOM_ALIAS_PREFIX = f"t{tag}-"
    settings.BBB_URL = "https://bbb.example.net/bigbluebutton"
    built = matrix_sample.build(f"{tag}.example.org")
    client = MatrixClient(matrix_settings.url, matrix_settings.admin_token, timeout=10)
    report = Provisioner(client, matrix_settings.server_name, join_mode="on_open").run()
    assert report.failures == []
    built.synapse = matrix_settings
    return built


def whoami(synapse, token: str) -> requests.Response:
    return requests.get(
        f"{synapse.url}/_matrix/client/v3/account/whoami", headers={"Authorization": f"Bearer {token}"}, timeout=10
    )


def client_logins(synapse) -> int:
    """Password/token logins on the client API (the admin "login as user" API is not one)."""
    return sum(synapse.count_requests(f"/_matrix/client/{v}/login", "POST") for v in ("v3", "r0", "v1"))


def logged_in(user) -> Client:
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(user)
    return browser


def fetch_token(browser: Client, room, csrf: bool = True, **body):
    page = browser.get(reverse("chat:room", args=[room.slug]))
    assert page.status_code == 200
    headers = {"HTTP_X_CSRFTOKEN": browser.cookies["csrftoken"].value} if csrf else {}
    return browser.post(
        reverse("chat:token", args=[room.slug]), data=json.dumps(body), content_type="application/json", **headers
    )


def test_token_is_reused_across_page_loads_and_revoked_at_logout(sample):
    synapse = sample.synapse
    logins_before = client_logins(synapse)
    user = sample.attendees[0]
    browser = logged_in(user)
    first = fetch_token(browser, sample.hall)
    assert first.status_code == 200, first.content
    data = first.json()
    assert set(data) == {
        "access_token", "user_id", "device_id", "homeserver", "room_id", "room_alias", "read_only", "expires_at",
    }  # fmt: skip
    assert first["Cache-Control"] == "no-store"
    assert data["user_id"] == email_to_user_id(user.email, synapse.server_name)
    assert data["homeserver"] == synapse.url and data["read_only"] is False
    assert whoami(synapse, data["access_token"]).json()["user_id"] == data["user_id"]
    # The chat beside Hall A is the track running now, and on first open the person was joined to it.
    assert data["room_alias"].startswith("#t") and data["room_id"].startswith("!")
    members = requests.get(
        f"{synapse.url}/_matrix/client/v3/rooms/{data['room_id']}/joined_members",
        headers={"Authorization": f"Bearer {data['access_token']}"},
        timeout=10,
    ).json()["joined"]
    assert data["user_id"] in members

    mints = synapse.count_requests("/_synapse/admin/v1/users/", "POST")
    second = fetch_token(browser, sample.hall).json()
    assert second["access_token"] == data["access_token"]  # reused, not minted again
    assert synapse.count_requests("/_synapse/admin/v1/users/", "POST") == mints
    # Stored encrypted: the plain token is nowhere in our database row.
    account = MatrixAccount.objects.get(user_id=data["user_id"])
    assert data["access_token"] not in account.token_ciphertext

    browser.logout()
    assert whoami(synapse, data["access_token"]).status_code == 401
    assert MatrixAccount.objects.get(pk=account.pk).token_ciphertext == ""
    assert client_logins(synapse) == logins_before  # the front end never used /login


def test_a_token_close_to_expiry_is_replaced(sample, settings):
    browser = logged_in(sample.attendees[1])
    old = fetch_token(browser, sample.hall).json()
    MatrixAccount.objects.filter(user_id=old["user_id"]).update(token_valid_until=timezone.now() + timedelta(minutes=5))
    new = fetch_token(browser, sample.hall).json()
    assert new["access_token"] != old["access_token"]
    assert whoami(sample.synapse, new["access_token"]).status_code == 200


def test_tokens_last_until_the_end_of_the_conference_day(sample):
    data = fetch_token(logged_in(sample.attendees[2]), sample.hall).json()
    tz = Conference.current().tz
    now = timezone.now().astimezone(tz)
    midnight = datetime.combine(now.date() + timedelta(days=1), time.min, tzinfo=tz)
    if midnight - now <= timedelta(minutes=60):
        midnight = datetime.combine(now.date() + timedelta(days=2), time.min, tzinfo=tz)
    assert data["expires_at"] == int(midnight.timestamp() * 1000)


def test_session_path_needs_the_csrf_header(sample):
    response = fetch_token(logged_in(sample.attendees[0]), sample.hall, csrf=False)
    assert response.status_code == 403


def test_ticket_works_once_for_its_room_and_expires(sample):
    synapse = sample.synapse
    user = sample.attendees[3]
    ticket = make_chat_ticket(user, sample.hall)
    assert ChatTicket.objects.filter(digest=ChatTicket.hash(ticket)).exists()
    assert not ChatTicket.objects.filter(digest=ticket).exists()  # only the hash is stored
    frame = Client(enforce_csrf_checks=True)  # a cross-site frame: no cookies at all
    url = reverse("chat:token", args=[sample.hall.slug])
    page = frame.get(reverse("chat:room", args=[sample.hall.slug]), {"ticket": ticket})
    assert page.context["ticket"] == ticket and page.context["token_url"] == url

    wrong_room = frame.post(
        reverse("chat:token", args=[sample.townhall.slug]), {"ticket": ticket}, content_type="application/json"
    )
    assert wrong_room.status_code == 403
    first = frame.post(url, {"ticket": ticket}, content_type="application/json")
    assert first.status_code == 200, first.content
    assert whoami(synapse, first.json()["access_token"]).json()["user_id"] == email_to_user_id(
        user.email, synapse.server_name
    )
    again = frame.post(url, {"ticket": ticket}, content_type="application/json")
    assert again.status_code == 403 and "already used" in again.json()["error"]

    late = make_chat_ticket(user, sample.hall)
    ChatTicket.objects.filter(digest=ChatTicket.hash(late)).update(expires_at=timezone.now() - timedelta(seconds=1))
    assert frame.post(url, {"ticket": late}, content_type="application/json").status_code == 403
    assert frame.post(url, {"ticket": "made-up"}, content_type="application/json").status_code == 403


def test_chat_page_may_be_framed_by_us_and_bbb_only(sample):
    page = logged_in(sample.attendees[0]).get(reverse("chat:room", args=[sample.hall.slug]))
    assert "X-Frame-Options" not in page
    policy = csp_directives(page)
    assert policy["frame-ancestors"] == "'self' https://bbb.example.net"
    assert policy["connect-src"] == f"'self' {sample.synapse.url}"  # the page talks to the homeserver itself
    assert policy["script-src"] == "'self'"
    assert page.context["matrix_configured"] is True and page.context["read_only"] is False
    assert page.context["ticket"] == ""


def test_private_room_chat_is_for_its_moderators(sample):
    refused = fetch_token(logged_in(sample.attendees[0]), sample.private)
    assert refused.status_code == 403
    allowed = fetch_token(logged_in(sample.organiser), sample.private)
    assert allowed.status_code == 200
    assert allowed.json()["room_alias"].split(":")[0].endswith("-board")


def test_guests_are_read_only_in_public_rooms_and_kept_out_of_the_rest(sample, settings):
    synapse = sample.synapse
    guest = factories.guest_client("Visiting Vera", enforce_csrf_checks=True)

    assert fetch_token(guest, sample.hall).status_code == 403  # not a public room
    response = fetch_token(guest, sample.townhall)
    assert response.status_code == 200, response.content
    data = response.json()
    assert data["read_only"] is True and data["user_id"].startswith("@guest.")
    headers = {"Authorization": f"Bearer {data['access_token']}"}
    profile = requests.get(
        f"{synapse.url}/_matrix/client/v3/profile/{data['user_id']}", headers=headers, timeout=10
    ).json()
    assert profile["displayname"] == "Visiting Vera (guest)"
    # The guest cannot drop the marker: not from the profile, not in the room's member list.
    dropped = requests.put(
        f"{synapse.url}/_matrix/client/v3/profile/{data['user_id']}/displayname",
        json={"displayname": "Visiting Vera"},
        headers=headers,
        timeout=10,
    )
    assert dropped.status_code == 403
    member = f"{synapse.url}/_matrix/client/v3/rooms/{data['room_id']}/state/m.room.member/{data['user_id']}"
    requests.put(member, json={"membership": "join", "displayname": "Orla Organiser"}, headers=headers, timeout=10)
    assert requests.get(member, headers=headers, timeout=10).json()["displayname"] == "Visiting Vera (guest)"
    # Read-only is enforced by the homeserver, not just hidden by the page.
    sent = requests.put(
        f"{synapse.url}/_matrix/client/v3/rooms/{data['room_id']}/send/m.room.message/t1",
        json={"msgtype": "m.text", "body": "hello"},
        headers=headers,
        timeout=10,
    )
    assert sent.status_code == 403
    # The token does not open attendee rooms either: they are invite-only.
    kernel_id = MatrixRoom.objects.get(key="track:kernel-summit").room_id
    joined = requests.post(f"{synapse.url}/_matrix/client/v3/join/{kernel_id}", json={}, headers=headers, timeout=10)
    assert joined.status_code == 403
    # Same session, later page: same guest account and token.
    assert fetch_token(guest, sample.townhall).json()["access_token"] == data["access_token"]


def test_guests_can_post_when_allowed(sample, settings):
    settings.MATRIX_GUESTS_CAN_POST = True
    ticket = make_chat_ticket(Viewer(email=None, display_name="Poster", role="guest"), sample.townhall)
    data = (
        Client()
        .post(reverse("chat:token", args=[sample.townhall.slug]), {"ticket": ticket}, content_type="application/json")
        .json()
    )
    assert data["read_only"] is False
    sent = requests.put(
        f"{sample.synapse.url}/_matrix/client/v3/rooms/{data['room_id']}/send/m.room.message/t1",
        json={"msgtype": "m.text", "body": "hello"},
        headers={"Authorization": f"Bearer {data['access_token']}"},
        timeout=10,
    )
    assert sent.status_code == 200


def test_guest_accounts_are_rate_limited(sample, settings):
    settings.MATRIX_GUEST_ACCOUNTS_PER_ADDRESS_PER_HOUR = 1
    url = reverse("chat:token", args=[sample.townhall.slug])
    codes = []
    for name in ("One", "Two"):
        ticket = make_chat_ticket(Viewer(email=None, display_name=name, role="guest"), sample.townhall)
        codes.append(Client(REMOTE_ADDR="192.0.2.7").post(url, {"ticket": ticket}, content_type="application/json"))
    assert codes[0].status_code == 200
    assert codes[1].status_code == 429 and "Too many guests" in codes[1].json()["error"]


def test_anonymous_visitors_get_no_token(sample):
    assert fetch_token(Client(enforce_csrf_checks=True), sample.townhall).status_code == 403


def test_not_configured_says_so(sample, settings):
    settings.MATRIX_URL = ""
    response = fetch_token(logged_in(sample.attendees[0]), sample.hall)
    assert response.status_code == 503


def test_profile_include_and_matrix_password(sample):
    user = sample.attendees[0]
    browser = logged_in(user)
    html = browser.get(reverse("profile")).content.decode()  # the person's own page shows the account
    user_id = email_to_user_id(user.email, sample.synapse.server_name)
    assert user_id in html and sample.synapse.url in html and reverse("chat:password") in html

    browser.get(reverse("chat:room", args=[sample.hall.slug]))
    csrf = {"HTTP_X_CSRFTOKEN": browser.cookies["csrftoken"].value}
    short = browser.post(reverse("chat:password"), {"password": "short", "password_again": "short"}, **csrf)
    assert short.status_code == 302
    password = "correct horse battery"
    done = browser.post(reverse("chat:password"), {"password": password, "password_again": password}, **csrf)
    assert done.status_code == 302
    # Element (played here by the test) can now sign in with the Matrix ID and that password.
    login = requests.post(
        f"{sample.synapse.url}/_matrix/client/v3/login",
        json={"type": "m.login.password", "identifier": {"type": "m.id.user", "user": user_id}, "password": password},
        timeout=10,
    )
    assert login.status_code == 200 and login.json()["user_id"] == user_id


def test_a_ticket_survives_a_homeserver_outage(sample, settings):
    ticket = make_chat_ticket(sample.attendees[0], sample.hall)
    url = reverse("chat:token", args=[sample.hall.slug])
    real = settings.MATRIX_URL
    settings.MATRIX_URL = "http://127.0.0.1:9"  # nothing listens there
    down = Client().post(url, {"ticket": ticket}, content_type="application/json")
    assert down.status_code == 503 and "not answering" in down.json()["error"]
    settings.MATRIX_URL = real
    assert Client().post(url, {"ticket": ticket}, content_type="application/json").status_code == 200


def test_every_bbb_server_of_the_servers_file_may_frame_the_chat(sample, settings, tmp_path):
    servers = tmp_path / "servers"
    servers.write_text("bbb1.example.org:" + "s" * 40 + "\nbbb2.example.org:" + "t" * 40 + "\n")
    settings.BBB_URL = ""
    settings.BBB_SERVERS_FILE = str(servers)
    settings.BBB_SIMULATOR = False
    settings.MATRIX_CHAT_FRAME_ANCESTORS = ["https://bbb3.example.org/extra/path"]
    page = Client().get(reverse("chat:room", args=[sample.hall.slug]))
    assert csp_directives(page)["frame-ancestors"] == (
        "'self' https://bbb1.example.org https://bbb2.example.org https://bbb3.example.org"
    )
