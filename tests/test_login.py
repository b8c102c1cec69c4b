"""Login with email + regcode through the real form, against a real slapd and the local table.

Attendees are imported with `manage.py import_attendees`, exactly as organisers do it.
Personas: Ada (attendee), Grace (speaker), Orla (organiser), and a guest in test_guest_mode.py.
"""

import logging
import socket
import statistics
import threading
import time
from importlib import import_module
from pathlib import Path

import pytest
from django.contrib.auth.models import User
from django.contrib.sessions.backends.base import UpdateError
from django.core import mail
from django.core.cache import cache
from django.core.management import call_command
from django.core.management.base import CommandError
from django.urls import reverse

from sessions import directory
from sessions.people import viewer_for
from tests.fixtures.slapd import free_port

PEOPLE = {
    "ada@example.org": ("Ada", "Lovelace", "ADA-7cq3-93kd", "attendee"),
    "grace@example.org": ("Grace", "Hopper", "GRC-2mx8-41pz", "speaker"),
    "orla@example.org": ("Orla", "Ní Bhriain", "ORL-9ve1-50qa", "organiser"),
    # Registered with a +tag: only that exact address finds this entry.
    "ada+lpc@example.org": ("Ada", "Tagged", "TAG-4hh2-18wn", "attendee"),
    "linus@example.org": ("Linus", "Plumber", "LIN-8zz0-27rt", ""),
}
CODES = [code for _f, _l, code, _r in PEOPLE.values()]


def write_people(path: Path) -> Path:
    lines = ["first name\tlast name\tregcode\temail\trole"]
    lines += [f"{f}\t{l}\t{c}\t{e}\t{r}" for e, (f, l, c, r) in PEOPLE.items()]  # noqa: E741
    path.write_text("\n".join(lines) + "\n")
    return path


pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def fresh_cache(db):
    cache.clear()  # throttles live in the shared cache, which outlives a test's transaction
    yield
    cache.clear()


@pytest.fixture(params=[pytest.param("ldap", marks=pytest.mark.ldap), "local"])
def registered(request, tmp_path, settings, db):
    """The personas imported with the command into slapd (ldap) or the local table (local)."""
    if request.param == "ldap":
        request.getfixturevalue("ldap_directory")
    call_command("import_attendees", str(write_people(tmp_path / "people.tsv")), "--no-progress")
    return request.param


def log_in(client, email: str, code: str, **extra):
    return client.post(reverse("login"), {"email": email, "regcode": code}, **extra)


def logged_in_as(client) -> str | None:
    response = client.get(reverse("profile"))
    if response.status_code != 200:
        return None
    return response.wsgi_request.user.get_username()


def test_everyone_registered_is_listed_for_matrix_provisioning(registered):
    from chat_embed.provisioning import attendees_for_provisioning

    listed = {person.email: person for person in directory.all_people()}
    assert set(listed) == set(PEOPLE)
    assert listed["ada@example.org"].full_name == "Ada Lovelace"
    roles = {email: role for email, (_f, _l, _c, role) in PEOPLE.items() if role}
    assert all(listed[email].role == role for email, role in roles.items())
    # Nobody has logged in yet: provisioning still covers every registered person.
    assert {p.email for p in attendees_for_provisioning()} >= set(PEOPLE)


@pytest.mark.ldap
def test_provisioning_lists_attendees_past_the_directory_size_limit(ldap_directory, settings):
    from tests.fixtures.slapd import LIMITED_READER_DN

    conn = ldap_directory.server.connect()
    try:
        for i in range(600):  # more than slapd's default size limit of 500, and than one page
            conn.add_s(
                f"mail=p{i}@example.org,{ldap_directory.people}",
                [
                    ("objectClass", [b"inetOrgPerson"]),
                    ("cn", [b"P"]),
                    ("sn", [str(i).encode()]),
                    ("mail", [f"p{i}@example.org".encode()]),
                ],
            )
    finally:
        conn.unbind_s()
    assert len({person.email for person in directory.all_people()}) == 600
    # A service account still at the default limit: the message says what to change.
    settings.LDAP_BIND_DN = LIMITED_READER_DN
    with pytest.raises(directory.DirectoryUnavailable) as refused:
        directory.all_people()
    assert "after 500 entries" in refused.value.detail and "size.prtotal=unlimited" in refused.value.detail
    with pytest.raises(CommandError, match="could not be read: the directory stopped listing attendees after 500"):
        call_command("provision_matrix", "--dry-run")


def test_right_code_logs_in_with_name_and_role(client, registered):
    response = log_in(client, "ada@example.org", "ADA-7cq3-93kd")
    assert response.status_code == 302
    assert response["Location"] == reverse("now")
    user = User.objects.get(username="ada@example.org")
    assert (user.first_name, user.last_name, user.email) == ("Ada", "Lovelace", "ada@example.org")
    assert not user.has_usable_password()
    page = client.get(reverse("profile"))
    assert page.status_code == 200
    assert "Ada Lovelace" in page.content.decode()
    assert viewer_for(page.wsgi_request).role == "attendee"


@pytest.mark.parametrize(
    ("email", "code", "role", "staff"),
    [
        ("grace@example.org", "GRC-2mx8-41pz", "speaker", False),
        ("orla@example.org", "ORL-9ve1-50qa", "organiser", True),
        ("linus@example.org", "LIN-8zz0-27rt", "attendee", False),
    ],
)
def test_roles_come_from_the_directory(client, registered, email, code, role, staff):
    assert log_in(client, email, code).status_code == 302
    page = client.get(reverse("profile"))
    assert viewer_for(page.wsgi_request).role == role
    assert User.objects.get(username=email).is_staff is staff


def test_organiser_can_use_the_admin(client, registered):
    log_in(client, "orla@example.org", "ORL-9ve1-50qa")
    assert client.get(reverse("admin:index")).status_code == 200
    assert client.get(reverse("admin:lpc_sessions_guestmode_changelist")).status_code == 200
    assert client.get(reverse("admin:auth_user_changelist")).status_code == 200


def test_wrong_code_is_refused_and_not_shown_back(client, registered):
    response = log_in(client, "ada@example.org", "ADA-7cq3-WRONG")
    assert response.status_code == 200
    body = response.content.decode()
    assert "do not match" in body
    assert "ADA-7cq3-WRONG" not in body
    assert 'name="regcode"' in body and 'value="ADA' not in body
    assert 'value="ada@example.org"' in body  # the address is kept, the code is not
    assert logged_in_as(client) is None


def test_unknown_email_gets_the_same_answer_as_a_wrong_code(client, registered):
    wrong = log_in(client, "ada@example.org", "nope-nope-1")
    unknown = log_in(client, "nobody@example.org", "nope-nope-1")
    assert wrong.status_code == unknown.status_code == 200

    def errors(response) -> str:
        return response.content.decode().split('class="form-errors"')[1].split("</div>")[0]

    assert errors(wrong) == errors(unknown)
    assert logged_in_as(client) is None


def paired_timing(measure, first: str, second: str, rounds: int) -> tuple[float, float]:
    """(typical cost of `first`, typical extra cost of `second`) from alternating runs.

    Each pair runs back to back, so the load of a busy machine hits both alike; medians ignore
    the odd stall.
    """
    measure(first)  # warm up
    firsts, gaps = [], []
    for _ in range(rounds):
        a = measure(first)
        b = measure(second)
        firsts.append(a)
        gaps.append(b - a)
    return statistics.median(firsts), statistics.median(gaps)


def test_unknown_email_takes_about_as_long_as_a_wrong_code(client, registered, settings):
    settings.LOGIN_SLOW_AFTER = settings.LOGIN_LOCK_AFTER = settings.LOGIN_IP_SLOW_AFTER = 1000
    settings.LOGIN_IP_LOCK_AFTER = 1000

    def duration(email: str) -> float:
        start = time.perf_counter()
        log_in(client, email, "wrong-code-123")
        return time.perf_counter() - start

    wrong, gap = paired_timing(duration, "ada@example.org", "nobody@example.org", 25)
    assert abs(gap) < max(0.25 * wrong, 0.002), (wrong, gap)


def test_unknown_email_does_the_same_directory_work(registered, monkeypatch):
    # Deterministic: one regcode hash (local) or one bind besides the service bind (LDAP) either way.
    import hashlib

    import ldap.ldapobject
    from django.contrib.auth import authenticate

    calls = []
    real_pbkdf2, real_bind = hashlib.pbkdf2_hmac, ldap.ldapobject.SimpleLDAPObject.simple_bind_s
    monkeypatch.setattr(hashlib, "pbkdf2_hmac", lambda *a, **k: calls.append("hash") or real_pbkdf2(*a, **k))
    monkeypatch.setattr(
        ldap.ldapobject.SimpleLDAPObject,
        "simple_bind_s",
        lambda self, *a, **k: calls.append("bind") or real_bind(self, *a, **k),
    )

    def work(email: str) -> list[str]:
        calls.clear()
        assert authenticate(None, email=email, password="wrong-code-123") is None
        return sorted(calls)

    assert work("ada@example.org") == work("nobody@example.org")
    assert work("nobody@example.org") == (["bind", "bind"] if registered == "ldap" else ["hash"])


@pytest.mark.parametrize("typed", ["  Ada@Example.ORG ", "ADA@EXAMPLE.ORG", "\tada@example.org\n"])
def test_case_and_whitespace_do_not_matter(client, registered, typed):
    assert log_in(client, typed, "ADA-7cq3-93kd").status_code == 302
    assert logged_in_as(client) == "ada@example.org"


def test_code_surrounding_whitespace_is_ignored_but_case_matters(client, registered):
    assert log_in(client, "ada@example.org", "ada-7CQ3-93KD").status_code == 200
    assert log_in(client, "ada@example.org", " ADA-7cq3-93kd ").status_code == 302


def test_plus_tag_exact_entry_wins(client, registered):
    # ada+lpc@ is registered itself: its own code works, Ada's plain code does not.
    assert log_in(client, "ada+lpc@example.org", "ADA-7cq3-93kd").status_code == 200
    assert log_in(client, "ada+lpc@example.org", "TAG-4hh2-18wn").status_code == 302
    assert logged_in_as(client) == "ada+lpc@example.org"


def test_plus_tag_falls_back_to_the_plain_address(client, registered):
    # grace+conf@ is not registered: it finds grace@, and the Django user is the registered address.
    assert log_in(client, "Grace+Conf@example.org", "GRC-2mx8-41pz").status_code == 302
    assert logged_in_as(client) == "grace@example.org"
    assert not User.objects.filter(username__contains="+conf").exists()


def test_plain_address_does_not_find_a_tagged_registration(client, registered, settings, tmp_path):
    # Only tagged registrations exist for this person: the plain address must not guess a tag.
    (tmp_path / "tagged.tsv").write_text("Tag\tOnly\tTGO-1234-abcd\ttag+only@example.org\n")
    call_command("import_attendees", str(tmp_path / "tagged.tsv"), "--no-progress")
    assert log_in(client, "tag@example.org", "TGO-1234-abcd").status_code == 200
    assert log_in(client, "tag+only@example.org", "TGO-1234-abcd").status_code == 302


def test_session_lasts_login_session_hours(client, registered, settings):
    log_in(client, "ada@example.org", "ADA-7cq3-93kd")
    assert client.session.get_expiry_age() == settings.SESSION_COOKIE_AGE
    assert settings.SESSION_COOKIE_AGE == 24 * 7 * 3600  # LOGIN_SESSION_HOURS default


def test_logout_needs_post_and_ends_the_session(client, registered):
    log_in(client, "ada@example.org", "ADA-7cq3-93kd")
    assert client.get(reverse("logout")).status_code == 405
    assert logged_in_as(client) == "ada@example.org"
    response = client.post(reverse("logout"))
    assert response.status_code == 302
    assert logged_in_as(client) is None


def test_two_requests_of_one_browser_keep_each_others_session_changes(client, registered, settings):
    """Each request loads the session, changes it and saves it: the one saving last keeps what the
    other changed (removals too), and cannot bring back a session that was logged out meanwhile."""
    log_in(client, "ada@example.org", "ADA-7cq3-93kd")
    key = client.cookies[settings.SESSION_COOKIE_NAME].value
    store = import_module(settings.SESSION_ENGINE).SessionStore
    seed = store(key)
    seed["note"] = "kept until removed"
    seed.save()
    slow, quick = store(key), store(key)
    assert slow["note"] == quick["note"] == "kept until removed"  # both have loaded
    quick["lpcfe_bbb_join:hall-a"] = "handle-a"
    quick.pop("note")
    quick.save()
    slow["lpcfe_bbb_join:hall-b"] = "handle-b"
    slow.save()
    now = store(key)
    assert now["lpcfe_bbb_join:hall-a"] == "handle-a" and now["lpcfe_bbb_join:hall-b"] == "handle-b"
    assert "note" not in now
    assert logged_in_as(client) == "ada@example.org"

    late = store(key)
    assert late["lpcfe_bbb_join:hall-a"] == "handle-a"
    client.post(reverse("logout"))
    late["lpcfe_bbb_join:hall-c"] = "handle-c"
    with pytest.raises(UpdateError):
        late.save()
    assert not store().exists(key)


def test_login_and_logout_links_in_the_nav(client, registered):
    page = client.get(reverse("login")).content.decode()
    assert f'href="{reverse("login")}"' in page
    log_in(client, "ada@example.org", "ADA-7cq3-93kd")
    page = client.get(reverse("profile")).content.decode()
    assert f'href="{reverse("profile")}">Ada Lovelace</a>' in page
    assert f'action="{reverse("logout")}"' in page


def test_next_is_followed_only_within_the_site(client, registered):
    response = client.post(
        reverse("login"), {"email": "ada@example.org", "regcode": "ADA-7cq3-93kd", "next": "/profile/"}
    )
    assert response["Location"] == "/profile/"
    client.post(reverse("logout"))
    response = client.post(
        reverse("login"), {"email": "ada@example.org", "regcode": "ADA-7cq3-93kd", "next": "https://evil.example/"}
    )
    assert response["Location"] == reverse("now")
    client.post(reverse("logout"))
    response = client.post(
        reverse("login"), {"email": "ada@example.org", "regcode": "ADA-7cq3-93kd", "next": reverse("login")}
    )
    assert response["Location"] == reverse("now")  # never back to the login page


def test_profile_requires_a_login(client, registered):
    response = client.get(reverse("profile"))
    assert response.status_code == 302
    assert response["Location"] == f"{reverse('login')}?next={reverse('profile')}"


def test_csrf_is_enforced_on_login(registered):
    from django.test import Client

    strict = Client(enforce_csrf_checks=True)
    assert log_in(strict, "ada@example.org", "ADA-7cq3-93kd").status_code == 403


# --- Throttling ---------------------------------------------------------------------------------


@pytest.fixture
def fast_throttle(settings):
    settings.LOGIN_SLOW_AFTER = 2
    settings.LOGIN_LOCK_AFTER = 4
    settings.LOGIN_MAX_DELAY_SECONDS = 1
    settings.LOGIN_LOCKOUT_SECONDS = 2
    settings.LOGIN_IP_SLOW_AFTER = 100
    settings.LOGIN_IP_LOCK_AFTER = 100


def test_wrong_codes_are_slowed_then_locked_out_and_the_lockout_expires(client, registered, fast_throttle):
    for _ in range(2):  # free tries
        assert "Please wait" not in log_in(client, "ada@example.org", "wrong-code-1").content.decode()
    third = log_in(client, "ada@example.org", "wrong-code-1")
    assert "Please wait 1 second before trying again" in third.content.decode()
    # Slowed: even the right code is not checked until the wait is over.
    early = log_in(client, "ada@example.org", "ADA-7cq3-93kd")
    assert early.status_code == 429
    assert "Please try again in 1 second" in early.content.decode()
    time.sleep(1.1)
    locked = log_in(client, "ada@example.org", "wrong-code-1")  # 4th wrong code: locked out
    assert "Please wait 2 seconds" in locked.content.decode()
    refused = log_in(client, "ada@example.org", "ADA-7cq3-93kd")
    assert refused.status_code == 429
    assert "Too many wrong codes. Please try again in 2 seconds." in refused.content.decode()
    # Another address from the same client is not affected by Ada's lockout.
    assert log_in(client, "grace@example.org", "GRC-2mx8-41pz").status_code == 302
    client.post(reverse("logout"))
    time.sleep(2.1)
    assert log_in(client, "ada@example.org", "ADA-7cq3-93kd").status_code == 302


def test_unknown_addresses_are_throttled_like_known_ones(client, registered, fast_throttle):
    for email in ("ada@example.org", "nobody@example.org"):
        for _ in range(3):
            log_in(client, email, "wrong-code-1")
        assert log_in(client, email, "wrong-code-1").status_code == 429


def test_lockout_per_client_address_behind_the_proxy_header(client, registered, settings):
    settings.CLIENT_IP_HEADER = "HTTP_X_FORWARDED_FOR"
    settings.LOGIN_IP_SLOW_AFTER = 50
    settings.LOGIN_IP_LOCK_AFTER = 5
    settings.LOGIN_LOCKOUT_SECONDS = 60
    attacker = {"HTTP_X_FORWARDED_FOR": "198.51.100.7, 203.0.113.9"}  # the proxy appended the last one
    for n in range(5):
        log_in(client, f"guess{n}@example.org", "wrong-code-1", **attacker)
    refused = log_in(client, "ada@example.org", "ADA-7cq3-93kd", **attacker)
    assert refused.status_code == 429
    assert "Please try again in 1 minute" in refused.content.decode()
    # A spoofed first entry does not dodge it, and another client is unaffected.
    spoofed = {"HTTP_X_FORWARDED_FOR": "192.0.2.1, 203.0.113.9"}
    assert log_in(client, "ada@example.org", "ADA-7cq3-93kd", **spoofed).status_code == 429
    other = {"HTTP_X_FORWARDED_FOR": "203.0.113.10"}
    assert log_in(client, "ada@example.org", "ADA-7cq3-93kd", **other).status_code == 302


def test_right_code_clears_the_address_count(client, registered, fast_throttle):
    log_in(client, "ada@example.org", "wrong-code-1")
    log_in(client, "ada@example.org", "wrong-code-1")
    assert log_in(client, "ada@example.org", "ADA-7cq3-93kd").status_code == 302
    client.post(reverse("logout"))
    assert "Please wait" not in log_in(client, "ada@example.org", "wrong-code-1").content.decode()


@pytest.fixture
def lock_after_four(settings):
    settings.LOGIN_SLOW_AFTER = 100  # no slowing down: each try is answered at once
    settings.LOGIN_LOCK_AFTER = 4
    settings.LOGIN_LOCKOUT_SECONDS = 60
    settings.LOGIN_IP_SLOW_AFTER = 100
    settings.LOGIN_IP_LOCK_AFTER = 100


def test_plus_tags_bring_no_fresh_tries(client, registered, lock_after_four):
    # Grace is registered as grace@; every tag falls back to her entry, so every tag counts for her.
    for n in range(4):
        log_in(client, f"grace+guess{n}@example.org", "wrong-code-1")
    for typed in ("grace+guess9@example.org", "grace@example.org", "Grace+Other@Example.org"):
        refused = log_in(client, typed, "GRC-2mx8-41pz")
        assert refused.status_code == 429, typed
        assert "Too many wrong codes. Please try again in 1 minute." in refused.content.decode()
    assert logged_in_as(client) is None
    # The address typed is counted too: a locked tag stays locked.
    for _ in range(4):
        log_in(client, "linus+x@example.org", "wrong-code-1")
    assert log_in(client, "linus+x@example.org", "LIN-8zz0-27rt").status_code == 429


def test_a_right_code_through_a_tag_clears_the_persons_count(client, registered, lock_after_four):
    for n in range(3):
        log_in(client, f"grace+guess{n}@example.org", "wrong-code-1")
    assert log_in(client, "grace+ok@example.org", "GRC-2mx8-41pz").status_code == 302
    assert logged_in_as(client) == "grace@example.org"
    client.post(reverse("logout"))
    log_in(client, "grace@example.org", "wrong-code-1")  # the 4th wrong code, had the count been kept
    assert log_in(client, "grace@example.org", "GRC-2mx8-41pz").status_code == 302


def test_a_tagged_registration_does_not_clear_the_plain_addresss_count(client, registered, lock_after_four):
    # ada+lpc@ is a person of its own: logging in as them says nothing about guesses at ada@.
    for _ in range(3):
        log_in(client, "ada@example.org", "wrong-code-1")
    assert log_in(client, "ada+lpc@example.org", "TAG-4hh2-18wn").status_code == 302
    client.post(reverse("logout"))
    log_in(client, "ada@example.org", "wrong-code-1")
    assert log_in(client, "ada@example.org", "ADA-7cq3-93kd").status_code == 429


# --- LDAP unreachable ---------------------------------------------------------------------------


def test_ldap_down_gives_a_clear_message_and_logged_in_people_carry_on(ldap_directory, client, tmp_path, settings):
    call_command("import_attendees", str(write_people(tmp_path / "people.tsv")), "--no-progress")
    assert log_in(client, "ada@example.org", "ADA-7cq3-93kd").status_code == 302

    settings.LDAP_URI = f"ldap://127.0.0.1:{free_port()}/"  # nothing listens there
    assert client.get(reverse("profile")).status_code == 200  # no request after login asks LDAP
    assert client.get(reverse("now")).status_code == 200

    from django.test import Client

    newcomer = Client()
    response = log_in(newcomer, "grace@example.org", "GRC-2mx8-41pz")
    assert response.status_code == 503
    assert "We cannot check your code right now, please try again in a few minutes" in response.content.decode()
    assert logged_in_as(newcomer) is None
    # An outage is not counted as a wrong code.
    settings.LDAP_URI = ldap_directory.server.uri
    assert log_in(newcomer, "grace@example.org", "GRC-2mx8-41pz").status_code == 302


def test_a_hanging_ldap_server_times_out(ldap_directory, client, settings):
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(16)
    accepted = []
    threading.Thread(target=lambda: accepted.append(listener.accept()), daemon=True).start()
    settings.LDAP_URI = f"ldap://127.0.0.1:{listener.getsockname()[1]}/"
    settings.LDAP_TIMEOUT = 1
    try:
        start = time.monotonic()
        response = log_in(client, "ada@example.org", "ADA-7cq3-93kd")
        elapsed = time.monotonic() - start
    finally:
        listener.close()
    assert response.status_code == 503
    assert "cannot check your code right now" in response.content.decode()
    assert elapsed < 4, elapsed


def test_start_tls_with_the_directorys_ca(ldap_directory, client, tmp_path, settings):
    call_command("import_attendees", str(write_people(tmp_path / "people.tsv")), "--no-progress")
    settings.LDAP_START_TLS = True
    settings.LDAP_CA_FILE = ldap_directory.server.ca_file
    assert log_in(client, "ada@example.org", "ADA-7cq3-93kd").status_code == 302


def test_start_tls_refuses_a_certificate_it_cannot_verify(ldap_directory, client, settings):
    settings.LDAP_START_TLS = True
    settings.LDAP_CA_FILE = ""  # the system's CAs do not know the test CA
    response = log_in(client, "ada@example.org", "ADA-7cq3-93kd")
    assert response.status_code == 503
    assert "cannot check your code right now" in response.content.decode()


def test_refused_service_bind_is_an_outage_not_a_wrong_code(ldap_directory, client, settings, caplog):
    settings.LDAP_BIND_PASSWORD = "not-the-reader-password"
    with caplog.at_level(logging.WARNING):
        response = log_in(client, "ada@example.org", "ADA-7cq3-93kd")
    assert response.status_code == 503
    assert "Invalid credentials" in caplog.text  # the log says why


# --- Roles from LDAP groups ---------------------------------------------------------------------


def test_ldap_group_membership_gives_a_role(ldap_directory, client, tmp_path, settings):
    call_command("import_attendees", str(write_people(tmp_path / "people.tsv")), "--no-progress")
    linus_dn = ldap_directory.entry("linus@example.org")[0]
    ldap_directory.add_group("moderators", [linus_dn])
    log_in(client, "linus@example.org", "LIN-8zz0-27rt")
    assert viewer_for(client.get(reverse("profile")).wsgi_request).role == "moderator"
    # Without a role attribute, groups alone decide; the highest role wins.
    settings.LDAP_ROLE_ATTR = ""
    client.post(reverse("logout"))
    log_in(client, "grace@example.org", "GRC-2mx8-41pz")
    assert viewer_for(client.get(reverse("profile")).wsgi_request).role == "attendee"


def test_role_change_in_the_directory_applies_at_next_login(ldap_directory, client, tmp_path):
    call_command("import_attendees", str(write_people(tmp_path / "people.tsv")), "--no-progress")
    log_in(client, "grace@example.org", "GRC-2mx8-41pz")
    (tmp_path / "demote.tsv").write_text("Grace\tHopper\tGRC-2mx8-41pz\tgrace@example.org\tattendee\n")
    call_command("import_attendees", str(tmp_path / "demote.tsv"), "--no-progress")
    assert viewer_for(client.get(reverse("profile")).wsgi_request).role == "speaker"  # kept for this session
    client.post(reverse("logout"))
    log_in(client, "grace@example.org", "GRC-2mx8-41pz")
    assert viewer_for(client.get(reverse("profile")).wsgi_request).role == "attendee"


# --- Revocation by organisers -------------------------------------------------------------------


def test_organiser_ends_a_persons_login_sessions_from_the_admin(registered):
    from django.test import Client

    ada_phone, ada_laptop, orla = Client(), Client(), Client()
    log_in(ada_phone, "ada@example.org", "ADA-7cq3-93kd")
    log_in(ada_laptop, "ada@example.org", "ADA-7cq3-93kd")
    log_in(orla, "orla@example.org", "ORL-9ve1-50qa")
    ada = User.objects.get(username="ada@example.org")
    response = orla.post(
        reverse("admin:auth_user_changelist"),
        {"action": "end_login_sessions", "_selected_action": [ada.pk]},
        follow=True,
    )
    assert response.status_code == 200
    assert "Ended 2 login session(s)" in response.content.decode()
    assert logged_in_as(ada_phone) is None
    assert logged_in_as(ada_laptop) is None
    assert logged_in_as(orla) == "orla@example.org"
    # Ada can log in again afterwards.
    assert log_in(ada_phone, "ada@example.org", "ADA-7cq3-93kd").status_code == 302


# --- Email me my code again ---------------------------------------------------------------------


def test_code_is_mailed_to_the_registered_address_only(client, registered):
    response = client.post(reverse("resend_code"), {"email": " Grace+Typo@Example.org "}, follow=True)
    assert "is registered, its code is on the way" in response.content.decode()
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == ["grace@example.org"]
    assert "GRC-2mx8-41pz" in message.body
    assert "GRC-2mx8-41pz" not in response.content.decode()


def test_code_request_for_unknown_address_answers_the_same_and_sends_nothing(client, registered):
    known = client.post(reverse("resend_code"), {"email": "ada@example.org"}, follow=True)
    unknown = client.post(reverse("resend_code"), {"email": "stranger@example.org"}, follow=True)

    def answer(response) -> str:
        return response.content.decode().split('<ul class="messages">')[1].split("</ul>")[0]

    assert answer(known).replace("ada@example.org", "X") == answer(unknown).replace("stranger@example.org", "X")
    assert [m.to for m in mail.outbox] == [["ada@example.org"]]


def test_code_requests_are_rate_limited(client, registered, settings):
    settings.LOGIN_RESEND_PER_HOUR = 2
    for _ in range(2):
        client.post(reverse("resend_code"), {"email": "ada@example.org"})
    limited = client.post(reverse("resend_code"), {"email": "ada@example.org"})
    assert limited.status_code == 429
    assert "try again in 60 minutes" in limited.content.decode()
    assert len(mail.outbox) == 2
    # Unknown addresses hit the same limit, so the limit reveals nothing either.
    for _ in range(2):
        client.post(reverse("resend_code"), {"email": "stranger@example.org"})
    assert client.post(reverse("resend_code"), {"email": "stranger@example.org"}).status_code == 429


def test_code_requests_with_new_tags_count_for_the_same_person(client, registered, settings):
    settings.LOGIN_RESEND_PER_HOUR = 2
    for n in range(2):
        assert client.post(reverse("resend_code"), {"email": f"grace+mail{n}@example.org"}).status_code == 302
    for typed in ("grace+mail9@example.org", "grace@example.org"):
        assert client.post(reverse("resend_code"), {"email": typed}).status_code == 429, typed
    assert len(mail.outbox) == 2 and {m.to[0] for m in mail.outbox} == {"grace@example.org"}


def test_code_request_while_ldap_is_down(ldap_directory, client, tmp_path, settings):
    call_command("import_attendees", str(write_people(tmp_path / "people.tsv")), "--no-progress")
    settings.LDAP_URI = f"ldap://127.0.0.1:{free_port()}/"
    response = client.post(reverse("resend_code"), {"email": "ada@example.org"})
    assert response.status_code == 503
    assert "We cannot check your code right now" in response.content.decode()
    assert mail.outbox == []


def test_a_stale_code_copy_is_not_mailed(client, registered, tmp_path, caplog):
    # The directory's code changed behind the import's back: never mail a code that no longer works.
    if registered == "ldap":
        from django.conf import settings

        conn = directory.connect(settings.LDAP_ADMIN_DN, settings.LDAP_ADMIN_PASSWORD)
        dn = directory._ldap_find(conn, "ada@example.org")[0]
        conn.modify_s(dn, [(2, "userPassword", [directory.ldap_password_hash("changed-elsewhere").encode()])])
        conn.unbind_s()
    else:
        from sessions.models import Attendee

        Attendee.objects.filter(email="ada@example.org").update(regcode_hash=directory.hash_regcode("changed-x"))
    with caplog.at_level(logging.WARNING):
        client.post(reverse("resend_code"), {"email": "ada@example.org"})
    assert mail.outbox == []
    assert "no longer opens its entry" in caplog.text


# --- Secrets stay secret ------------------------------------------------------------------------


def test_logs_contain_no_regcode(client, registered, caplog, tmp_path, settings):
    settings.LOGIN_SLOW_AFTER = 1
    with caplog.at_level(logging.DEBUG):
        call_command("import_attendees", str(write_people(tmp_path / "again.tsv")), "--no-progress")
        log_in(client, "ada@example.org", "ADA-7cq3-93kd")
        client.post(reverse("logout"))
        log_in(client, "ada@example.org", "wrong-Code-555")
        log_in(client, "ada@example.org", "wrong-Code-555")
        log_in(client, "nobody@example.org", "wrong-Code-555")
        client.post(reverse("resend_code"), {"email": "grace@example.org"})
    assert "Login for ada@example.org from 127.0.0.1 refused" in caplog.text  # the logging did happen
    text = caplog.text + " ".join(str(r.args) for r in caplog.records)
    for code in [*CODES, "wrong-Code-555"]:
        assert code not in text


def test_regcode_never_in_a_url(client, registered):
    # The form posts; a code put in a query string by hand is ignored, not used to log in.
    response = client.get(reverse("login"), {"email": "ada@example.org", "regcode": "ADA-7cq3-93kd"})
    assert response.status_code == 200
    assert "ADA-7cq3-93kd" not in response.content.decode()
    assert logged_in_as(client) is None
    assert 'method="post"' in response.content.decode()


# --- A real browser -----------------------------------------------------------------------------


@pytest.mark.browser
@pytest.mark.ldap
@pytest.mark.django_db(transaction=True)
def test_login_in_chromium_against_slapd(ldap_directory, new_page, live_server, tmp_path):
    call_command("import_attendees", str(write_people(tmp_path / "people.tsv")), "--no-progress")
    page = new_page(timezone_id="Europe/Dublin", viewport={"width": 320, "height": 640})
    page.goto(live_server.url + reverse("profile"))
    assert page.url.endswith(f"{reverse('login')}?next={reverse('profile')}")
    page.get_by_label("Email address").fill("  Orla@Example.org")
    page.get_by_label("Registration code").fill("wrong-code-0")
    page.get_by_role("button", name="Log in").click()
    assert "do not match" in page.locator(".form-errors").inner_text()
    assert page.get_by_label("Registration code").input_value() == ""
    page.get_by_label("Registration code").fill("ORL-9ve1-50qa")
    page.get_by_label("Registration code").press("Enter")
    page.wait_for_url(live_server.url + reverse("profile"))
    assert "Orla Ní Bhriain" in page.locator("main").inner_text()
    assert "Organiser" in page.locator("main").inner_text()
    # Fits a 320 px phone screen without sideways scrolling.
    assert page.evaluate("document.documentElement.scrollWidth") <= 320
    page.locator("header").get_by_role("button", name="Log out").click()
    page.wait_for_url(live_server.url + reverse("login"))
    assert "You have logged out." in page.locator(".messages").inner_text()


# --- Settings -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"LDAP_URI": "ldap://127.0.0.1/"}, "LDAP_URI is set but LDAP_USER_BASE is empty"),
        ({"LDAP_USER_FILTER": "(mail=*)"}, "must contain %(user)s"),
        ({"LDAP_ROLE_GROUPS": "boss=admins"}, "LDAP_ROLE_GROUPS: 'boss=admins' is not role=group"),
        ({"LDAP_GROUP_TYPE": "ad"}, "LDAP_GROUP_TYPE='ad' must be one of"),
        ({"LOGIN_LOCK_AFTER": "0"}, "LOGIN_LOCK_AFTER=0 is below the minimum of 1"),
    ],
)
def test_bad_login_settings_stop_start_up_with_a_clear_message(env, message):
    import os
    import subprocess
    import sys

    result = subprocess.run(
        [sys.executable, "-c", "import lpcfe.settings"],
        env={**os.environ, "SECRET_KEY": "x", "ALLOWED_HOSTS": "localhost", **env},
        capture_output=True,
        text=True,
        cwd=Path(__file__).resolve().parent.parent,
    )
    assert result.returncode != 0
    assert message in result.stderr


def test_backend_follows_ldap_uri():
    import os
    import subprocess
    import sys

    code = "import lpcfe.settings as s; print(s.AUTHENTICATION_BACKENDS[0])"
    base = {**os.environ, "SECRET_KEY": "x", "ALLOWED_HOSTS": "localhost"}
    local = subprocess.run([sys.executable, "-c", code], env=base, capture_output=True, text=True, check=True)
    ldap_env = {**base, "LDAP_URI": "ldap://127.0.0.1/", "LDAP_USER_BASE": "dc=x"}
    remote = subprocess.run([sys.executable, "-c", code], env=ldap_env, capture_output=True, text=True, check=True)
    assert local.stdout.strip() == "sessions.directory.LocalDirectoryBackend"
    assert remote.stdout.strip() == "sessions.directory.LDAPDirectoryBackend"
