"""manage.py import_attendees into a real slapd and into the local attendee table."""

import io
import subprocess
import time
from pathlib import Path

import ldap
import ldap.dn
import pytest
from django.contrib.auth import authenticate
from django.core.management import CommandError, call_command

from sessions import directory
from sessions.models import Attendee, SealedRegcode
from tests.fixtures.slapd import SLAPPASSWD, free_port

pytestmark = pytest.mark.django_db

GOOD = [
    "Ada\tLovelace\tADA-7cq3-93kd\tada@example.org\tattendee",
    "Grace\tHopper\tGRC-2mx8-41pz\tgrace@example.org\tspeaker",
    "Orla\tNí Bhriain\tORL-9ve1-50qa\torla@example.org\tOrganizer",
    "Linus\tPlumber\tLIN-8zz0-27rt\tLinus@Example.org ",
    "\tMononym\tMON-1111-abcd\tmono@example.org",
]


@pytest.fixture(params=[pytest.param("ldap", marks=pytest.mark.ldap), "local"])
def target(request, settings):
    """Where the import writes: the test's own slapd branch, or the local table."""
    if request.param == "ldap":
        return request.getfixturevalue("ldap_directory")
    return None


def run(path: Path, *args: str) -> tuple[str, str]:
    out, err = io.StringIO(), io.StringIO()
    call_command("import_attendees", str(path), "--no-progress", *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def write(tmp_path: Path, lines: list[str], name: str = "attendees.tsv") -> Path:
    path = tmp_path / name
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def can_log_in(email: str, code: str) -> bool:
    return authenticate(None, email=email, password=code) is not None


def test_good_file_is_imported_and_people_can_log_in(tmp_path, target):
    out, err = run(write(tmp_path, ["first name\tlast name\tregcode\temail\trole", *GOOD]))
    assert "6 line(s) read, header skipped" in out
    assert "added 5, updated 0, unchanged 0, rejected 0" in out
    assert err == ""
    assert can_log_in("ada@example.org", "ADA-7cq3-93kd")
    assert can_log_in("linus@example.org", "LIN-8zz0-27rt")
    orla = authenticate(None, email="orla@example.org", password="ORL-9ve1-50qa")
    assert orla.is_staff and orla.last_name == "Ní Bhriain"  # "Organizer" is accepted for organiser
    assert authenticate(None, email="mono@example.org", password="MON-1111-abcd").get_full_name() == "Mononym"
    # Copies for "email me my code again" are sealed, not stored in clear.
    copy = SealedRegcode.objects.get(email="ada@example.org")
    assert "ADA-7cq3-93kd" not in copy.sealed and directory.unseal(copy.sealed) == "ADA-7cq3-93kd"


def test_every_kind_of_bad_line_is_reported_with_number_and_reason(tmp_path, target):
    lines = [
        "first name\tlast name\tregcode\temail\trole",  # 1: header
        GOOD[0],  # 2
        "Only\tThree\tfields-here",  # 3: missing field
        "A\tB\tCODE-1234\ta@example.org\tspeaker\textra",  # 4: too many fields
        "A\tB\tCODE-1234\t\tspeaker",  # 5: missing email
        "A\tB\t\tb@example.org",  # 6: missing regcode
        "\t\tCODE-1234\tc@example.org",  # 7: missing name
        "A\tB\tCODE-1234\td@example",  # 8: invalid email
        "A\tB\tb@example.org\tSECRET-9999",  # 9: columns swapped: must not echo the code
        "A\tB\tabc\te@example.org",  # 10: regcode too short
        "A\tB\tCODE 1234\tf@example.org",  # 11: regcode with a space
        "A\tB\tCODE-1234\tg@example.org\tkeynoter",  # 12: unknown role
        "Dup\tOne\tDUP-1111-aaaa\tdup@example.org",  # 13: duplicate, different code
        "Dup\tTwo\tDUP-2222-bbbb\tDUP@example.org",  # 14: duplicate, different code
        "Ada\tLovelace\tADA-7cq3-93kd\t ada@example.org",  # 15: duplicate of line 2, same code
        "Bad\x07Bell\tB\tCODE-1234\th@example.org",  # 16: control character
        "X" * 151 + "\tB\tCODE-1234\ti@example.org",  # 17: name too long
        "",  # blank: skipped
        "# a comment line is skipped",
        GOOD[1],  # 20
    ]
    out, err = run(write(tmp_path, lines))
    assert "added 2, updated 0, unchanged 0, rejected 15" in out
    expected = {
        3: "missing field: expected first name, last name, regcode, email[, role] separated by tabs, found 3",
        4: "too many fields: expected 4 or 5, found 6",
        5: "missing field: email (field 4)",
        6: "missing field: regcode (field 3)",
        7: "missing field: name (first or last name",
        8: "invalid email address 'd@example'",
        9: "field 4 is not an email address (is the column order",
        10: "regcode is shorter than 4 characters",
        11: "regcode contains spaces or control characters",
        12: "unknown role 'keynoter' (use attendee, speaker, moderator or organiser)",
        13: "duplicate email 'dup@example.org' with a different regcode (lines 13, 14)",
        14: "duplicate email 'dup@example.org' with a different regcode (lines 13, 14)",
        15: "duplicate of line 2 (same email and regcode)",
        16: "first name contains control characters",
        17: "first name is longer than 150 characters",
    }
    for number, reason in expected.items():
        assert f"attendees.tsv line {number}: {reason}" in err, number
    assert "SECRET-9999" not in out + err and "DUP-1111" not in out + err
    assert can_log_in("ada@example.org", "ADA-7cq3-93kd")
    assert can_log_in("grace@example.org", "GRC-2mx8-41pz")
    assert not can_log_in("dup@example.org", "DUP-1111-aaaa")
    assert not can_log_in("dup@example.org", "DUP-2222-bbbb")
    assert not can_log_in("g@example.org", "CODE-1234")


def test_reimport_is_idempotent(tmp_path, target):
    path = write(tmp_path, GOOD)
    run(path)
    before = stored_hashes(target)
    out, _err = run(path)
    assert "added 0, updated 0, unchanged 5, rejected 0" in out
    assert stored_hashes(target) == before  # not even re-salted


def stored_hashes(target) -> dict[str, str]:
    if target is None:
        return dict(Attendee.objects.values_list("email", "regcode_hash"))
    conn = target.server.connect()
    try:
        query = "(&(objectClass=inetOrgPerson)(mail=*))"
        found = conn.search_s(target.people, ldap.SCOPE_ONELEVEL, query, ["mail", "userPassword"])
    finally:
        conn.unbind_s()
    return {attrs["mail"][0].decode(): attrs["userPassword"][0].decode() for _dn, attrs in found}


def test_reimport_updates_what_changed(tmp_path, target):
    run(write(tmp_path, GOOD))
    changed = [
        "Ada\tKing\tADA-7cq3-93kd\tada@example.org",  # new last name, no role: keeps attendee
        "Grace\tHopper\tGRC-NEW-CODE\tgrace@example.org",  # new code, no role: stays a speaker
        "Orla\tNí Bhriain\tORL-9ve1-50qa\torla@example.org\tattendee",  # explicit demotion
        GOOD[3],
        "New\tPerson\tNEW-3333-cccc\tnew@example.org",
    ]
    out, _err = run(write(tmp_path, changed, "second.tsv"))
    assert "added 1, updated 3, unchanged 1, rejected 0" in out
    assert authenticate(None, email="ada@example.org", password="ADA-7cq3-93kd").last_name == "King"
    assert not can_log_in("grace@example.org", "GRC-2mx8-41pz")
    grace = authenticate(None, email="grace@example.org", password="GRC-NEW-CODE")
    assert grace.groups.filter(name="speaker").exists()
    assert not authenticate(None, email="orla@example.org", password="ORL-9ve1-50qa").is_staff
    assert can_log_in("new@example.org", "NEW-3333-cccc")
    assert directory.unseal(SealedRegcode.objects.get(email="grace@example.org").sealed) == "GRC-NEW-CODE"


def test_people_missing_from_a_later_file_are_kept(tmp_path, target):
    run(write(tmp_path, GOOD))
    run(write(tmp_path, GOOD[:1], "partial.tsv"))
    assert can_log_in("grace@example.org", "GRC-2mx8-41pz")


def test_header_only_recognised_on_the_first_line(tmp_path, target):
    out, err = run(write(tmp_path, [GOOD[0], "first\tlast\tcode\temail"]))
    assert "header skipped" not in out
    assert "line 2: field 4 is not an email address" in err


def test_dry_run_writes_nothing(tmp_path, target):
    out, _err = run(write(tmp_path, GOOD), "--dry-run")
    assert "Dry run, nothing written. Would have: added 5, updated 0, unchanged 0, rejected 0" in out
    assert not can_log_in("ada@example.org", "ADA-7cq3-93kd")
    assert not SealedRegcode.objects.exists()


def test_not_utf8_is_fatal_and_names_the_line(tmp_path, target):
    path = tmp_path / "latin1.tsv"
    path.write_bytes("\n".join([GOOD[0], "Zoë\tBrontë\tZOE-1234-abcd\tzoe@example.org"]).encode("latin-1"))
    with pytest.raises(CommandError, match=r"latin1.tsv line 2: not UTF-8 text.*Nothing was imported"):
        run(path)
    assert not can_log_in("ada@example.org", "ADA-7cq3-93kd")


def test_comma_separated_file_is_fatal(tmp_path, target):
    path = write(tmp_path, ["Ada,Lovelace,ADA-7cq3-93kd,ada@example.org"], "people.csv")
    with pytest.raises(CommandError, match="no line contains a tab"):
        run(path)


def test_missing_file_is_fatal(tmp_path, target):
    with pytest.raises(CommandError, match="cannot read the file"):
        run(tmp_path / "nope.tsv")


def test_utf8_bom_and_crlf_are_accepted(tmp_path, target):
    path = tmp_path / "excel.tsv"
    path.write_bytes(b"\xef\xbb\xbf" + "\r\n".join(GOOD).encode() + b"\r\n")
    out, err = run(path)
    assert "added 5," in out and err == ""
    assert can_log_in("orla@example.org", "ORL-9ve1-50qa")


def test_no_regcode_in_the_output_or_logs(tmp_path, target, caplog):
    with caplog.at_level("DEBUG"):
        out, err = run(write(tmp_path, [*GOOD, "A\tB\tSHORT\tnot-an-email"]))
        out2, err2 = run(write(tmp_path, GOOD))
    for code in ("ADA-7cq3-93kd", "GRC-2mx8-41pz", "ORL-9ve1-50qa", "LIN-8zz0-27rt", "MON-1111-abcd", "SHORT"):
        assert code not in out + err + out2 + err2 + caplog.text


# --- LDAP specifics ------------------------------------------------------------------------------


@pytest.mark.ldap
def test_ldap_entries_are_inetorgperson_with_hashed_code(tmp_path, ldap_directory):
    run(write(tmp_path, GOOD))
    dn, attrs = ldap_directory.entry("orla@example.org")
    assert dn == f"mail=orla@example.org,{ldap_directory.people}"
    assert b"inetOrgPerson" in attrs["objectClass"]
    assert attrs["userPassword"][0].startswith(b"{SSHA}")
    assert b"ORL-9ve1-50qa" not in attrs["userPassword"][0]
    assert attrs["cn"] == ["Orla Ní Bhriain".encode()]
    assert (attrs["givenName"], attrs["sn"], attrs["employeeType"]) == (
        [b"Orla"],
        ["Ní Bhriain".encode()],
        [b"organiser"],
    )
    mono = ldap_directory.entry("mono@example.org")[1]
    assert "givenName" not in mono and mono["sn"] == [b"Mononym"]
    # The directory itself accepts the code (a bind as the entry).
    conn = ldap.initialize(ldap_directory.server.uri)
    conn.simple_bind_s(dn, "ORL-9ve1-50qa")
    conn.unbind_s()


@pytest.mark.ldap
def test_ldap_plus_tag_address_is_escaped_in_the_dn(tmp_path, ldap_directory):
    run(write(tmp_path, ["Ada\tTagged\tTAG-4hh2-18wn\tada+lpc@example.org"]))
    dn, _attrs = ldap_directory.entry("ada+lpc@example.org")
    # One RDN, mail=ada+lpc@example.org: the "+" is escaped, not read as a second RDN part.
    assert ldap.dn.str2dn(dn)[0] == [("mail", "ada+lpc@example.org", 1)]
    assert can_log_in("ada+lpc@example.org", "TAG-4hh2-18wn")


@pytest.mark.ldap
def test_ldap_sha512_scheme(tmp_path, ldap_directory, settings):
    settings.LDAP_PASSWORD_SCHEME = "ssha512"
    run(write(tmp_path, GOOD[:1]))
    assert ldap_directory.entry("ada@example.org")[1]["userPassword"][0].startswith(b"{SSHA512}")
    assert can_log_in("ada@example.org", "ADA-7cq3-93kd")
    settings.LDAP_PASSWORD_SCHEME = "ssha"
    out, _err = run(write(tmp_path, GOOD[:1]))
    assert "unchanged 1" in out  # the code still matches: no churn when the scheme setting changes


@pytest.mark.ldap
def test_ldap_entry_with_a_hash_we_cannot_read_is_checked_by_bind(tmp_path, ldap_directory):
    crypt = subprocess.run(
        [SLAPPASSWD, "-h", "{CRYPT}", "-c", "$6$%.16s", "-s", "ADA-7cq3-93kd"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()
    conn = ldap_directory.server.connect()
    conn.add_s(
        f"uid=ada,{ldap_directory.people}",  # made by another tool, with its own DN layout
        [
            ("objectClass", [b"inetOrgPerson"]),
            ("uid", [b"ada"]),
            ("cn", [b"Ada Lovelace"]),
            ("sn", [b"Lovelace"]),
            ("givenName", [b"Ada"]),
            ("mail", [b"Ada@Example.org"]),
            ("employeeType", [b"attendee"]),
            ("userPassword", [crypt.encode()]),
        ],
    )
    conn.unbind_s()
    out, _err = run(write(tmp_path, GOOD[:1]))
    assert "added 0, updated 0, unchanged 1" in out
    out, _err = run(write(tmp_path, ["Ada\tLovelace\tADA-NEW-CODE\tada@example.org"], "new.tsv"))
    assert "updated 1" in out
    assert ldap_directory.entry("ada@example.org")[0] == f"uid=ada,{ldap_directory.people}"
    assert can_log_in("ada@example.org", "ADA-NEW-CODE")


@pytest.mark.ldap
def test_ldap_two_entries_with_one_address_are_rejected(tmp_path, ldap_directory):
    conn = ldap_directory.server.connect()
    for uid in (b"one", b"two"):
        conn.add_s(
            f"uid={uid.decode()},{ldap_directory.people}",
            [("objectClass", [b"inetOrgPerson"]), ("uid", [uid]), ("cn", [b"X"]), ("sn", [b"X"]),
             ("mail", [b"twin@example.org"])],
        )  # fmt: skip
    conn.unbind_s()
    _out, err = run(write(tmp_path, ["Twin\tX\tTWN-1234-abcd\ttwin@example.org"]))
    assert "line 1: the directory holds 2 entries with this address" in err
    assert not can_log_in("twin@example.org", "TWN-1234-abcd")


@pytest.mark.ldap
def test_ldap_unreachable_is_fatal_and_nothing_is_written(tmp_path, ldap_directory, settings):
    settings.LDAP_URI = f"ldap://127.0.0.1:{free_port()}/"
    with pytest.raises(CommandError, match="Cannot write to the directory: ldap://127.0.0.1.*Nothing was imported"):
        run(write(tmp_path, GOOD))
    assert not SealedRegcode.objects.exists()


@pytest.mark.ldap
def test_ldap_wrong_admin_password_is_fatal(tmp_path, ldap_directory, settings):
    settings.LDAP_ADMIN_PASSWORD = "not-it"
    with pytest.raises(CommandError, match="refused the bind as"):
        run(write(tmp_path, GOOD))


@pytest.mark.ldap
def test_ldap_failure_mid_import_undoes_this_runs_writes(tmp_path, ldap_directory):
    run(write(tmp_path, GOOD[:2]))
    before = stored_hashes(ldap_directory)
    # An entry the import cannot see (not an inetOrgPerson) sits where a new person's entry would go.
    conn = ldap_directory.server.connect()
    conn.add_s(
        f"mail=blocker@example.org,{ldap_directory.people}",
        [("objectClass", [b"organizationalRole", b"extensibleObject"]), ("cn", [b"blocker"]),
         ("mail", [b"blocker@example.org"])],
    )  # fmt: skip
    conn.unbind_s()
    lines = [
        "Ada\tKing\tADA-NEW-CODE\tada@example.org",  # an update, written first
        "Zed\tNew\tZED-1234-abcd\tzed@example.org",  # an add, written second
        "Blocker\tB\tBLK-1234-abcd\tblocker@example.org",  # fails: the DN exists
    ]
    with pytest.raises(CommandError, match="Already exists, adding mail=blocker.*this run's changes were undone"):
        run(write(tmp_path, lines, "third.tsv"))
    assert stored_hashes(ldap_directory) == before
    assert ldap_directory.entry("zed@example.org") is None
    assert ldap_directory.entry("ada@example.org")[1]["sn"] == [b"Lovelace"]
    assert can_log_in("ada@example.org", "ADA-7cq3-93kd")
    assert not SealedRegcode.objects.filter(email="zed@example.org").exists()


@pytest.mark.ldap
def test_roles_are_not_written_without_a_role_attribute(tmp_path, ldap_directory, settings):
    settings.LDAP_ROLE_ATTR = ""
    _out, err = run(write(tmp_path, GOOD))
    assert "Roles in the file were not written: LDAP_ROLE_ATTR is empty" in err
    assert "employeeType" not in ldap_directory.entry("orla@example.org")[1]


# --- Size ---------------------------------------------------------------------------------------


def test_five_thousand_rows_in_seconds(tmp_path, target):
    lines = [f"First{n}\tLast{n}\tCODE-{n:05d}-x{n * 7919 % 10007:05d}\tperson{n}@example.org" for n in range(5000)]
    path = write(tmp_path, lines, "big.tsv")
    start = time.monotonic()
    out, _err = run(path)
    first = time.monotonic() - start
    assert "added 5000, updated 0, unchanged 0, rejected 0" in out
    start = time.monotonic()
    out, _err = run(path)
    second = time.monotonic() - start
    assert "added 0, updated 0, unchanged 5000, rejected 0" in out  # every entry found again (paged)
    print(f"5,000 rows ({'LDAP' if target else 'local'}): first import {first:.1f} s, re-import {second:.1f} s")
    assert first < 30 and second < 30
    assert can_log_in("person4999@example.org", "CODE-04999-x" + f"{4999 * 7919 % 10007:05d}")
    if target is not None:
        assert target.count() == 5000
