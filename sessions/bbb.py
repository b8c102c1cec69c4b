"""BigBlueButton API client: signed calls, typed results, one exception type.

Every call is signed over exactly the query string that is sent (call name + query string +
shared secret, hashed with BBB_CHECKSUM), the way bbb-web checks it. Responses are XML and
become dataclasses; a FAILED response, a timeout or an unreachable server becomes BBBError
with a message a person can act on. Servers come from lpcfe's `servers` file (host:secret per
line), from BBB_URL/BBB_SECRET (one BBB or a Scalelite), or are the local simulator.
"""

import hashlib
import json
import logging
import os
import re
import secrets
import threading
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import quote_plus, urlsplit
from xml.etree import ElementTree as ET  # types only; parsing goes through defusedxml

import requests
from defusedxml import ElementTree as SafeET
from defusedxml.common import DefusedXmlException
from django.conf import settings
from django.utils.translation import gettext as _

if TYPE_CHECKING:
    from sessions.models import Room

logger = logging.getLogger(__name__)

# Hex digest length of each algorithm: bbb-web picks the algorithm by the checksum's length.
ALGORITHMS = {"sha1": 40, "sha256": 64, "sha384": 96, "sha512": 128}
SIMULATOR_PATH = "/bbb-simulator/bigbluebutton"
SIMULATOR_NAME = "simulator"
MAX_RESPONSE_BYTES = 4 * 1024 * 1024
MODERATOR = "MODERATOR"
VIEWER = "VIEWER"


class BBBError(Exception):
    """Anything that went wrong talking to BigBlueButton, with a message for people.

    `key` is BBB's messageKey (e.g. notFound, checksumError) or one of ours: timeout,
    unreachable, httpError, badResponse, config.
    """

    def __init__(self, message: str, key: str = "", server: str = "", detail: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.key = key
        self.server = server
        self.detail = detail  # BBB's own (English) message, for logs and the status page

    def __str__(self) -> str:
        return self.message

    @property
    def meeting_gone(self) -> bool:
        """BBB no longer knows the meeting (or a newer one replaced it): create it again."""
        return self.key in MEETING_GONE_KEYS


class BBBConfigError(BBBError):
    """The BBB configuration (servers file, room → server mapping) is wrong."""

    def __init__(self, message: str, server: str = "") -> None:
        super().__init__(message, key="config", server=server)


MEETING_GONE_KEYS = frozenset(
    {
        "notFound",
        "invalidMeetingIdentifier",
        "invalidMeetingId",
        "meetingForciblyEnded",
        "mismatchCreateTimeParam",
        "mismatchCreateTime",
    }
)


def _human_message(key: str, server: str, call: str, detail: str) -> str:
    if key in ("notFound", "invalidMeetingIdentifier", "invalidMeetingId"):
        return _("The meeting does not exist on BigBlueButton server %(server)s (it may have ended).") % {
            "server": server
        }
    if key == "meetingForciblyEnded":
        return _("This meeting was ended by a moderator. It can be started again in a few minutes.")
    if key in ("mismatchCreateTimeParam", "mismatchCreateTime"):
        return _("The meeting was restarted after this join link was made. Please join again.")
    if key == "maxParticipantsReached":
        return _("The meeting has reached the participant limit of BigBlueButton server %(server)s.") % {
            "server": server
        }
    if key == "checksumError":
        return _(
            "BigBlueButton server %(server)s rejected lpcfe's signature: check its shared secret, and that "
            "it accepts the BBB_CHECKSUM algorithm."
        ) % {"server": server}
    if key == "idNotUnique":
        return _("BigBlueButton server %(server)s already has a different meeting with this ID.") % {"server": server}
    if key.startswith("missingParam") or key in ("invalidPassword", "validationError", "paramError"):
        return _("BigBlueButton server %(server)s refused lpcfe's %(call)s request as incomplete: %(detail)s") % {
            "server": server,
            "call": call,
            "detail": detail or key,
        }
    return _("BigBlueButton server %(server)s refused %(call)s: %(detail)s") % {
        "server": server,
        "call": call,
        "detail": detail or key or _("no reason given"),
    }


# --- Signing ------------------------------------------------------------------------------


def checksum(call: str, query: str, secret: str, algorithm: str) -> str:
    """bbb-web's checksum: hex digest of call name + query string (without checksum) + secret."""
    if algorithm not in ALGORITHMS:
        raise ValueError(f"unknown checksum algorithm {algorithm!r}")
    return hashlib.new(algorithm, (call + query + secret).encode("utf-8")).hexdigest()


def _value(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def encode_query(params: Mapping[str, object] | Iterable[tuple[str, object]]) -> str:
    """name=value pairs in the given order, form-encoded (space as '+'), as sent on the wire."""
    items = params.items() if isinstance(params, Mapping) else params
    return "&".join(f"{quote_plus(name)}={quote_plus(_value(value))}" for name, value in items)


@dataclass(frozen=True)
class Server:
    """One BBB API endpoint (a BBB server or a Scalelite) and how to sign calls to it."""

    name: str
    api_url: str  # ends in /api, no trailing slash
    secret: str = field(repr=False)
    algorithm: str = "sha256"
    source: str = ""  # where it was configured, for messages

    def signed_url(self, call: str, params: Mapping[str, object] | Iterable[tuple[str, object]] = ()) -> str:
        query = encode_query(params)
        digest = checksum(call, query, self.secret, self.algorithm)
        return f"{self.api_url}/{call}?{query}{'&' if query else ''}checksum={digest}"

    @property
    def origin(self) -> str:
        parts = urlsplit(self.api_url)
        return f"{parts.scheme}://{parts.netloc}"


# --- Configuration: servers file, BBB_URL, simulator -------------------------------------------

_HOST = re.compile(
    r"^(?=.{1,253}$)[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$"
)


def parse_servers(text: str, path: str, api_url_template: str, algorithm: str) -> dict[str, Server]:
    """Parse lpcfe's `servers` file: `host:secret` per line; blank lines and #comments skipped.

    Every problem is reported at once, each naming the file and line. Secrets never appear in
    messages.
    """
    servers: dict[str, Server] = {}
    first_line: dict[str, int] = {}
    problems: list[str] = []
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        where = f"{path}, line {number}"
        fields = line.split(":")
        if len(fields) != 2:
            problems.append(
                _("%(where)s: expected host:secret (two fields separated by one ':'), found %(count)d fields.")
                % {"where": where, "count": len(fields)}
            )
            continue
        host, secret = fields
        if not _HOST.match(host):
            problems.append(_("%(where)s: %(host)r is not a host name.") % {"where": where, "host": host[:100]})
            continue
        if not secret:
            problems.append(_("%(where)s: server %(host)s has no shared secret.") % {"where": where, "host": host})
            continue
        if any(ch.isspace() for ch in secret):
            problems.append(
                _("%(where)s: the shared secret of %(host)s contains spaces.") % {"where": where, "host": host}
            )
            continue
        if host in servers:
            problems.append(
                _("%(where)s: server %(host)s is already listed on line %(first)d.")
                % {"where": where, "host": host, "first": first_line[host]}
            )
            continue
        first_line[host] = number
        api_url = api_url_template.replace("{host}", host).rstrip("/")
        servers[host] = Server(name=host, api_url=api_url, secret=secret, algorithm=algorithm, source=where)
    if problems:
        raise BBBConfigError("\n".join(problems))
    return servers


_file_lock = threading.Lock()
_file_cache: dict[str, tuple[tuple[int, int, str, str], dict[str, Server]]] = {}


def file_servers() -> dict[str, Server]:
    """The servers of BBB_SERVERS_FILE, re-read when the file changes; {} when none is set."""
    path = settings.BBB_SERVERS_FILE
    if not path:
        return {}
    try:
        stat = os.stat(path)
    except OSError as exc:
        raise BBBConfigError(
            _("BBB_SERVERS_FILE %(path)s cannot be read: %(error)s") % {"path": path, "error": exc.strerror}
        ) from None
    stamp = (stat.st_mtime_ns, stat.st_size, settings.BBB_SERVERS_API_URL, settings.BBB_CHECKSUM)
    with _file_lock:
        cached = _file_cache.get(path)
        if cached and cached[0] == stamp:
            return cached[1]
        try:
            text = Path(path).read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise BBBConfigError(
                _("BBB_SERVERS_FILE %(path)s cannot be read: %(error)s") % {"path": path, "error": exc}
            ) from None
        servers = parse_servers(text, path, settings.BBB_SERVERS_API_URL, settings.BBB_CHECKSUM)
        if not servers:
            raise BBBConfigError(_("BBB_SERVERS_FILE %(path)s lists no server.") % {"path": path})
        _file_cache[path] = (stamp, servers)
        return servers


def api_url_from(url: str) -> str:
    """Accept BBB_URL as bbb-conf prints it (…/bigbluebutton/) or ending in /api."""
    url = url.rstrip("/")
    return url if url.endswith("/api") else url + "/api"


@lru_cache(maxsize=4)
def _read_or_make_secret(path: Path) -> str:
    try:
        existing = path.read_text().strip()
        if existing:
            return existing
    except FileNotFoundError:
        pass
    path.parent.mkdir(parents=True, exist_ok=True)
    # Several processes may start at once: write aside, then link into place (atomic, first wins).
    temporary = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}")
    temporary.write_text(secrets.token_hex(20))
    temporary.chmod(0o600)
    try:
        os.link(temporary, path)
    except FileExistsError:
        pass
    finally:
        temporary.unlink()
    return path.read_text().strip()


def simulator_secret() -> str:
    """The simulator's shared secret: random, kept in the data folder."""
    return _read_or_make_secret(Path(settings.DATA_DIR) / "bbb_simulator_secret")


def simulator_server() -> Server:
    return Server(
        name=SIMULATOR_NAME,
        api_url=settings.SITE_URL.rstrip("/") + SIMULATOR_PATH + "/api",
        secret=simulator_secret(),
        algorithm=settings.BBB_CHECKSUM,
        source="BBB simulator",
    )


def url_server() -> Server | None:
    if not settings.BBB_URL:
        return None
    return Server(
        name=urlsplit(settings.BBB_URL).hostname or settings.BBB_URL,
        api_url=api_url_from(settings.BBB_URL),
        secret=settings.BBB_SECRET,
        algorithm=settings.BBB_CHECKSUM,
        source="BBB_URL",
    )


def all_servers() -> list[Server]:
    """Every configured endpoint (for the status page); raises BBBConfigError on a bad file."""
    if settings.BBB_SIMULATOR:
        return [simulator_server()]
    found = [server for server in [url_server()] if server]
    found += [s for s in file_servers().values() if s.api_url not in {f.api_url for f in found}]
    return found


def server_for(room: "Room") -> Server:
    """The endpoint a room's meeting lives on.

    With a servers file, a room names its host there; a room naming none uses BBB_URL if set,
    else the first server in the file. Without a servers file every room uses BBB_URL
    (a Scalelite spreads them itself) and the room's own server name is not used.
    """
    if settings.BBB_SIMULATOR:
        return simulator_server()
    listed = file_servers()
    if room.bbb_server and listed:
        try:
            return listed[room.bbb_server]
        except KeyError:
            raise BBBConfigError(
                _("Room %(room)s names BBB server %(server)s, which %(path)s does not list.")
                % {"room": room.name, "server": room.bbb_server, "path": settings.BBB_SERVERS_FILE},
                server=room.bbb_server,
            ) from None
    default = url_server()
    if default:
        return default
    if listed:
        return next(iter(listed.values()))
    raise BBBConfigError(_("No BigBlueButton server is configured (set BBB_URL or BBB_SERVERS_FILE)."))


# --- Typed results ---------------------------------------------------------------------------


@dataclass(frozen=True)
class CreateResult:
    meeting_id: str
    internal_meeting_id: str
    create_time: int  # milliseconds since the epoch; passed on join so old links stop working
    duplicate: bool  # the meeting already existed (create is idempotent)


@dataclass(frozen=True)
class Attendee:
    user_id: str
    full_name: str
    role: str
    is_presenter: bool
    is_listening_only: bool
    has_joined_voice: bool
    has_video: bool


@dataclass(frozen=True)
class MeetingInfo:
    meeting_id: str
    name: str
    internal_meeting_id: str
    create_time: int
    running: bool
    has_been_forcibly_ended: bool
    participant_count: int
    listener_count: int
    voice_participant_count: int
    video_count: int
    moderator_count: int
    attendees: tuple[Attendee, ...] = ()
    metadata: dict[str, str] = field(default_factory=dict)


def _text(element: ET.Element, name: str) -> str:
    child = element.find(name)
    return (child.text or "").strip() if child is not None else ""


def _int(element: ET.Element, name: str) -> int:
    try:
        return int(_text(element, name) or 0)
    except ValueError:
        return 0


def _bool(element: ET.Element, name: str) -> bool:
    return _text(element, name).lower() == "true"


def _metadata(element: ET.Element) -> dict[str, str]:
    found = element.find("metadata")
    return {child.tag: (child.text or "") for child in found} if found is not None else {}


def _meeting(element: ET.Element) -> MeetingInfo:
    attendees = tuple(
        Attendee(
            user_id=_text(a, "userID"),
            full_name=_text(a, "fullName"),
            role=_text(a, "role").upper(),
            is_presenter=_bool(a, "isPresenter"),
            is_listening_only=_bool(a, "isListeningOnly"),
            has_joined_voice=_bool(a, "hasJoinedVoice"),
            has_video=_bool(a, "hasVideo"),
        )
        for a in element.findall("attendees/attendee")
    )
    return MeetingInfo(
        meeting_id=_text(element, "meetingID"),
        name=_text(element, "meetingName"),
        internal_meeting_id=_text(element, "internalMeetingID"),
        create_time=_int(element, "createTime"),
        running=_bool(element, "running"),
        has_been_forcibly_ended=_bool(element, "hasBeenForciblyEnded"),
        participant_count=_int(element, "participantCount"),
        listener_count=_int(element, "listenerCount"),
        voice_participant_count=_int(element, "voiceParticipantCount"),
        video_count=_int(element, "videoCount"),
        moderator_count=_int(element, "moderatorCount"),
        attendees=attendees,
        metadata=_metadata(element),
    )


# --- HTTP ------------------------------------------------------------------------------------

_local = threading.local()


def _http() -> requests.Session:
    # One connection pool per thread: requests.Session is not documented as thread-safe.
    session = getattr(_local, "session", None)
    if session is None:
        session = requests.Session()
        session.headers["User-Agent"] = "lpcfe"
        _local.session = session
    return session


def _call(server: Server, call: str, params: Mapping[str, object] | Iterable[tuple[str, object]] = ()) -> ET.Element:
    """GET one API call; the whole exchange ends within BBB_TIMEOUT seconds or fails."""
    url = server.signed_url(call, params)
    timeout = settings.BBB_TIMEOUT
    deadline = time.monotonic() + timeout
    too_slow = BBBError(
        _("BigBlueButton server %(server)s did not answer within %(seconds)s seconds.")
        % {"server": server.name, "seconds": timeout},
        key="timeout",
        server=server.name,
    )
    chunks: list[bytes] = []
    try:
        with _http().get(url, timeout=(timeout, timeout), stream=True, allow_redirects=False) as response:
            status = response.status_code
            size = 0
            for chunk in response.iter_content(65536):
                size += len(chunk)
                if size > MAX_RESPONSE_BYTES:
                    raise BBBError(
                        _("BigBlueButton server %(server)s sent an oversized answer.") % {"server": server.name},
                        key="badResponse",
                        server=server.name,
                    )
                if time.monotonic() > deadline:
                    raise too_slow
                chunks.append(chunk)
    except requests.Timeout:
        logger.warning("BBB %s: %s timed out after %ss", server.name, call, timeout)
        raise too_slow from None
    except requests.RequestException as exc:
        if time.monotonic() >= deadline:
            logger.warning("BBB %s: %s timed out after %ss", server.name, call, timeout)
            raise too_slow from None
        logger.warning("BBB %s: %s failed: %s", server.name, call, type(exc).__name__)
        raise BBBError(
            _("BigBlueButton server %(server)s cannot be reached.") % {"server": server.name},
            key="unreachable",
            server=server.name,
            detail=type(exc).__name__,
        ) from None
    if status != 200:
        logger.warning("BBB %s: %s answered HTTP %s", server.name, call, status)
        raise BBBError(
            _("BigBlueButton server %(server)s answered with HTTP status %(status)s.")
            % {"server": server.name, "status": status},
            key="httpError",
            server=server.name,
        )
    try:
        root = SafeET.fromstring(b"".join(chunks))
    except (ET.ParseError, DefusedXmlException):
        root = None
    if root is None or root.tag != "response":
        logger.warning("BBB %s: %s answered something that is not a BBB response", server.name, call)
        raise BBBError(
            _("BigBlueButton server %(server)s sent an answer lpcfe cannot read.") % {"server": server.name},
            key="badResponse",
            server=server.name,
        )
    if _text(root, "returncode") != "SUCCESS":
        key, detail = _text(root, "messageKey"), _text(root, "message")
        logger.info("BBB %s: %s refused: %s", server.name, call, key)
        raise BBBError(_human_message(key, server.name, call, detail), key=key, server=server.name, detail=detail)
    return root


# --- API calls -------------------------------------------------------------------------------


def create(
    server: Server,
    meeting_id: str,
    name: str,
    *,
    welcome: str = "",
    logout_url: str = "",
    record: bool = False,
    disabled_features: Iterable[str] = (),
    allow_requests_without_session: bool = False,
    meta: Mapping[str, str] | None = None,
    plugin_manifests: Iterable[Mapping[str, str]] = (),
) -> CreateResult:
    """Create the meeting, or get the existing one back (create is idempotent in BBB).

    `plugin_manifests`: BBB 3.0+ client plugins, each {"url": …, "checksum": sha256 hex}.
    """
    params: list[tuple[str, object]] = [("meetingID", meeting_id), ("name", name)]
    if welcome:
        params.append(("welcome", welcome))
    if logout_url:
        params.append(("logoutURL", logout_url))
    params.append(("record", record))
    if record:
        # Conference sessions are recorded from the start; moderators may still pause.
        params += [("autoStartRecording", True), ("allowStartStopRecording", True)]
    features = [f for f in disabled_features if f]
    if features:
        params.append(("disabledFeatures", ",".join(features)))
    if allow_requests_without_session:
        params.append(("allowRequestsWithoutSession", True))
    for key, value in (meta or {}).items():
        if value:
            params.append((f"meta_{key}", value))
    manifests = [dict(entry) for entry in plugin_manifests]
    if manifests:
        params.append(("pluginManifests", json.dumps(manifests, separators=(",", ":"))))
    root = _call(server, "create", params)
    return CreateResult(
        meeting_id=_text(root, "meetingID") or meeting_id,
        internal_meeting_id=_text(root, "internalMeetingID"),
        create_time=_int(root, "createTime"),
        duplicate=_text(root, "messageKey") == "duplicateWarning",
    )


def join_url(
    server: Server,
    meeting_id: str,
    full_name: str,
    role: str,
    *,
    user_id: str,
    create_time: int,
    userdata: Mapping[str, str] | None = None,
    error_redirect_url: str = "",
    guest: bool = False,
) -> str:
    """The signed URL that puts one person into the meeting (role-based, never passwords).

    `guest`: BBB treats the person as a guest, so its guest policy (lobby) applies to them.
    """
    if role not in (MODERATOR, VIEWER):
        raise ValueError(f"role must be {MODERATOR} or {VIEWER}, not {role!r}")
    params: list[tuple[str, object]] = [
        ("meetingID", meeting_id),
        ("fullName", full_name),
        ("role", role),
        ("userID", user_id),
        ("createTime", create_time),
    ]
    if error_redirect_url:
        params.append(("errorRedirectUrl", error_redirect_url))
    if guest:
        params.append(("guest", True))
    for key, value in (userdata or {}).items():
        params.append((f"userdata-{key}", value))
    return server.signed_url("join", params)


def is_meeting_running(server: Server, meeting_id: str) -> bool:
    return _bool(_call(server, "isMeetingRunning", [("meetingID", meeting_id)]), "running")


def get_meeting_info(server: Server, meeting_id: str) -> MeetingInfo:
    return _meeting(_call(server, "getMeetingInfo", [("meetingID", meeting_id)]))


def get_meetings(server: Server) -> list[MeetingInfo]:
    root = _call(server, "getMeetings")
    return [_meeting(element) for element in root.findall("meetings/meeting")]


def end(server: Server, meeting_id: str) -> None:
    _call(server, "end", [("meetingID", meeting_id)])


# --- Recordings ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Recording:
    record_id: str
    meeting_id: str
    name: str
    published: bool
    state: str  # processing, processed, published, unpublished, deleted
    start_time: int  # milliseconds since the epoch
    end_time: int
    metadata: dict[str, str] = field(default_factory=dict)
    playback_url: str = ""  # the first playback format's address (presentation, usually)


def _recording(element: ET.Element) -> Recording:
    urls = [_text(f, "url") for f in element.findall("playback/format")]
    return Recording(
        record_id=_text(element, "recordID"),
        meeting_id=_text(element, "meetingID"),
        name=_text(element, "name"),
        published=_bool(element, "published"),
        state=_text(element, "state"),
        start_time=_int(element, "startTime"),
        end_time=_int(element, "endTime"),
        metadata=_metadata(element),
        playback_url=next((url for url in urls if url.startswith(("https://", "http://"))), ""),
    )


def get_recordings(server: Server, meeting_ids: Iterable[str]) -> list[Recording]:
    """The recordings of these meetingIDs, in every state (published or not)."""
    params = [("meetingID", ",".join(meeting_ids)), ("state", "any")]
    return [_recording(element) for element in _call(server, "getRecordings", params).findall("recordings/recording")]


def publish_recordings(server: Server, record_ids: Iterable[str], publish: bool) -> None:
    """Publish (or unpublish) recordings: published ones are visible at their playback URL."""
    _call(server, "publishRecordings", [("recordID", ",".join(record_ids)), ("publish", publish)])
