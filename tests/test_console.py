"""The organisers' console over HTTP: check, preview, apply, history, rollback, conflicts, notices,
who may use it, and CSRF. The browser walkthrough with the real Synapse is test_console_browser.py."""

import io
import re
from datetime import datetime, timedelta
from html import unescape
from zoneinfo import ZoneInfo

import pytest
from django.contrib.auth.models import User
from django.core.management import CommandError, call_command
from django.test import Client
from django.urls import URLPattern, reverse

from chat_embed.models import MatrixRoom
from console import notices
from console import urls as console_urls
from console.models import Notice, NoticePost, SourceVersion
from sessions.models import Talk, Track
from sessions.timezones import COOKIE_NAME
from tests import factories
from tests.consolekit import Sources
from tests.test_import_command import Server

pytestmark = pytest.mark.django_db

MISTAKE = ("Toolchains:#fde2e4:toolchains", "Toolchains #fde2e4 toolchains")  # line 3 of the tracks file
MOVE = ("13:00-13:45 | Main hall", "16:00-16:45 | Main hall")


@pytest.fixture
def world(tmp_path, settings) -> Sources:
    sources = Sources(tmp_path)
    settings.SCHEDULE_SOURCE = str(sources.schedule)
    sources.import_()
    return sources


def organiser(email: str = "org@example.org", **kwargs) -> Client:
    return factories.client_for(email, role="organiser", **kwargs)


def post_apply(client: Client, role: str, text: str, original: str, **extra) -> object:
    return client.post(reverse("console:apply"), {f"text_{role}": text, f"original_{role}": original, **extra})


def test_import_schedule_records_the_same_history(world):
    version = SourceVersion.objects.get()
    assert version.via == SourceVersion.Via.COMMAND
    assert version.author == "manage.py import_schedule"
    assert set(version.texts) == {"schedule", "tracks", "rooms"}
    assert version.texts["tracks"] == world.text("tracks")
    assert "4 added" in version.summary
    page = organiser().get(reverse("console:sources")).content.decode()
    assert "manage.py import_schedule" in page
    for role in ("schedule", "tracks", "rooms"):
        assert reverse("console:edit", args=[role]) in page


def test_sources_page_shows_the_last_import_and_unchanged_reruns_add_no_version(world):
    world.import_()
    assert SourceVersion.objects.count() == 1
    world.schedule.write_text(world.text("schedule").replace("13:00-13:45", "13:00-99:45"))
    with pytest.raises(CommandError):
        world.import_()
    html = organiser().get(reverse("console:sources")).content.decode()
    last = re.search(r'data-testid="last-fetch">(.*?)</td>', html, re.S).group(1)
    assert "failed (the schedule stays as it was)" in last and "schedule:" in last
    assert SourceVersion.objects.count() == 1


def test_tracks_file_mistake_is_shown_at_its_line_and_nothing_is_stored(world):
    client = organiser()
    original = world.text("tracks")
    bad = original.replace(*MISTAKE)
    answer = client.post(reverse("console:check"), {"text_tracks": bad}).json()
    assert answer["ok"] is False
    [problem] = [p for p in answer["problems"] if not p["warning"]]
    assert (problem["role"], problem["line"]) == ("tracks", 3)
    assert "found no ':'" in problem["message"]

    page = client.post(reverse("console:preview"), {"text_tracks": bad, "original_tracks": original})
    assert page.status_code == 422
    assert 'data-line="3"' in page.content.decode()
    response = post_apply(client, "tracks", bad, original)
    assert response.status_code == 422
    assert world.text("tracks") == original
    assert Track.objects.get(name="Toolchains").colour == "#fde2e4"
    assert SourceVersion.objects.count() == 1

    fixed = original.replace("#fde2e4", "#aabbcc")
    assert client.post(reverse("console:check"), {"text_tracks": fixed}).json() == {"ok": True, "problems": []}


def test_preview_lists_the_moved_session_in_both_zones_and_highlights_what_is_soon(world):
    client = organiser()
    client.cookies[COOKIE_NAME] = "America/New_York"
    original = world.text("schedule")
    edited = original.replace(*MOVE).replace("Morning hacking", "Morning hacking and tea")
    page = client.post(reverse("console:preview"), {"text_schedule": edited, "original_schedule": original})
    assert page.status_code == 200
    html = page.content.decode()
    moved = re.search(r'<li class="change change-moved[^"]*".*?</li>', html, re.S).group(0)
    assert "Scheduler latency" in moved
    assert "13:00–13:45" in moved and "16:00–16:45" in moved
    talk = Talk.objects.get(external_id="sched-latency")
    from zoneinfo import ZoneInfo

    new_york = talk.start.astimezone(ZoneInfo("America/New_York"))
    assert f"your time: {new_york:%a %d %b %H:%M}" in moved
    renamed = re.search(r'<li class="change change-renamed[^"]*".*?</li>', html, re.S).group(0)
    assert "soon" in renamed.split(">")[0]  # running now: highlighted
    assert "soon" not in moved.split(">")[0]  # 13:00 is two hours away
    assert Talk.objects.get(external_id="sched-latency").start == talk.start  # a preview changes nothing
    assert world.text("schedule") == original


def test_preview_lists_rooms_and_tracks_added(world):
    client = organiser()
    texts = {
        "text_tracks": world.text("tracks") + "Rust:#f7d9c4:rust\n",
        "text_rooms": world.text("rooms") + "Small room::session:small-room\n",
        "text_schedule": world.text("schedule") + "16:00-16:30 | Small room | Rust | Rust in the kernel\n",
    }
    html = unescape(client.post(reverse("console:preview"), texts).content.decode())
    assert "Tracks added: Rust" in html and "Rooms added: Small room" in html
    added = re.search(r'<li class="change change-added[^"]*".*?</li>', html, re.S).group(0)
    assert "Rust in the kernel" in added and "16:00–16:30" in added
    assert not Track.objects.filter(name="Rust").exists()


def test_apply_moves_the_session_writes_the_file_keeps_the_version_and_shows_a_notice(world):
    client = organiser()
    before = Talk.objects.get(external_id="sched-latency")
    original = world.text("schedule")
    response = post_apply(client, "schedule", original.replace(*MOVE), original)
    assert response.status_code == 302
    version = SourceVersion.objects.first()
    assert response["Location"] == reverse("console:version", args=[version.pk])
    assert (version.author, version.via) == ("org@example.org", SourceVersion.Via.CONSOLE)
    after = Talk.objects.get(external_id="sched-latency")
    assert (after.start - before.start).total_seconds() == 3 * 3600
    assert after.sequence == before.sequence + 1  # calendar clients replace their copy
    assert "16:00-16:45 | Main hall" in world.text("schedule")
    [notice] = Notice.objects.filter(version=version)
    assert "Scheduler latency" in notice.text and "13:00–13:45" in notice.text and "16:00–16:45" in notice.text
    assert [r.name for r in notice.rooms.all()] == ["Main hall"]

    attendee = factories.client_for("ada@example.org")
    now_page = attendee.get(reverse("now")).content.decode()
    assert "Scheduler latency” moves from" in now_page
    # Open now pages get it with their next refresh of the rooms.
    assert "Scheduler latency” moves from" in attendee.get(reverse("now_state")).json()["html"]
    talk_page = attendee.get(reverse("talk", args=[after.pk])).content.decode()
    assert 'data-testid="conference-notices"' in talk_page
    other = Talk.objects.get(external_id="linker")  # Kernel room: not about it
    assert 'data-testid="conference-notices"' not in attendee.get(reverse("talk", args=[other.pk])).content.decode()

    # Shown for the rest of the conference day, not after.
    midnight = datetime.combine(world.today + timedelta(days=1), datetime.min.time(), ZoneInfo(world.zone))
    assert notice.expires == midnight
    assert list(notices.active(midnight - timedelta(seconds=1))) == [notice]
    assert list(notices.active(midnight)) == []

    detail = client.get(response["Location"]).content.decode()
    assert "+16:00-16:45 | Main hall" in detail and "-13:00-13:45 | Main hall" in detail


def test_rerooming_and_cancelling_a_session_of_today_make_notices(world):
    client = organiser()
    original = world.text("schedule")
    edited = original.replace("14:00-14:45 | Kernel room", "14:00-14:45 | Main hall")
    edited = re.sub(r"15:00-15:30 \| Main hall.*\n    id: mem-tiering\n", "", edited)
    assert post_apply(client, "schedule", edited, original).status_code == 302
    texts = sorted(Notice.objects.values_list("text", flat=True))
    assert len(texts) == 2
    rerooted = next(t for t in texts if "Linker relaxation" in t)
    assert "moves from Kernel room to Main hall" in rerooted
    cancelled = next(t for t in texts if "Memory tiering" in t)
    assert cancelled.endswith("is cancelled.") and "15:00–15:30, Main hall" in cancelled
    linker = Notice.objects.get(text=rerooted)
    assert sorted(r.name for r in linker.rooms.all()) == ["Kernel room", "Main hall"]


def test_rollback_reapplies_an_earlier_version_with_a_second_notice(world):
    client = organiser()
    first = SourceVersion.objects.get()
    start = Talk.objects.get(external_id="sched-latency").start
    original = world.text("schedule")
    post_apply(client, "schedule", original.replace(*MOVE), original)
    preview = client.get(reverse("console:restore", args=[first.pk]))
    html = preview.content.decode()
    assert preview.status_code == 200
    assert 'name="restored_from"' in html and "Scheduler latency" in html
    hidden = r'<textarea name="((?:text|original)_\w+)" hidden aria-hidden="true">\n(.*?)</textarea>'
    texts = {name: unescape(value) for name, value in re.findall(hidden, html, re.S)}
    assert texts["text_schedule"] == original
    response = post_apply(client, "schedule", original, world.text("schedule"), restored_from=first.pk)
    assert response.status_code == 302
    assert Talk.objects.get(external_id="sched-latency").start == start
    latest = SourceVersion.objects.first()
    assert (latest.via, latest.restored_from) == (SourceVersion.Via.ROLLBACK, first)
    assert world.text("schedule") == original
    assert Notice.objects.filter(kind=Notice.Kind.CHANGE).count() == 2
    assert "moves from" in latest.notices.get().text


OVERLAP = ("14:00-14:45 | Kernel room", "12:30-13:15 | Kernel room")  # into Morning hacking, 11:00-12:55


def apply_form(html: str) -> dict[str, str]:
    """What the preview page's Apply button sends (its hidden texts and fields)."""
    form = re.search(r'<form method="post" action="/console/apply/".*?</form>', html, re.S).group(0)
    hidden = r'<textarea name="(\w+)" hidden aria-hidden="true">\n(.*?)</textarea>'
    fields = {name: unescape(value) for name, value in re.findall(hidden, form, re.S)}
    fields.update(re.findall(r'<input type="hidden" name="(\w+)" value="([^"]*)">', form))
    fields.pop("csrfmiddlewaretoken", None)
    return fields


def test_overlaps_are_refused_unless_allowed_then_listed_as_warnings_and_kept_for_rollback(world, settings):
    settings.SCHEDULE_ALLOW_OVERLAPS = False
    client = organiser()
    editor = client.get(reverse("console:edit", args=["schedule"])).content.decode()
    box = re.search(r'<input type="checkbox" id="allow-overlaps"[^>]*>', editor).group(0)
    assert 'name="allow_overlaps"' in box and "checked" not in box
    original = world.text("schedule")
    clash = original.replace(*OVERLAP)
    texts = {"text_schedule": clash, "original_schedule": original}
    day = f"{world.today:%a %d %b}"
    overlap = f"'Linker relaxation' ({day} 12:30-13:15) overlaps 'Morning hacking' ({day} 11:00-12:55"

    # Refused by default: the overlap is an error at its line, and nothing changes.
    refused = client.post(reverse("console:preview"), texts)
    assert refused.status_code == 422
    html = unescape(refused.content.decode())
    assert overlap in html and "--allow-overlaps" in html
    assert "Overlapping sessions are allowed" not in html
    assert client.post(reverse("console:check"), {"text_schedule": clash}).json()["ok"] is False

    # Allowed: the check and the preview pass, the overlap listed under Warnings, the choice carried to Apply.
    assert client.post(reverse("console:check"), {"text_schedule": clash, "allow_overlaps": "1"}).json()["ok"]
    page = client.post(reverse("console:preview"), {**texts, "allow_overlaps": "1"})
    assert page.status_code == 200
    html = unescape(page.content.decode())
    warnings = html.split("<h2>Warnings</h2>")[1].split("</ol>")[0]
    assert overlap in warnings
    assert "both are imported and shown side by side" in warnings
    form = apply_form(html)
    assert form == {**texts, "allow_overlaps": "1"}
    assert world.text("schedule") == original and SourceVersion.objects.count() == 1  # a preview changes nothing

    response = client.post(reverse("console:apply"), form)
    assert response.status_code == 302
    overlapping = SourceVersion.objects.first()
    assert overlapping.allow_overlaps and overlapping.via == SourceVersion.Via.CONSOLE
    linker, hack = Talk.objects.get(external_id="linker"), Talk.objects.get(external_id="morning-hack")
    assert linker.room == hack.room and linker.start < hack.end
    assert world.text("schedule") == clash
    detail = client.get(response["Location"]).content.decode()
    assert re.search(r'data-testid="allow-overlaps">allowed', detail)

    # Without the box, Apply refuses the same text (the server decides, not the page).
    later = clash.replace(*MOVE)
    assert post_apply(client, "schedule", later, clash).status_code == 422
    assert post_apply(client, "schedule", later, clash, allow_overlaps="1").status_code == 302

    # Re-applying the overlapping version previews and applies with its choice.
    restore = client.get(reverse("console:restore", args=[overlapping.pk]))
    assert restore.status_code == 200
    html = unescape(restore.content.decode())
    assert "Overlapping sessions are allowed" in html and "overlaps 'Morning hacking'" in html
    form = apply_form(html)
    assert form["allow_overlaps"] == "1" and form["restored_from"] == str(overlapping.pk)
    assert client.post(reverse("console:apply"), form).status_code == 302
    rolled_back = SourceVersion.objects.first()
    assert (rolled_back.via, rolled_back.restored_from, rolled_back.allow_overlaps) == (
        SourceVersion.Via.ROLLBACK,
        overlapping,
        True,
    )
    assert world.text("schedule") == clash
    # The first version had no overlaps and was imported without allowing them: so is its re-application.
    first = SourceVersion.objects.last()
    assert "allow_overlaps" not in apply_form(client.get(reverse("console:restore", args=[first.pk])).content.decode())


def test_overlaps_box_starts_from_the_setting_and_the_command_records_its_choice(world, settings):
    settings.SCHEDULE_ALLOW_OVERLAPS = True
    editor = organiser().get(reverse("console:edit", args=["schedule"])).content.decode()
    assert re.search(r'<input type="checkbox" id="allow-overlaps"[^>]* checked>', editor)
    world.schedule.write_text(world.text("schedule").replace(*OVERLAP))
    world.import_()  # SCHEDULE_ALLOW_OVERLAPS on: imported with the overlap as a warning
    assert SourceVersion.objects.first().allow_overlaps is True
    settings.SCHEDULE_ALLOW_OVERLAPS = False
    with pytest.raises(CommandError):
        world.import_()
    assert SourceVersion.objects.count() == 2


def test_second_organiser_apply_is_refused_with_the_other_change_shown(world):
    alice, bob = organiser("alice@example.org"), organiser("bob@example.org")
    original = world.text("schedule")
    # Both open the editor on the same text.
    for client in (alice, bob):
        assert original in unescape(client.get(reverse("console:edit", args=["schedule"])).content.decode())
    assert post_apply(alice, "schedule", original.replace(*MOVE), original).status_code == 302
    bobs = original.replace("Memory tiering", "Memory tiering in practice")
    refused = post_apply(bob, "schedule", bobs, original)
    assert refused.status_code == 409
    html = refused.content.decode()
    assert "alice@example.org applied a change at" in html
    assert "+16:00-16:45 | Main hall" in html  # what Alice changed
    assert "Memory tiering in practice" in html  # Bob's text is handed back, not lost
    assert "Memory tiering in practice" not in world.text("schedule")
    assert not Talk.objects.filter(title="Memory tiering in practice").exists()
    assert SourceVersion.objects.count() == 2


def _console_urls(version_pk: int) -> list[str]:
    urls = []
    for pattern in console_urls.urlpatterns:
        assert isinstance(pattern, URLPattern)
        args = []
        for name in pattern.pattern.converters:
            args.append("tracks" if name == "role" else version_pk)
        urls.append(reverse(f"console:{pattern.name}", args=args))
    return urls


def test_attendee_and_guest_get_403_on_every_console_url(world):
    urls = _console_urls(SourceVersion.objects.get().pk)
    assert len(urls) == len(console_urls.urlpatterns) >= 11
    attendee = factories.client_for("ada@example.org")
    speaker = Client()
    speaker.force_login(factories.person("sam@example.org", role="speaker"))
    guest = factories.guest_client("Visitor")
    for who, client in (("attendee", attendee), ("speaker", speaker), ("guest", guest)):
        for url in urls:
            for method in (client.get, client.post):
                status = method(url, {"text_tracks": "x:#000000", "target": "all", "text": "hi"}).status_code
                assert status == 403, (who, method.__name__, url, status)
    assert reverse("console:sources") not in attendee.get(reverse("now")).content.decode()
    assert reverse("console:sources") in organiser().get(reverse("now")).content.decode()
    anonymous = Client()
    for url in urls:
        response = anonymous.get(url)
        assert response.status_code == 302 and response["Location"].startswith(reverse("login")), url
    assert Notice.objects.count() == 0
    assert SourceVersion.objects.count() == 1


def test_every_console_post_needs_csrf(world):
    client = organiser(enforce_csrf_checks=True)
    version = SourceVersion.objects.get()
    posts = [u for u in _console_urls(version.pk) if client.get(u).status_code == 405]
    assert set(posts) == {
        reverse("console:check"),
        reverse("console:preview"),
        reverse("console:apply"),
        reverse("console:announce"),
        reverse("console:retry_notices"),
        reverse("console:end_notice", args=[version.pk]),
    }
    original = world.text("schedule")
    for url in posts:
        response = client.post(url, {"text_schedule": original.replace(*MOVE), "original_schedule": original})
        assert response.status_code == 403, url
    assert SourceVersion.objects.count() == 1
    # Every form the console draws carries the token.
    for url in (reverse("console:sources"), reverse("console:edit", args=["schedule"])):
        html = client.get(url).content.decode()
        forms = re.findall(r'<form method="post".*?</form>', html, re.S)
        assert forms and all("csrfmiddlewaretoken" in form for form in forms), url


def test_announcements_are_escaped_rate_limited_and_on_the_now_page(world, settings):
    settings.SCHEDULE_ANNOUNCEMENTS_PER_10_MINUTES = 2
    client = organiser()
    text = '<script>window.__x=1</script><img src=x onerror="alert(1)"> Lunch moves to 13:30'
    client.post(reverse("console:announce"), {"text": text, "target": "all"})
    client.post(reverse("console:announce"), {"text": "Second", "target": "track:kernel-summit"})
    third = client.post(reverse("console:announce"), {"text": "Third", "target": "all"}, follow=True)
    assert "Too many announcements" in third.content.decode()
    assert Notice.objects.filter(kind=Notice.Kind.ANNOUNCEMENT).count() == 2
    attendee = factories.client_for("ada@example.org")
    html = attendee.get(reverse("now")).content.decode()
    assert "&lt;script&gt;window.__x=1&lt;/script&gt;" in html
    assert "<script>window.__x" not in html and "<img src=x" not in html
    # The track's announcement shows beside that track's sessions, not elsewhere.
    kernel = Talk.objects.get(external_id="mem-tiering")
    assert "Second" in attendee.get(reverse("talk", args=[kernel.pk])).content.decode()
    linker = Talk.objects.get(external_id="linker")
    assert "Second" not in attendee.get(reverse("talk", args=[linker.pk])).content.decode()


def test_chat_that_cannot_be_reached_does_not_undo_the_apply(world, settings, django_capture_on_commit_callbacks):
    settings.MATRIX_URL, settings.MATRIX_SERVER_NAME, settings.MATRIX_ADMIN_TOKEN = "http://127.0.0.1:9", "x.test", "t"
    settings.MATRIX_TIMEOUT = 1
    MatrixRoom.objects.create(
        key="track:kernel-summit",
        alias_localpart="kernel-summit",
        room_id="!abc:x.test",
        name="Kernel Summit",
        track=Track.objects.get(slug="kernel-summit"),
    )
    client = organiser()
    original = world.text("schedule")
    with django_capture_on_commit_callbacks(execute=True):
        assert post_apply(client, "schedule", original.replace(*MOVE), original).status_code == 302
    assert "16:00-16:45" in world.text("schedule")
    post = NoticePost.objects.get()
    assert post.posted_at is None and post.attempts == 1
    assert "Cannot reach the Matrix homeserver" in post.last_error
    page = client.get(reverse("console:sources")).content.decode()
    assert "Cannot reach the Matrix homeserver" in page and reverse("console:retry_notices") in page


def test_admin_refuses_imported_fields_and_points_to_the_console(world):
    admin = Client()
    admin.force_login(User.objects.create_superuser("root@example.org", "root@example.org", "pw"))
    talk = Talk.objects.get(external_id="sched-latency")
    url = reverse("admin:lpc_sessions_talk_change", args=[talk.pk])
    html = admin.get(url).content.decode()
    assert 'name="title"' not in html and 'name="start_0"' not in html
    assert reverse("console:sources") in html
    admin.post(url, {"title": "Hijacked", "_save": "1"})
    assert Talk.objects.get(pk=talk.pk).title == "Scheduler latency"
    track = Track.objects.get(slug="toolchains")
    track_url = reverse("admin:lpc_sessions_track_change", args=[track.pk])
    assert 'name="colour"' not in admin.get(track_url).content.decode()


def test_admin_keeps_fields_no_source_gives_editable(world, settings):
    """Without a rooms file a source only names its rooms: type, capacity and server are set in the admin."""
    world.schedule.write_text(world.text("schedule").replace("rooms:      rooms\n", ""))
    settings.SCHEDULE_SOURCE = str(world.schedule)
    SourceVersion.objects.all().delete()
    admin = Client()
    admin.force_login(User.objects.create_superuser("root@example.org", "root@example.org", "pw"))
    room = Talk.objects.get(external_id="linker").room
    html = admin.get(reverse("admin:lpc_sessions_room_change", args=[room.pk])).content.decode()
    assert 'name="capacity"' in html and 'name="kind"' in html
    assert 'name="name"' not in html


@pytest.fixture
def server():
    s = Server()
    yield s
    s.close()


def test_followed_url_shows_its_last_fetch_and_its_files_are_edited_without_fetching(tmp_path, settings, server):
    """A schedule followed from a URL (here a local schedule served over HTTP) with local tracks and
    rooms files given to the command: the files are editable, typing checks them without a fetch."""
    sources = Sources(tmp_path)
    body = sources.text("schedule").encode()
    server.responses = [(200, body, {})] * 3
    url = server.url + "/schedule"
    tracks, rooms = str(tmp_path / "tracks"), str(tmp_path / "rooms")
    call_command("import_schedule", url, "--tracks", tracks, "--rooms", rooms, stdout=io.StringIO())
    settings.SCHEDULE_SOURCE = url
    client = organiser()
    html = client.get(reverse("console:sources")).content.decode()
    assert reverse("console:edit", args=["tracks"]) in html and reverse("console:edit", args=["rooms"]) in html
    assert reverse("console:edit", args=["schedule"]) not in html  # a URL is followed, not edited
    assert "followed URL" in html and "Last import:" in html and "succeeded: 4 added" in html
    fetches = len(server.requests)
    bad = sources.text("tracks").replace(*MISTAKE)
    answer = client.post(reverse("console:check"), {"text_tracks": bad}).json()
    assert answer["ok"] is False and answer["problems"][0]["line"] == 3
    assert client.post(reverse("console:check"), {"text_tracks": sources.text("tracks")}).json()["ok"] is True
    assert len(server.requests) == fetches
    # Preview runs the whole import, fetching the schedule once.
    edited = sources.text("tracks").replace("#fde2e4", "#aabbcc")
    page = client.post(reverse("console:preview"), {"text_tracks": edited, "original_tracks": sources.text("tracks")})
    assert "Tracks changed: Toolchains" in page.content.decode()
    assert len(server.requests) == fetches + 1


def test_a_schedule_shifted_to_today_stays_shifted_when_edited(tmp_path, settings):
    """The demo imports with --shift-to-today; an edit in the console must not move everything back."""
    sources = Sources(tmp_path)
    today = sources.today.isoformat()
    sources.schedule.write_text(sources.text("schedule").replace(f"day {today}", "day 2026-10-23"))
    settings.SCHEDULE_SOURCE = str(sources.schedule)
    call_command("import_schedule", str(sources.schedule), "--shift-to-today", stdout=io.StringIO())
    start = Talk.objects.get(external_id="sched-latency").start
    assert start.astimezone(ZoneInfo(sources.zone)).date() == sources.today
    client = organiser()
    original = sources.text("schedule")
    edited = original.replace("Memory tiering", "Memory tiering today")
    page = client.post(reverse("console:preview"), {"text_schedule": edited, "original_schedule": original})
    assert "1 retitled" in page.content.decode() and "moved" not in page.content.decode()
    assert post_apply(client, "schedule", edited, original).status_code == 302
    assert Talk.objects.get(external_id="sched-latency").start == start
    assert SourceVersion.objects.first().shifted_to_today
