"""The BBB double checks requests the way bbb-web does, enforces createTime and roles, keeps its
state in the database, labels every page, and is mounted only when BBB_SIMULATOR is on."""

import os
import subprocess
import sys
from pathlib import Path

import pytest
import requests
from defusedxml import ElementTree

from bbb_simulator.models import SimApiCall, SimMeeting
from bbb_simulator.views import checksum_is_valid
from sessions import bbb

pytestmark = pytest.mark.django_db(transaction=True)

OFFICIAL_SECRET = "639259d4-9dd8-4b25-bf01-95f9567eaf4b"
OFFICIAL_QUERY = "name=Test+Meeting&meetingID=abc123&attendeePW=111222&moderatorPW=333444"
OFFICIAL_SHA1 = "1fcbb0c4fc1f039f73aa6d697d2db9ba7f803f17"


def _key(url: str) -> tuple[str, str]:
    root = ElementTree.fromstring(requests.get(url, timeout=5).content)
    return root.findtext("returncode"), root.findtext("messageKey") or ""


def test_verifier_reproduces_the_official_vector():
    query = f"{OFFICIAL_QUERY}&checksum={OFFICIAL_SHA1}"
    assert checksum_is_valid("create", query, [OFFICIAL_SHA1], OFFICIAL_SECRET)
    assert checksum_is_valid("create", query, [OFFICIAL_SHA1.upper()], OFFICIAL_SECRET) is False  # raw string differs
    assert not checksum_is_valid("join", query, [OFFICIAL_SHA1], OFFICIAL_SECRET)  # the call name is signed


def test_signed_requests_pass(bbb_double):
    url = bbb_double.signed_url("create", [("meetingID", "m1"), ("name", "Room one")])
    assert _key(url) == ("SUCCESS", "")
    # The checksum may come first: bbb-web cuts "checksum=X&" as well.
    query, digest = url.split("?", 1)[1].rsplit("&checksum=", 1)
    first = f"{bbb_double.api_url}/create?checksum={digest}&{query}"
    assert _key(first) == ("SUCCESS", "duplicateWarning")
    # Hex case does not matter (bbb-web compares ignoring case).
    assert _key(f"{bbb_double.api_url}/create?{query}&checksum={digest.upper()}") == ("SUCCESS", "duplicateWarning")


@pytest.mark.parametrize(
    "tamper",
    [
        pytest.param(lambda q: q.replace("meetingID=m2", "meetingID=m3"), id="changed-param"),
        pytest.param(lambda q: "&".join(reversed(q.split("&"))), id="reordered"),
        pytest.param(lambda q: q + "&record=true", id="extra-param"),
        pytest.param(lambda q: q.replace("name=Room+two", "name=Room%20two"), id="re-encoded"),
    ],
)
def test_tampered_queries_are_refused(bbb_double, tamper):
    url = bbb_double.signed_url("create", [("meetingID", "m2"), ("name", "Room two")])
    query, digest = url.split("?", 1)[1].rsplit("&checksum=", 1)
    tampered = f"{bbb_double.api_url}/create?{tamper(query)}&checksum={digest}"
    assert _key(tampered) == ("FAILED", "checksumError")
    assert not SimMeeting.objects.filter(meeting_id__in=["m2", "m3"]).exists()


def test_missing_doubled_and_odd_length_checksums_are_refused(bbb_double):
    url = bbb_double.signed_url("getMeetings")
    digest = url.rsplit("checksum=", 1)[1]
    assert _key(f"{bbb_double.api_url}/getMeetings") == ("FAILED", "checksumError")
    assert _key(f"{url}&checksum={digest}") == ("FAILED", "checksumError")
    assert _key(f"{bbb_double.api_url}/getMeetings?checksum={digest[:50]}") == ("FAILED", "checksumError")
    assert _key(url) == ("SUCCESS", "noMeetings")


def test_the_call_name_is_part_of_the_signature(bbb_double):
    url = bbb_double.signed_url("getMeetingInfo", [("meetingID", "m1")])
    assert _key(url.replace("/getMeetingInfo?", "/end?")) == ("FAILED", "checksumError")


def test_join_enforces_create_time_and_role(bbb_double):
    created = bbb.create(bbb_double, "m4", "Room four")

    def join(**params):
        params.setdefault("meetingID", "m4")
        params.setdefault("fullName", "Grace")
        params["redirect"] = "false"
        return _key(bbb_double.signed_url("join", list(params.items())))

    assert join(role="VIEWER", createTime=created.create_time - 1) == ("FAILED", "mismatchCreateTimeParam")
    assert join(createTime=created.create_time) == ("FAILED", "invalidPassword")
    assert join(role="OWNER", createTime=created.create_time) == ("FAILED", "invalidPassword")
    assert join(role="moderator", createTime=created.create_time) == ("SUCCESS", "successfullyJoined")
    assert join(meetingID="nope", role="VIEWER") == ("FAILED", "invalidMeetingIdentifier")
    assert join(fullName=" ", role="VIEWER") == ("FAILED", "missingParamFullName")
    bbb.end(bbb_double, "m4")
    assert join(role="VIEWER") == ("FAILED", "meetingForciblyEnded")
    assert [a.role for a in SimMeeting.objects.get(meeting_id="m4").attendees.all()] == ["MODERATOR"]


def test_forged_join_shows_a_labelled_page_and_never_follows_its_redirect(bbb_double):
    bbb.create(bbb_double, "m5", "Room five")
    url = bbb.join_url(
        bbb_double, "m5", "Eve", bbb.VIEWER, user_id="e", create_time=1, error_redirect_url="http://evil.example/"
    )
    forged = url.replace("fullName=Eve", "fullName=Mallory")
    answer = requests.get(forged, timeout=5, allow_redirects=False)
    assert answer.status_code == 200
    assert "BigBlueButton simulator" in answer.text and "checksumError" in answer.text
    assert SimApiCall.objects.filter(call="join", outcome="checksumError").count() == 1


def test_state_lives_in_the_database(bbb_double):
    first = bbb.create(bbb_double, "m6", "Room six")
    assert bbb.create(bbb_double, "m6", "Room six").duplicate
    assert SimMeeting.objects.filter(meeting_id="m6").count() == 1
    assert SimApiCall.objects.filter(call="create", meeting_id="m6").count() == 2
    bbb.end(bbb_double, "m6")
    assert bbb.create(bbb_double, "m6", "Room six").create_time > first.create_time
    assert list(SimMeeting.objects.filter(meeting_id="m6").values_list("ended", flat=True).order_by("pk")) == [
        True,
        False,
    ]


def test_every_page_and_answer_is_labelled(bbb_double, live_server):
    created = bbb.create(bbb_double, "m7", "Room <seven>", disabled_features=["chat"])
    meeting = requests.get(
        bbb.join_url(bbb_double, "m7", "Ada <b>", bbb.VIEWER, user_id="a", create_time=created.create_time),
        timeout=5,
    )
    assert "/bbb-simulator/bigbluebutton/client/?sessionToken=" in meeting.url
    assert "not a real meeting" in meeting.text and meeting.headers["X-BBB-Simulator"] == "lpcfe"
    assert "Ada &lt;b&gt;" in meeting.text and "Room &lt;seven&gt;" in meeting.text
    assert meeting.headers["X-Frame-Options"] == "SAMEORIGIN"
    home = requests.get(live_server.url + "/bbb-simulator/bigbluebutton/", timeout=5)
    assert "BigBlueButton simulator" in home.text and "Room &lt;seven&gt;" in home.text
    api = requests.get(bbb_double.signed_url("getMeetings"), timeout=5)
    assert b"BBB simulator: not a real BigBlueButton server" in api.content
    bad = requests.get(live_server.url + "/bbb-simulator/bigbluebutton/client/?sessionToken=nope", timeout=5)
    assert bad.status_code == 404 and "BigBlueButton simulator" in bad.text


def test_leaving_goes_to_the_logout_url(bbb_double, live_server):
    created = bbb.create(bbb_double, "m8", "Room eight", logout_url=live_server.url + "/bbb-simulator/bigbluebutton/")
    browser = requests.Session()
    page = browser.get(
        bbb.join_url(bbb_double, "m8", "Ada", bbb.VIEWER, user_id="a", create_time=created.create_time), timeout=5
    )
    token = page.url.split("sessionToken=")[1]
    csrf = browser.cookies["csrftoken"]
    left = browser.post(
        live_server.url + "/bbb-simulator/bigbluebutton/client/leave/",
        data={"sessionToken": token, "csrfmiddlewaretoken": csrf},
        headers={"Referer": page.url},
        timeout=5,
        allow_redirects=False,
    )
    assert left.status_code == 302 and left.headers["Location"] == live_server.url + "/bbb-simulator/bigbluebutton/"
    assert bbb.get_meeting_info(bbb_double, "m8").participant_count == 0


@pytest.mark.django_db(transaction=False)
def test_not_mounted_when_a_real_bbb_is_configured(tmp_path):
    """With BBB_URL set, neither the app nor its URLs exist (checked in a fresh process)."""
    root = Path(__file__).resolve().parents[1]
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "lpcfe.settings",
        "SECRET_KEY": "x" * 50,
        "ALLOWED_HOSTS": "localhost",
        "LPCFE_DATA_DIR": str(tmp_path),
        "BBB_URL": "https://bbb.example.org/bigbluebutton/",
        "BBB_SECRET": "real-secret",
    }
    code = (
        "import django; django.setup()\n"
        "from django.conf import settings; from django.urls import resolve, Resolver404\n"
        "assert not settings.BBB_SIMULATOR\n"
        "assert not any('bbb_simulator' in app for app in settings.INSTALLED_APPS)\n"
        "try:\n    resolve('/bbb-simulator/bigbluebutton/api/create')\nexcept Resolver404:\n    print('absent')\n"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=root, env=env, capture_output=True, text=True, timeout=60)
    assert out.stdout.strip() == "absent", out.stderr
