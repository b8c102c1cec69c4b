"""Internationalised email addresses (RFC 6531: `josé@…`, `zoë@…`) everywhere an address is read:
the attendee import, the login and code-request forms (also in Chromium, whose `type=email`
inputs refuse them), schedule imports, and the Matrix ID they map to. Addresses are compared in
Unicode NFC: an `é` typed as `e` + combining accent is the same address.

Personas: José and Zoë (attendees), Zoë also speaking in the schedule.
"""

import io
import unicodedata

import pytest
from django.contrib.auth.models import User
from django.core import mail
from django.core.management import call_command
from django.urls import reverse

from chat_embed.ids import email_to_user_id, user_id_to_email
from sessions import accounts
from sessions.emails import normalise_email
from sessions.models import Attendee, Talk
from tests import factories
from tests.importing import run_import

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("fresh_cache")]

JOSE = "josé@example.org"  # composed é (NFC)
JOSE_DECOMPOSED = unicodedata.normalize("NFD", "José@Example.org")  # e + U+0301, as some keyboards send it
ZOE = "zoë@example.org"
PEOPLE = [
    "first name\tlast name\tregcode\temail\trole",
    f"José\tNúñez\tJOS-4kq1-77ab\t{JOSE_DECOMPOSED}\tattendee",
    f"Zoë\tÅberg\tZOE-8mm2-31cd\t{ZOE}\tspeaker",
    "Wei\tZhang\tWEI-5pp3-90ef\t张伟@example.org\tattendee",
]


def import_people(lines: list[str], folder) -> tuple[str, str]:
    path = folder / "attendees.tsv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    out, err = io.StringIO(), io.StringIO()
    call_command("import_attendees", str(path), "--no-progress", stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


@pytest.fixture
def registered(tmp_path):
    """The personas in the local attendee table (LDAP's standard `mail` is ASCII-only: see below)."""
    return import_people(PEOPLE, tmp_path)


def test_the_import_accepts_internationalised_addresses_stored_in_nfc(registered):
    out, err = registered
    assert "added 3, updated 0, unchanged 0, rejected 0" in out, out + err
    assert err == ""
    assert set(Attendee.objects.values_list("email", flat=True)) == {JOSE, ZOE, "张伟@example.org"}


@pytest.mark.ldap
def test_ldap_with_an_ascii_only_mail_attribute_refuses_those_lines_clearly(ldap_directory, tmp_path):
    out, err = import_people([*PEOPLE, "Ada\tLovelace\tADA-7cq3-93kd\tada@example.org\tattendee"], tmp_path)
    assert "added 1, updated 0, unchanged 0, rejected 3" in out, out + err
    assert (
        "attendees.tsv line 2: the directory's mail attribute holds ASCII addresses only (IA5String); "
        "set LDAP_EMAIL_ATTR to an attribute with UTF-8 syntax" in err
    )
    assert ldap_directory.entry("ada@example.org") is not None


@pytest.mark.parametrize(
    "bad",
    [
        "jo sé@example.org",  # a space is no more allowed than in ASCII
        "jos\u202eé@example.org",  # a bidi override could disguise the address
        "josé@@example.org",
        "josé@",
        "josé.@example.org",
    ],
)
def test_the_import_still_refuses_invalid_addresses(tmp_path, bad):
    path = tmp_path / "attendees.tsv"
    path.write_text(f"Bad\tAddress\tBAD-1234-abcd\t{bad}\n", encoding="utf-8")
    out, err = io.StringIO(), io.StringIO()
    call_command("import_attendees", str(path), "--no-progress", stdout=out, stderr=err)
    assert "attendees.tsv line 1: invalid email address" in err.getvalue()
    assert not Attendee.objects.exists()


@pytest.mark.parametrize("typed", [JOSE, JOSE_DECOMPOSED, "  JOSÉ@EXAMPLE.ORG ", "josé+lpc@example.org"])
def test_login_with_an_internationalised_address(client, registered, typed):
    answer = client.post(reverse("login"), {"email": typed, "regcode": "JOS-4kq1-77ab"})
    assert answer.status_code == 302, answer.content.decode()
    assert client.get(reverse("profile")).wsgi_request.user.get_username() == JOSE


def test_a_wrong_code_for_an_internationalised_address_is_refused(client, registered):
    answer = client.post(reverse("login"), {"email": ZOE, "regcode": "JOS-4kq1-77ab"})
    assert answer.status_code == 200
    assert "do not match" in answer.content.decode()


def test_code_request_for_an_internationalised_address(client, registered):
    answer = client.post(reverse("resend_code"), {"email": unicodedata.normalize("NFD", ZOE)})
    assert answer.status_code == 302
    assert len(mail.outbox) == 1 and mail.outbox[0].to == [ZOE]
    assert "ZOE-8mm2-31cd" in mail.outbox[0].body


def test_matrix_id_reads_back_to_the_nfc_address():
    user_id = email_to_user_id(JOSE_DECOMPOSED, "lpc.events")
    assert user_id == "@jos=c3=a9=40example.org:lpc.events"  # the example in docs/matrix.md
    assert user_id_to_email(user_id) == JOSE == normalise_email(JOSE_DECOMPOSED)


def test_schedule_speakers_and_moderators_may_have_internationalised_addresses(tmp_path):
    (tmp_path / "rooms").write_text(f"Hall A::private:hall-a:moderators={ZOE}\n", encoding="utf-8")
    (tmp_path / "tracks").write_text("Kernel:#1f6feb:kernel\n", encoding="utf-8")
    (tmp_path / "conf.schedule").write_text(
        "conference: Test Conf\ntimezone: Europe/Dublin\nrooms: rooms\ntracks: tracks\n\nday 2026-10-26 Monday\n"
        f"09:00-09:30 | Hall A | Kernel | Unicode everywhere | Zoë Åberg <{unicodedata.normalize('NFD', ZOE)}>\n",
        encoding="utf-8",
    )
    code, out, err = run_import(str(tmp_path / "conf.schedule"))
    assert code == 0, out + err
    talk = Talk.objects.get()
    assert talk.speaker_emails == [ZOE]
    assert talk.room.moderator_emails == [ZOE]


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_login_in_chromium_with_an_internationalised_address(new_page, live_server):
    page = new_page(viewport={"width": 360, "height": 640})
    user = factories.browser_login(page, live_server, ZOE, "ZOE-8mm2-31cd", first_name="Zoë", last_name="Åberg")
    assert user.get_username() == ZOE
    assert page.get_by_text("Zoë Åberg").count() >= 1
    assert User.objects.filter(username=ZOE).count() == 1


def test_an_organiser_saves_a_person_with_an_internationalised_address_in_the_admin(client, registered):
    client.force_login(accounts.sync_user("orla@example.org", "Orla", "Organiser", "organiser"))  # as login does
    zoe = User.objects.create_user(username=ZOE, email=ZOE, first_name="Zoë", last_name="Åberg")
    url = reverse("admin:auth_user_change", args=[zoe.pk])
    form = client.get(url)
    assert form.status_code == 200 and ZOE in form.content.decode()
    answer = client.post(
        url,
        {
            "username": ZOE,
            "first_name": "Zoë",
            "last_name": "Åberg-Lind",
            "is_active": "on",
            "last_login_0": "",
            "last_login_1": "",
            "date_joined_0": "2026-10-01",
            "date_joined_1": "09:00:00",
        },
    )
    assert answer.status_code == 302, answer.context["adminform"].form.errors
    zoe.refresh_from_db()
    assert (zoe.email, zoe.last_name) == (ZOE, "Åberg-Lind")


@pytest.mark.ldap
def test_ldap_login_with_an_internationalised_address_is_an_ordinary_refusal(ldap_directory, client):
    # The standard schema cannot hold such an address, so nobody has it: a wrong-code answer, not an outage.
    answer = client.post(reverse("login"), {"email": JOSE, "regcode": "JOS-4kq1-77ab"})
    assert answer.status_code == 200
    assert "do not match" in answer.content.decode()
