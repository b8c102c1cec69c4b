"""The BBB API double: the endpoints lpcfe uses, checked the way bbb-web checks them.

Checksums are verified over the query string exactly as received: the `checksum` parameter is
cut out of the raw string, the call name is put in front and the shared secret behind, and
the algorithm is chosen by the checksum's length (40 sha1, 64 sha256, 96 sha384, 128 sha512).
A request carrying more than one checksum is refused, as current bbb-web does. Joins enforce
createTime and role. Every page says it is a simulator; nothing here is used in production.
"""

import hashlib
import hmac
import html
import json
import re
import secrets
import time
import uuid
from collections.abc import Iterable
from datetime import timedelta
from urllib.parse import urlencode, urlsplit
from xml.etree import ElementTree as ET

import requests
from django.db import IntegrityError, transaction
from django.http import HttpRequest, HttpResponse, HttpResponseNotAllowed, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.utils.html import strip_tags
from django.views.decorators.clickjacking import xframe_options_sameorigin
from django.views.decorators.http import require_POST

from bbb_simulator.models import SimApiCall, SimAttendee, SimMeeting, SimRecording
from sessions.bbb import ALGORITHMS, checksum, simulator_secret

LABEL = "lpcfe BBB simulator: not a real BigBlueButton server"
_BY_LENGTH = {length: name for name, length in ALGORITHMS.items()}
# bbb-web's defaults (meetingExpireIfNoUserJoinedInMinutes, meetingExpireWhenLastUserLeftInMinutes).
EXPIRE_IF_NOBODY_JOINED = timedelta(minutes=5)
EXPIRE_WHEN_LAST_LEFT = timedelta(minutes=1)


def checksum_is_valid(call: str, raw_query: str, given: list[str], secret: str) -> bool:
    """bbb-web's check, over the raw query string; False for a missing, doubled or unknown checksum."""
    if len(given) != 1 or not given[0]:
        return False
    value = given[0]
    algorithm = _BY_LENGTH.get(len(value))
    if algorithm is None:
        return False
    # bbb-web removes the checksum from the query string literally, in these three shapes.
    stripped = raw_query.replace("&checksum=" + value, "")
    stripped = stripped.replace("checksum=" + value + "&", "")
    stripped = stripped.replace("checksum=" + value, "")
    expected = checksum(call, stripped, secret, algorithm)
    return hmac.compare_digest(expected, value.lower())


# --- XML answers ---------------------------------------------------------------------------


def _append(parent: ET.Element, fields: Iterable[tuple[str, object]]) -> None:
    for tag, value in fields:
        child = ET.SubElement(parent, tag)
        if isinstance(value, ET.Element):
            child.extend(list(value))
        elif isinstance(value, bool):
            child.text = "true" if value else "false"
        elif value is not None:
            child.text = str(value)


def _xml(fields: Iterable[tuple[str, object]]) -> HttpResponse:
    root = ET.Element("response")
    root.append(ET.Comment(f" {LABEL} "))
    _append(root, fields)
    response = HttpResponse(ET.tostring(root, encoding="utf-8", xml_declaration=True), content_type="text/xml")
    response["X-BBB-Simulator"] = "lpcfe"
    response["Cache-Control"] = "no-cache"
    return response


def _failed(call: str, meeting_id: str, key: str, message: str) -> HttpResponse:
    SimApiCall.objects.create(call=call, meeting_id=meeting_id[:256], outcome=key)
    return _xml([("returncode", "FAILED"), ("messageKey", key), ("message", message)])


def _succeeded(call: str, meeting_id: str, fields: list[tuple[str, object]]) -> HttpResponse:
    SimApiCall.objects.create(call=call, meeting_id=meeting_id[:256], outcome="SUCCESS")
    return _xml([("returncode", "SUCCESS"), *fields])


# --- Meetings --------------------------------------------------------------------------------


def _metadata(meeting: SimMeeting) -> list[tuple[str, str]]:
    # bbb-web lower-cases meta_ names.
    return [(k[5:].lower(), v) for k, v in meeting.params.items() if k.startswith("meta_") and k[5:]]


def _finish(meeting: SimMeeting, **flags: bool) -> None:
    """End a meeting; a recorded one that people joined leaves a recording (BBB publishes it
    once processed; the simulator does so at once)."""
    if not SimMeeting.objects.filter(pk=meeting.pk, ended=False).update(ended=True, **flags):
        return  # someone else ended it
    meeting.attendees.filter(left_at__isnull=True).update(left_at=timezone.now())
    if meeting.params.get("record") == "true" and meeting.attendees.exists():
        SimRecording.objects.get_or_create(
            record_id=meeting.internal_id,
            defaults={
                "meeting_id": meeting.meeting_id,
                "name": meeting.name,
                "start_time": meeting.create_time,
                "end_time": int(time.time() * 1000),
                "participants": meeting.attendees.values("user_id").distinct().count(),
                "metadata": dict(_metadata(meeting)),
            },
        )


def _expire_idle() -> None:
    """End meetings BBB would have dropped: nobody joined in 5 minutes, or everyone left a minute ago."""
    now = timezone.now()
    live = SimMeeting.objects.filter(ended=False)
    for meeting in live.filter(created_at__lt=now - EXPIRE_IF_NOBODY_JOINED).exclude(attendees__isnull=False):
        _finish(meeting)
    for meeting in live.filter(attendees__isnull=False).distinct():
        attendees = list(meeting.attendees.all())
        if all(a.left_at for a in attendees) and max(a.left_at for a in attendees) < now - EXPIRE_WHEN_LAST_LEFT:
            _finish(meeting)


def _live(meeting_id: str) -> SimMeeting | None:
    return SimMeeting.objects.filter(meeting_id=meeting_id, ended=False).first()


def _params(request: HttpRequest) -> dict[str, str]:
    return {name: request.GET.get(name, "") for name in request.GET if name != "checksum"}


def _meeting_fields(meeting: SimMeeting, with_attendees: bool = True) -> list[tuple[str, object]]:
    present = [a for a in meeting.attendees.all() if a.left_at is None]
    fields: list[tuple[str, object]] = [
        ("meetingName", meeting.name),
        ("meetingID", meeting.meeting_id),
        ("internalMeetingID", meeting.internal_id),
        ("createTime", meeting.create_time),
        ("createDate", meeting.created_at.strftime("%a %b %d %H:%M:%S UTC %Y")),
        ("voiceBridge", 70000 + meeting.pk % 10000),
        ("dialNumber", "613-555-1234"),
        ("running", bool(present)),
        ("duration", 0),
        ("hasUserJoined", meeting.attendees.exists()),
        ("recording", meeting.params.get("record") == "true"),
        ("hasBeenForciblyEnded", meeting.forcibly_ended),
        ("startTime", meeting.create_time),
        ("endTime", 0),
        ("participantCount", len(present)),
        ("listenerCount", 0),
        ("voiceParticipantCount", 0),
        ("videoCount", 0),
        ("maxUsers", int(meeting.params.get("maxParticipants") or 0)),
        ("moderatorCount", sum(1 for a in present if a.role == "MODERATOR")),
    ]
    attendees = ET.Element("attendees")
    if with_attendees:
        for a in present:
            node = ET.SubElement(attendees, "attendee")
            _append(
                node,
                [
                    ("userID", a.user_id),
                    ("fullName", a.full_name),
                    ("role", a.role),
                    ("isPresenter", a.role == "MODERATOR"),
                    ("isListeningOnly", False),
                    ("hasJoinedVoice", False),
                    ("hasVideo", False),
                    ("clientType", "HTML5"),
                ],
            )
    metadata = ET.Element("metadata")
    _append(metadata, _metadata(meeting))
    fields += [("attendees", attendees), ("metadata", metadata), ("isBreakout", False)]
    return fields


def _plugin(entry: object) -> dict:
    """One pluginManifests entry checked as bbb-web does: fetch the manifest (redirects followed),
    compare the SHA-256 hex of its text with `checksum` when one is given, read its name; the
    entrypoint is made absolute against the manifest's address, as akka-apps does."""
    if not isinstance(entry, dict) or not isinstance(entry.get("url"), str):
        return {"failure": "pluginManifests entry without url"}
    url = entry["url"]
    plugin = {"manifest_url": url, "name": "", "entrypoint": "", "failure": ""}
    if urlsplit(url).scheme not in ("http", "https"):
        return {**plugin, "failure": "manifest URL is not http(s)"}
    try:
        response = requests.get(url, timeout=5)
    except requests.RequestException as exc:
        return {**plugin, "failure": f"manifest not fetched: {type(exc).__name__}"}
    if not 200 <= response.status_code < 300:
        return {**plugin, "failure": f"HTTP {response.status_code} when fetching {url}"}
    text = response.text
    checksum = entry.get("checksum") or ""
    if checksum and hashlib.sha256(text.encode("utf-8")).hexdigest() != checksum:
        return {**plugin, "failure": "manifest checksum mismatch"}
    try:
        content = json.loads(text)
    except ValueError:
        return {**plugin, "failure": "manifest is not JSON"}
    if not isinstance(content, dict) or not content.get("name") or not content.get("javascriptEntrypointUrl"):
        return {**plugin, "failure": "manifest lacks name or javascriptEntrypointUrl"}
    entrypoint = str(content["javascriptEntrypointUrl"])
    if not entrypoint.startswith(("http://", "https://")):
        entrypoint = response.url[: response.url.rfind("/") + 1] + entrypoint
    return {**plugin, "name": str(content["name"]), "entrypoint": entrypoint}


def _plugins(raw: str) -> list[dict]:
    if not raw:
        return []
    try:
        entries = json.loads(raw)
    except ValueError:
        return [{"failure": "pluginManifests is not JSON"}]
    return [_plugin(entry) for entry in (entries if isinstance(entries, list) else [entries])]


def _create(request: HttpRequest, meeting_id: str) -> HttpResponse:
    params = _params(request)
    name = params.get("name", "").strip()
    if not name:
        return _failed("create", meeting_id, "missingParamName", "You must specify a name for the meeting.")
    existing = _live(meeting_id)
    duplicate = existing is not None
    if existing is None:
        plugins = _plugins(params.get("pluginManifests", ""))
        create_time = int(time.time() * 1000)
        internal_id = f"{hashlib.sha1(meeting_id.encode()).hexdigest()}-{create_time}-{secrets.token_hex(2)}"  # noqa: S324
        try:
            with transaction.atomic():
                existing = SimMeeting.objects.create(
                    meeting_id=meeting_id,
                    internal_id=internal_id,
                    name=name,
                    create_time=create_time,
                    params=params,
                    plugins=plugins,
                )
        except IntegrityError:
            # Another create for the same meetingID won the race: answer with that meeting.
            existing, duplicate = _live(meeting_id), True
            if existing is None:
                raise
    fields: list[tuple[str, object]] = [
        ("meetingID", existing.meeting_id),
        ("internalMeetingID", existing.internal_id),
        ("parentMeetingID", "bbb-none"),
        ("createTime", existing.create_time),
        ("voiceBridge", 70000 + existing.pk % 10000),
        ("dialNumber", "613-555-1234"),
        ("createDate", existing.created_at.strftime("%a %b %d %H:%M:%S UTC %Y")),
        ("hasUserJoined", existing.attendees.exists()),
        ("duration", 0),
        ("hasBeenForciblyEnded", False),
    ]
    if duplicate:
        fields += [
            ("messageKey", "duplicateWarning"),
            ("message", "This conference was already in existence and may currently be in progress."),
        ]
    return _succeeded("create", meeting_id, fields)


def _join_refused(request: HttpRequest, meeting_id: str, key: str, message: str, trusted: bool) -> HttpResponse:
    """Like bbb-web: redirect to errorRedirectUrl with the errors, or answer XML when redirect=false.

    A redirect target is only followed from a correctly signed request, never from a forged one.
    """
    SimApiCall.objects.create(call="join", meeting_id=meeting_id[:256], outcome=key)
    if request.GET.get("redirect", "true").lower() == "false":
        return _xml([("returncode", "FAILED"), ("messageKey", key), ("message", message)])
    target = request.GET.get("errorRedirectUrl", "") if trusted else ""
    if target and urlsplit(target).scheme in ("http", "https"):
        errors = json.dumps([{"key": key, "message": message}])
        return HttpResponseRedirect(target + ("&" if "?" in target else "?") + urlencode({"errors": errors}))
    return _error_page(request, key, message, status=200)


def _join(request: HttpRequest, meeting_id: str, trusted: bool) -> HttpResponse:
    full_name = request.GET.get("fullName", "").strip()
    if not full_name:
        return _join_refused(request, meeting_id, "missingParamFullName", "You must specify a name.", trusted)
    meeting = _live(meeting_id)
    if meeting is None:
        latest = SimMeeting.objects.filter(meeting_id=meeting_id).order_by("-create_time").first()
        if latest and latest.forcibly_ended:
            return _join_refused(
                request,
                meeting_id,
                "meetingForciblyEnded",
                "You can not re-join a meeting that has already been forcibly ended.",
                trusted,
            )
        return _join_refused(
            request,
            meeting_id,
            "invalidMeetingIdentifier",
            "The meeting ID that you supplied did not match any existing meetings",
            trusted,
        )
    create_time = request.GET.get("createTime")
    if create_time is not None and create_time != str(meeting.create_time):
        return _join_refused(
            request,
            meeting_id,
            "mismatchCreateTimeParam",
            "The createTime parameter submitted mismatches with the current meeting.",
            trusted,
        )
    role = request.GET.get("role", "").upper()
    if role not in ("MODERATOR", "VIEWER"):
        password = request.GET.get("password", "")
        if password and password == meeting.params.get("moderatorPW"):
            role = "MODERATOR"
        elif password and password == meeting.params.get("attendeePW"):
            role = "VIEWER"
        else:
            return _join_refused(
                request,
                meeting_id,
                "invalidPassword",
                "You either did not supply a password or the password supplied is neither the attendee or "
                "moderator password for this conference.",
                trusted,
            )
    limit = int(meeting.params.get("maxParticipants") or 0)
    if limit and meeting.attendees.filter(left_at__isnull=True).count() >= limit:
        return _join_refused(
            request, meeting_id, "maxParticipantsReached", "The number of participants allowed is reached.", trusted
        )
    # As bbb-web: userdata-<name> is kept as <name>, and only when <name> holds no further '-'.
    userdata = {
        k.split("-")[1]: v for k, v in request.GET.items() if k.startswith("userdata") and len(k.split("-")) == 2
    }
    attendee = SimAttendee.objects.create(
        meeting=meeting,
        user_id=request.GET.get("userID", "") or f"w_{secrets.token_hex(6)}",
        full_name=full_name,
        role=role,
        guest=request.GET.get("guest", "").lower() == "true",
        session_token=secrets.token_urlsafe(16),
        userdata=userdata,
    )
    client_url = (
        request.build_absolute_uri(reverse("bbb_simulator:client"))
        + "?"
        + urlencode({"sessionToken": attendee.session_token})
    )
    if request.GET.get("redirect", "true").lower() == "false":
        return _succeeded(
            "join",
            meeting_id,
            [
                ("messageKey", "successfullyJoined"),
                ("message", "You have joined successfully."),
                ("meeting_id", meeting.internal_id),
                ("user_id", attendee.user_id),
                ("session_token", attendee.session_token),
                ("url", client_url),
            ],
        )
    SimApiCall.objects.create(call="join", meeting_id=meeting_id[:256], outcome="SUCCESS")
    return HttpResponseRedirect(client_url)


def _end(meeting_id: str) -> HttpResponse:
    meeting = _live(meeting_id)
    if meeting is None:
        return _failed("end", meeting_id, "notFound", "We could not find a meeting with that meeting ID")
    _finish(meeting, forcibly_ended=True)
    return _succeeded(
        "end",
        meeting_id,
        [
            ("messageKey", "sentEndMeetingRequest"),
            ("message", "A request to end the meeting was sent."),
        ],
    )


def _recording_fields(request: HttpRequest, recording: SimRecording) -> list[tuple[str, object]]:
    metadata = ET.Element("metadata")
    _append(metadata, [("isBreakout", "false"), ("meetingName", recording.name), ("meetingId", recording.meeting_id)])
    _append(metadata, recording.metadata.items())
    playback = ET.Element("playback")
    if recording.published:
        # bbb-web lists playback formats of published recordings only.
        url = request.build_absolute_uri(reverse("bbb_simulator:playback", args=[recording.record_id]))
        fmt = ET.SubElement(playback, "format")
        length = max(1, round((recording.end_time - recording.start_time) / 60000))
        _append(fmt, [("type", "presentation"), ("url", url), ("processingTime", 0), ("length", length)])
    return [
        ("recordID", recording.record_id),
        ("meetingID", recording.meeting_id),
        ("internalMeetingID", recording.record_id),
        ("name", recording.name),
        ("isBreakout", False),
        ("published", recording.published),
        ("state", "published" if recording.published else "unpublished"),
        ("startTime", recording.start_time),
        ("endTime", recording.end_time),
        ("participants", recording.participants),
        ("metadata", metadata),
        ("playback", playback),
    ]


def _listed(value: str) -> list[str]:
    return [part.strip() for part in value.split(",") if part.strip()]


def _get_recordings(request: HttpRequest) -> HttpResponse:
    """getRecordings: by meetingID and/or recordID (comma lists), state and meta_ filters."""
    found = SimRecording.objects.order_by("start_time")
    if meeting_ids := _listed(request.GET.get("meetingID", "")):
        found = found.filter(meeting_id__in=meeting_ids)
    if record_ids := _listed(request.GET.get("recordID", "")):
        found = found.filter(record_id__in=record_ids)
    states = set(_listed(request.GET.get("state", ""))) or {"published", "unpublished"}
    meta = {k[5:].lower(): v for k, v in request.GET.items() if k.startswith("meta_")}
    chosen = [
        r
        for r in found
        if ("any" in states or ("published" if r.published else "unpublished") in states)
        and all(r.metadata.get(k) == v for k, v in meta.items())
    ]
    node = ET.Element("recordings")
    for recording in chosen:
        _append(ET.SubElement(node, "recording"), _recording_fields(request, recording))
    extra: list[tuple[str, object]] = [("recordings", node)]
    if not chosen:
        extra += [("messageKey", "noRecordings"), ("message", "There are no recordings for the meeting(s).")]
    return _succeeded("getRecordings", ",".join(meeting_ids), extra)


def _publish_recordings(request: HttpRequest) -> HttpResponse:
    record_ids = _listed(request.GET.get("recordID", ""))
    if not record_ids:
        return _failed("publishRecordings", "", "missingParamRecordID", "You must specify one or more recording IDs.")
    publish = request.GET.get("publish", "").lower()
    if publish not in ("true", "false"):
        return _failed(
            "publishRecordings", "", "missingParamPublish", "You must specify one publish value true or false."
        )
    found = SimRecording.objects.filter(record_id__in=record_ids)
    if not found.exists():
        return _failed("publishRecordings", "", "notFound", "We could not find recordings")
    found.update(published=publish == "true")
    return _succeeded("publishRecordings", "", [("published", publish == "true")])


CALLS = (
    "create",
    "join",
    "isMeetingRunning",
    "getMeetingInfo",
    "getMeetings",
    "end",
    "getRecordings",
    "publishRecordings",
)


def api(request: HttpRequest, call: str) -> HttpResponse:
    """One BBB API call: verify the checksum, then act on the meeting state in the database."""
    if request.method not in ("GET", "HEAD"):
        return HttpResponseNotAllowed(["GET"])
    if call not in CALLS:
        return _xml([("returncode", "FAILED"), ("messageKey", "notImplemented"), ("message", "Unknown API call")])
    meeting_id = request.GET.get("meetingID", "").strip()
    valid = checksum_is_valid(call, request.META.get("QUERY_STRING", ""), request.GET.getlist("checksum"), _secret())
    if not valid:
        if call == "join":
            return _join_refused(
                request, meeting_id, "checksumError", "You did not pass the checksum security check", False
            )
        return _failed(call, meeting_id, "checksumError", "You did not pass the checksum security check")
    _expire_idle()
    if call == "getRecordings":
        return _get_recordings(request)
    if call == "publishRecordings":
        return _publish_recordings(request)
    if call == "getMeetings":
        meetings = SimMeeting.objects.filter(ended=False).order_by("create_time")
        node = ET.Element("meetings")
        for meeting in meetings:
            _append(ET.SubElement(node, "meeting"), _meeting_fields(meeting))
        extra: list[tuple[str, object]] = [("meetings", node)]
        if not meetings:
            extra += [("messageKey", "noMeetings"), ("message", "no meetings were found on this server")]
        return _succeeded(call, "", extra)
    if not meeting_id:
        if call == "join":
            return _join_refused(
                request, meeting_id, "missingParamMeetingID", "You must specify a meeting ID for the meeting.", True
            )
        return _failed(call, meeting_id, "missingParamMeetingID", "You must specify a meeting ID for the meeting.")
    if call == "create":
        return _create(request, meeting_id)
    if call == "join":
        return _join(request, meeting_id, True)
    if call == "end":
        return _end(meeting_id)
    meeting = _live(meeting_id)
    if call == "isMeetingRunning":
        running = bool(meeting and meeting.attendees.filter(left_at__isnull=True).exists())
        return _succeeded(call, meeting_id, [("running", running)])
    if meeting is None:
        return _failed(call, meeting_id, "notFound", "We could not find a meeting with that meeting ID")
    return _succeeded(call, meeting_id, _meeting_fields(meeting))


def api_index(request: HttpRequest) -> HttpResponse:
    """bbb-web answers its API root without a checksum; monitoring uses it."""
    return _xml([("returncode", "SUCCESS"), ("version", "2.0"), ("apiVersion", "2.0"), ("bbbVersion", "simulator")])


# --- Pages people see --------------------------------------------------------------------------


def _secret() -> str:
    return simulator_secret()


def _page(request: HttpRequest, template: str, context: dict, status: int = 200) -> HttpResponse:
    response = render(request, template, {"label": LABEL, **context}, status=status)
    response["X-BBB-Simulator"] = "lpcfe"
    response["Cache-Control"] = "no-store"
    return response


def _error_page(request: HttpRequest, key: str, message: str, status: int = 404) -> HttpResponse:
    return _page(request, "bbb_simulator/error.html", {"key": key, "message": message}, status=status)


def home(request: HttpRequest) -> HttpResponse:
    meetings = SimMeeting.objects.filter(ended=False).order_by("meeting_id").prefetch_related("attendees")
    return _page(request, "bbb_simulator/home.html", {"meetings": meetings})


def _welcome_text(welcome: str) -> str:
    """BBB shows the welcome message as HTML; the simulator shows its text, line breaks kept."""
    return html.unescape(strip_tags(re.sub(r"<br\s*/?>", "\n", welcome, flags=re.IGNORECASE)))


@xframe_options_sameorigin
def client(request: HttpRequest) -> HttpResponse:
    """The placeholder meeting page the join redirects to: who is here, with which role."""
    token = request.GET.get("sessionToken", "")
    attendee = SimAttendee.objects.select_related("meeting").filter(session_token=token).first() if token else None
    if attendee is None or attendee.meeting.ended or attendee.left_at:
        return _error_page(request, "invalidSession", "This meeting session is not valid (any more).")
    meeting = attendee.meeting
    disabled = [f for f in meeting.params.get("disabledFeatures", "").split(",") if f]
    loaded = [
        {"name": p["name"], "url": p["entrypoint"], "uuid": str(uuid.uuid4())}
        for p in meeting.plugins
        if not p["failure"]
    ]
    # What the SDK's user_metadata subscription answers: this user's own userdata, nobody else's.
    user_metadata = [{"parameter": k, "value": v} for k, v in attendee.userdata.items()]
    return _page(
        request,
        "bbb_simulator/meeting.html",
        {
            "attendee": attendee,
            "meeting": meeting,
            "present": meeting.attendees.filter(left_at__isnull=True).order_by("joined_at"),
            "chat_disabled": "chat" in disabled,
            "disabled_features": disabled,
            "recording": meeting.params.get("record") == "true",
            "welcome": _welcome_text(meeting.params.get("welcome", "")),
            "userdata": attendee.userdata,
            "has_plugins": bool(loaded),
            "plugins": json.dumps(loaded),
            "failed_plugins": [p for p in meeting.plugins if p["failure"]],
            "user_metadata": json.dumps(user_metadata),
        },
    )


@xframe_options_sameorigin
@require_POST
def leave(request: HttpRequest) -> HttpResponse:
    """Leave the meeting, then go where BBB would send the person: the meeting's logoutURL."""
    token = request.POST.get("sessionToken", "")
    attendee = SimAttendee.objects.select_related("meeting").filter(session_token=token).first() if token else None
    if attendee is None:
        return _error_page(request, "invalidSession", "This meeting session is not valid (any more).")
    if attendee.left_at is None:
        SimAttendee.objects.filter(pk=attendee.pk).update(left_at=timezone.now())
    logout_url = attendee.meeting.params.get("logoutURL", "")
    if logout_url and urlsplit(logout_url).scheme in ("http", "https"):
        return HttpResponseRedirect(logout_url)
    return _error_page(request, "left", "You left the meeting.", status=200)


def playback(request: HttpRequest, record_id: str) -> HttpResponse:
    """Where a published recording's playback URL leads: says what would play here."""
    recording = SimRecording.objects.filter(record_id=record_id, published=True).first()
    if recording is None:
        return _error_page(request, "notFound", "This recording does not exist or is not published.")
    return _page(request, "bbb_simulator/playback.html", {"recording": recording})
