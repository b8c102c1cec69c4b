"""The organisers' status page: rooms from getMeetings, each service's state, the join log."""

from datetime import timedelta

import pytest
import requests
from django.test import Client
from django.utils import timezone

from sessions import bbb
from tests import factories

pytestmark = pytest.mark.usefixtures("fresh_cache")


@pytest.fixture
def rooms(settings):
    settings.LOGIN_URL = "/login/"
    settings.LDAP_URI = ""
    settings.MATRIX_URL = ""
    factories.conference(timezone="UTC")
    hall = factories.room(slug="hall-a", name="Hall <A>", capacity=50)
    factories.talk(hall, timezone.now() - timedelta(minutes=5), timezone.now() + timedelta(hours=1))
    factories.room(slug="hall-b", name="Hall B")
    return hall


def _organiser() -> Client:
    return factories.client_for("org@example.org", "organiser")


@pytest.mark.django_db
def test_only_organisers(rooms):
    assert Client().get("/status/")["Location"] == "/login/?next=/status/"
    attendee = factories.client_for("ada@example.org")
    assert attendee.get("/status/").status_code == 403


@pytest.mark.django_db(transaction=True)
def test_rooms_services_and_joins(bbb_double, rooms):
    ada = factories.client_for("ada@example.org", first_name="Ada")
    requests.get(factories.join_url(ada, rooms), timeout=5)

    page = _organiser().get("/status/")
    html = page.content.decode()
    assert page.status_code == 200
    assert "LDAP_URI is empty" in html and "MATRIX_URL is empty" in html
    assert "simulator" in html and "The local BBB simulator stands in" in html
    row = html[html.index('data-room="hall-a"') :].split("</tr>")[0]
    assert "Hall &lt;A&gt;" in row and "running" in row and "1 / 50" in row
    assert "no meeting" in html[html.index('data-room="hall-b"') :].split("</tr>")[0]
    joins = html[html.index('data-testid="joins"') :]
    assert "Ada" in joins and "VIEWER" in joins and "joined" in joins
    assert 'data-testid="guest-mode' in html  # the guest-mode switch is on this page


@pytest.mark.django_db
def test_unreachable_services_say_why(rooms, settings, broken_bbb, closed_port):
    broken_bbb(closed_port, timeout=1)
    settings.LDAP_URI = f"ldap://127.0.0.1:{closed_port}"
    settings.LDAP_TIMEOUT = 1
    settings.MATRIX_URL = f"http://127.0.0.1:{closed_port}"
    settings.MATRIX_TIMEOUT = 1
    html = _organiser().get("/status/").content.decode()
    services = html[html.index('data-testid="services"') : html.index("</table>")]
    assert services.count("not reachable") == 3
    assert "Can&#x27;t contact LDAP server" in services
    assert f"127.0.0.1:{closed_port}" in services and "cannot be reached" in services
    row = html[html.index('data-room="hall-a"') :].split("</tr>")[0]
    assert "cannot be reached" in row


@pytest.mark.django_db
def test_servers_file_problems_show_on_the_page(rooms, settings, tmp_path):
    servers = tmp_path / "servers"
    servers.write_text("bbb1.example.org:s3kr1t-value\nbroken line\n")
    settings.BBB_SIMULATOR = False
    settings.BBB_URL = ""
    settings.BBB_SERVERS_FILE = str(servers)
    html = _organiser().get("/status/").content.decode()
    assert f"{servers}, line 2: expected host:secret" in html
    assert "s3kr1t" not in html


@pytest.mark.django_db
def test_unknown_server_names_the_room_and_file(settings, tmp_path):
    servers = tmp_path / "servers"
    servers.write_text("bbb1.example.org:secret\n")
    settings.BBB_SIMULATOR = False
    settings.BBB_SERVERS_FILE = str(servers)
    room = factories.Room(slug="x", name="Ametista/room-I", bbb_server="bbb.lwn.net")
    with pytest.raises(bbb.BBBConfigError, match="Ametista/room-I names BBB server bbb.lwn.net") as unknown:
        bbb.server_for(room)
    assert str(servers) in str(unknown.value)
