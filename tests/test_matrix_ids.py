"""Email → Matrix ID mapping: the spec's `=xx` escaping on the normalised address."""

import re

import pytest
import requests

from chat_embed.ids import (
    MatrixIdError,
    email_localpart,
    email_to_user_id,
    find_collisions,
    is_shortened,
    user_id_to_email,
)

SERVER = "lpcfe.test"
VALID_LOCALPART = re.compile(r"^[a-z0-9._=-]+$")


@pytest.mark.parametrize(
    ("email", "user_id"),
    [
        ("ann.lee@example.org", "@ann.lee=40example.org:lpcfe.test"),
        ("Ann.Lee@Example.ORG", "@ann.lee=40example.org:lpcfe.test"),  # upper case
        ("ann.lee+lpc@example.org", "@ann.lee=2blpc=40example.org:lpcfe.test"),  # +tag
        ("a.b.c.@example.org", "@a.b.c.=40example.org:lpcfe.test"),  # dots stay
        ("josé@example.org", "@jos=c3=a9=40example.org:lpcfe.test"),  # non-ASCII, UTF-8 bytes
        ("ÉLODIE@example.org", "@=c3=a9lodie=40example.org:lpcfe.test"),  # non-ASCII upper case
        ("_admin@example.org", "@=5fadmin=40example.org:lpcfe.test"),  # Synapse refuses a leading _
        ("mid_dle@example.org", "@mid_dle=40example.org:lpcfe.test"),  # other _ are fine
        ("12345@example.org", "@12345=40example.org:lpcfe.test"),  # all digits: never a numeric (guest) ID
        ("a=b@example.org", "@a=3db=40example.org:lpcfe.test"),  # = itself is escaped
        ("o'brien/x@example.org", "@o=27brien=2fx=40example.org:lpcfe.test"),
        ("  padded@example.org \n", "@padded=40example.org:lpcfe.test"),
    ],
)
def test_mapping(email, user_id):
    assert email_to_user_id(email, SERVER) == user_id
    assert VALID_LOCALPART.match(user_id[1 : user_id.index(":")])
    assert user_id_to_email(user_id) == email.strip().lower()


def test_composed_and_decomposed_accents_are_one_person():
    assert email_to_user_id("jose\u0301@example.org", SERVER) == email_to_user_id("jos\u00e9@example.org", SERVER)


def test_very_long_addresses_are_cut_with_a_hash_and_stay_distinct():
    first = "a" * 300 + "@example.org"
    second = "a" * 300 + "b@example.org"
    one, two = email_to_user_id(first, SERVER), email_to_user_id(second, SERVER)
    assert len(one.encode()) == 255 and len(two.encode()) <= 255
    assert one != two
    assert is_shortened(one) and "==" in one
    assert user_id_to_email(one) is None  # not reversible, by design
    # An address whose uncut mapping is exactly the limit is not cut.
    limit = 255 - 2 - len(SERVER)
    exact = "b" * (limit - len("=40x.org")) + "@x.org"
    assert len(email_localpart(exact, SERVER)) == limit and not is_shortened(email_localpart(exact, SERVER))


def test_cut_never_splits_an_escape():
    for pad in range(6):
        localpart = email_localpart("x" * pad + "é" * 200 + "@example.org", SERVER)
        head = localpart[: localpart.index("==")]
        assert re.fullmatch(r"x*(=c3=a9)*", head), head


def test_not_an_address():
    for bad in ("no-at-sign", "@example.org", "someone@"):
        with pytest.raises(MatrixIdError):
            email_to_user_id(bad, SERVER)


def test_collisions_are_found():
    collisions = find_collisions(["Ann@Example.org", "ann@example.org", "bob@example.org"], SERVER)
    assert len(collisions) == 1
    assert collisions[0].user_id == "@ann=40example.org:lpcfe.test"
    assert collisions[0].emails == ("Ann@Example.org", "ann@example.org")
    assert "Ann@Example.org" in collisions[0].describe()


def test_synapse_accepts_every_tricky_id(synapse):
    """The real homeserver takes each mapped ID as a new account."""
    headers = {"Authorization": f"Bearer {synapse.admin_token}"}
    for email in (
        "Ids.Upper@Example.org",
        "ids+tag@example.org",
        "_ids@example.org",
        "98765@ids.example.org",
        "idsé@example.org",
        "i" * 300 + "@ids.example.org",
    ):
        user_id = email_to_user_id(email, synapse.server_name)
        answer = requests.put(
            f"{synapse.url}/_synapse/admin/v2/users/{requests.utils.quote(user_id, safe='')}",
            json={"displayname": email[:40]},
            headers=headers,
            timeout=10,
        )
        assert answer.status_code == 201, (email, answer.text)
