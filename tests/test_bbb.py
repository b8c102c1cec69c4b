"""The BBB API client (sessions.bbb): signing, servers, typed results, errors and timeouts.

Calls go over HTTP to the BBB double on the live server, which verifies checksums like bbb-web.
"""

import hashlib
import time
from pathlib import Path

import pytest
import requests

from sessions import bbb
from sessions.models import Room
from tests.importing import SAMPLES

OFFICIAL_SECRET = "639259d4-9dd8-4b25-bf01-95f9567eaf4b"
OFFICIAL_QUERY = "name=Test+Meeting&meetingID=abc123&attendeePW=111222&moderatorPW=333444"
OFFICIAL_SHA1 = "1fcbb0c4fc1f039f73aa6d697d2db9ba7f803f17"
SAMPLE_SERVERS = SAMPLES / "lpcfe-servers.2020-initial.REDACTED"


# --- Signing -------------------------------------------------------------------------------


def test_official_checksum_vector_byte_for_byte():
    query = bbb.encode_query(
        [("name", "Test Meeting"), ("meetingID", "abc123"), ("attendeePW", "111222"), ("moderatorPW", "333444")]
    )
    assert query == OFFICIAL_QUERY
    assert bbb.checksum("create", query, OFFICIAL_SECRET, "sha1") == OFFICIAL_SHA1
    server = bbb.Server("example", "https://bbb.example.org/bigbluebutton/api", OFFICIAL_SECRET, "sha1")
    url = server.signed_url(
        "create", {"name": "Test Meeting", "meetingID": "abc123", "attendeePW": "111222", "moderatorPW": "333444"}
    )
    assert url == f"https://bbb.example.org/bigbluebutton/api/create?{OFFICIAL_QUERY}&checksum={OFFICIAL_SHA1}"


@pytest.mark.parametrize(("algorithm", "length"), [("sha1", 40), ("sha256", 64), ("sha384", 96), ("sha512", 128)])
def test_each_algorithm_hashes_call_query_and_secret(algorithm, length):
    digest = bbb.checksum("create", OFFICIAL_QUERY, OFFICIAL_SECRET, algorithm)
    expected = hashlib.new(algorithm, f"create{OFFICIAL_QUERY}{OFFICIAL_SECRET}".encode()).hexdigest()
    assert digest == expected
    assert len(digest) == length


def test_the_signed_query_is_the_query_sent():
    """requests must not re-encode what was signed (spaces, unicode, reserved characters)."""
    server = bbb.Server("example", "https://bbb.example.org/bigbluebutton/api", "s3cret")
    url = server.signed_url(
        "join",
        [("fullName", "Zoë O'Brien & Co ~*+/"), ("meetingID", "hall a"), ("userdata-lpcfe_chat_url", "https://x/?a=b")],
    )
    assert requests.Request("GET", url).prepare().url == url
    query = url.split("?", 1)[1].rsplit("&checksum=", 1)[0]
    assert url.endswith(bbb.checksum("join", query, "s3cret", "sha256"))


def test_empty_query_is_signed_as_empty():
    server = bbb.Server("example", "https://bbb.example.org/bigbluebutton/api", "s3cret", "sha1")
    assert server.signed_url("getMeetings") == (
        "https://bbb.example.org/bigbluebutton/api/getMeetings?checksum="
        + hashlib.sha1(b"getMeetingss3cret").hexdigest()  # noqa: S324
    )


# --- Against the double -------------------------------------------------------------------


live_db = pytest.mark.django_db(transaction=True)


@live_db
@pytest.mark.parametrize("algorithm", ["sha1", "sha256", "sha384", "sha512"])
def test_double_accepts_every_algorithm(bbb_double, settings, algorithm):
    settings.BBB_CHECKSUM = algorithm
    server = bbb.simulator_server()
    assert server.algorithm == algorithm
    result = bbb.create(server, f"algo-{algorithm}", f"Room {algorithm}")
    assert result.create_time > 0
    assert [m.meeting_id for m in bbb.get_meetings(server)] == [f"algo-{algorithm}"]


@live_db
def test_meeting_lifecycle(bbb_double):
    server = bbb_double
    first = bbb.create(
        server,
        "hall-a",
        "Hall A",
        welcome="Welcome <b>all</b>",
        logout_url="http://front.example/rooms/hall-a/left/",
        record=True,
        disabled_features=["chat"],
        meta={"conference": "Plumbers", "room": "Hall A", "track": ""},
    )
    assert not first.duplicate
    again = bbb.create(server, "hall-a", "Hall A")
    assert again.duplicate and again.create_time == first.create_time

    info = bbb.get_meeting_info(server, "hall-a")
    assert (info.participant_count, info.running) == (0, False)
    assert info.metadata == {"conference": "Plumbers", "room": "Hall A"}
    assert not bbb.is_meeting_running(server, "hall-a")

    url = bbb.join_url(
        server,
        "hall-a",
        "Ada Lovelace",
        bbb.MODERATOR,
        user_id="lpcfe-7",
        create_time=first.create_time,
        userdata={"lpcfe_chat_url": "http://front.example/chat/hall-a/"},
    )
    page = requests.get(url, timeout=5)
    assert page.status_code == 200
    assert 'Ada Lovelace — <span class="role">MODERATOR</span>' in page.text
    assert "disabledFeatures=chat" in page.text

    info = bbb.get_meeting_info(server, "hall-a")
    assert info.running and info.participant_count == 1 and info.moderator_count == 1
    assert [(a.user_id, a.full_name, a.role) for a in info.attendees] == [("lpcfe-7", "Ada Lovelace", "MODERATOR")]
    assert bbb.is_meeting_running(server, "hall-a")

    bbb.end(server, "hall-a")
    with pytest.raises(bbb.BBBError) as gone:
        bbb.get_meeting_info(server, "hall-a")
    assert gone.value.key == "notFound" and gone.value.meeting_gone
    assert "hall-a" not in [m.meeting_id for m in bbb.get_meetings(server)]


@live_db
def test_old_join_link_stops_working_after_recreate(bbb_double):
    server = bbb_double
    old = bbb.create(server, "hall-b", "Hall B")
    bbb.end(server, "hall-b")
    new = bbb.create(server, "hall-b", "Hall B")
    assert new.create_time != old.create_time and not new.duplicate
    stale = bbb.join_url(
        server,
        "hall-b",
        "Ada",
        bbb.VIEWER,
        user_id="lpcfe-1",
        create_time=old.create_time,
        error_redirect_url="http://front.example/rooms/hall-b/left/",
    )
    answer = requests.get(stale, timeout=5, allow_redirects=False)
    assert answer.status_code == 302
    assert answer.headers["Location"].startswith("http://front.example/rooms/hall-b/left/?errors=")
    assert "mismatchCreateTimeParam" in requests.utils.unquote(answer.headers["Location"])


@live_db
def test_wrong_secret_is_a_checksum_error_naming_the_server(bbb_double):
    forged = bbb.Server("simulator", bbb_double.api_url, "not-the-secret")
    with pytest.raises(bbb.BBBError) as refused:
        bbb.get_meetings(forged)
    assert refused.value.key == "checksumError"
    assert "simulator" in str(refused.value) and "secret" in str(refused.value)


@live_db
def test_not_a_bbb_answer(live_server):
    server = bbb.Server("web", live_server.url + "/no-such-place", "x")
    with pytest.raises(bbb.BBBError) as failed:
        bbb.get_meetings(server)
    assert failed.value.key == "httpError" and "404" in str(failed.value)


def test_closed_port_fails_fast(broken_bbb, closed_port):
    server = broken_bbb(closed_port, timeout=2)
    started = time.monotonic()
    with pytest.raises(bbb.BBBError) as failed:
        bbb.create(server, "hall-a", "Hall A")
    assert failed.value.key == "unreachable"
    assert "127.0.0.1" in str(failed.value)
    assert time.monotonic() - started < 1.0


def test_silent_server_times_out(broken_bbb, silent_port):
    server = broken_bbb(silent_port, timeout=1)
    started = time.monotonic()
    with pytest.raises(bbb.BBBError) as failed:
        bbb.get_meeting_info(server, "hall-a")
    elapsed = time.monotonic() - started
    assert failed.value.key == "timeout"
    assert "1 seconds" in str(failed.value)
    assert 0.9 < elapsed < 2.0


def test_parse_failed_answer_into_error():
    assert bbb._human_message("maxParticipantsReached", "bbb1", "join", "").startswith("The meeting has reached")
    unknown = bbb._human_message("somethingNew", "bbb1", "create", "Strange things")
    assert "bbb1" in unknown and "Strange things" in unknown


def test_meeting_info_xml_becomes_a_dataclass():
    xml = b"""<response><returncode>SUCCESS</returncode><meetingName>Hall &amp; A</meetingName>
    <meetingID>hall-a</meetingID><internalMeetingID>abc-1</internalMeetingID><createTime>1700000000000</createTime>
    <running>true</running><hasBeenForciblyEnded>false</hasBeenForciblyEnded><participantCount>3</participantCount>
    <listenerCount>1</listenerCount><voiceParticipantCount>2</voiceParticipantCount><videoCount>1</videoCount>
    <moderatorCount>1</moderatorCount><attendees><attendee><userID>lpcfe-1</userID><fullName>Ada</fullName>
    <role>MODERATOR</role><isPresenter>true</isPresenter><isListeningOnly>false</isListeningOnly>
    <hasJoinedVoice>true</hasJoinedVoice><hasVideo>true</hasVideo></attendee></attendees>
    <metadata><conference>Plumbers</conference></metadata></response>"""
    from defusedxml import ElementTree

    info = bbb._meeting(ElementTree.fromstring(xml))
    assert info.name == "Hall & A" and info.create_time == 1700000000000
    assert (info.participant_count, info.listener_count, info.video_count, info.moderator_count) == (3, 1, 1, 1)
    assert info.attendees[0].has_video and info.attendees[0].role == "MODERATOR"
    assert info.metadata == {"conference": "Plumbers"}


# --- Servers: the servers file, BBB_URL (one BBB or Scalelite), the simulator ------------------


def test_sample_servers_file_parses():
    servers = bbb.parse_servers(
        SAMPLE_SERVERS.read_text(), str(SAMPLE_SERVERS), "https://{host}/bigbluebutton/api", "sha256"
    )
    assert list(servers) == ["bbb.lwn.net", "linuxplumbers.lwn.net"]
    assert servers["bbb.lwn.net"].api_url == "https://bbb.lwn.net/bigbluebutton/api"
    assert servers["linuxplumbers.lwn.net"].secret == "X" * 42
    assert "X" * 40 not in repr(servers["bbb.lwn.net"])


def test_bad_servers_file_names_every_line_and_hides_secrets():
    text = (
        "# servers\nbbb1.example.org:topsecret1\n\nbbb2.example.org\nbad host:topsecret2\n"
        "bbb1.example.org:topsecret3\nbbb3.example.org:\nx:y:z\n"
    )
    with pytest.raises(bbb.BBBConfigError) as bad:
        bbb.parse_servers(text, "/etc/lpcfe/servers", "https://{host}/bigbluebutton/api", "sha256")
    message = str(bad.value)
    assert "/etc/lpcfe/servers, line 4: expected host:secret" in message
    assert "/etc/lpcfe/servers, line 5: 'bad host' is not a host name" in message
    assert "/etc/lpcfe/servers, line 6: server bbb1.example.org is already listed on line 2" in message
    assert "/etc/lpcfe/servers, line 7: server bbb3.example.org has no shared secret" in message
    assert "/etc/lpcfe/servers, line 8: expected host:secret" in message
    assert "topsecret" not in message


def _room(name="Hall A", bbb_server=""):
    return Room(slug="hall-a", name=name, bbb_server=bbb_server)


def test_rooms_name_their_server_from_the_file(settings, tmp_path):
    servers_file = tmp_path / "servers"
    servers_file.write_text("bbb1.example.org:secret-one\nbbb2.example.org:secret-two\n")
    settings.BBB_SIMULATOR = False
    settings.BBB_URL = ""
    settings.BBB_SERVERS_FILE = str(servers_file)
    assert bbb.server_for(_room(bbb_server="bbb2.example.org")).secret == "secret-two"
    assert bbb.server_for(_room()).name == "bbb1.example.org"  # none named: the file's first
    with pytest.raises(bbb.BBBConfigError) as unknown:
        bbb.server_for(_room(name="Floriana", bbb_server="bbb9.example.org"))
    assert "Floriana" in str(unknown.value) and str(servers_file) in str(unknown.value)
    # Edits are picked up without a restart.
    servers_file.write_text("bbb9.example.org:secret-nine\n")
    assert bbb.server_for(_room(bbb_server="bbb9.example.org")).secret == "secret-nine"


def test_missing_servers_file_is_a_clear_error(settings, tmp_path):
    settings.BBB_SIMULATOR = False
    settings.BBB_SERVERS_FILE = str(tmp_path / "nope")
    with pytest.raises(bbb.BBBConfigError, match="BBB_SERVERS_FILE .*nope cannot be read"):
        bbb.server_for(_room(bbb_server="bbb1.example.org"))


def test_one_url_serves_every_room_unchanged(settings):
    """Scalelite (or one BBB): the rooms' own server names are not used."""
    settings.BBB_SIMULATOR = False
    settings.BBB_SERVERS_FILE = ""
    settings.BBB_URL = "https://scalelite.example.org/bigbluebutton/"
    settings.BBB_SECRET = "sl-secret"
    server = bbb.server_for(_room(bbb_server="bbb.lwn.net"))
    assert server.api_url == "https://scalelite.example.org/bigbluebutton/api"
    assert server.name == "scalelite.example.org" and server.secret == "sl-secret"
    settings.BBB_URL = "https://scalelite.example.org/bigbluebutton/api"
    assert bbb.server_for(_room()).api_url == "https://scalelite.example.org/bigbluebutton/api"


def test_simulator_uses_site_url_and_a_data_folder_secret(settings):
    settings.BBB_SIMULATOR = True
    settings.SITE_URL = "http://127.0.0.1:8123"
    server = bbb.server_for(_room(bbb_server="bbb.lwn.net"))
    assert server.api_url == "http://127.0.0.1:8123/bbb-simulator/bigbluebutton/api"
    secret_file = Path(settings.DATA_DIR) / "bbb_simulator_secret"
    assert server.secret == secret_file.read_text().strip() and len(server.secret) == 40
    assert secret_file.stat().st_mode & 0o077 == 0


def test_startup_check_reports_a_broken_servers_file(settings, tmp_path):
    from sessions.checks import bbb_configuration

    servers = tmp_path / "servers"
    servers.write_text("bbb1.example.org:one\nbbb2.example.org\n")
    settings.BBB_SIMULATOR = False
    settings.BBB_SERVERS_FILE = str(servers)
    problems = bbb_configuration(None)
    assert [p.id for p in problems] == ["lpcfe.E001"]
    assert f"{servers}, line 2" in problems[0].msg
    settings.BBB_SERVERS_FILE = ""
    settings.BBB_SIMULATOR = True
    assert [p.id for p in bbb_configuration(None)] == ["lpcfe.W001"]
