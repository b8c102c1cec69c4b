"""The organisers' console: sources, editor, preview, apply, history and rollback, notices."""

import difflib
import functools
import itertools
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta, tzinfo

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST, require_safe

from console import notices, sources
from console.models import Notice, NoticePost, SourceFetch, SourceVersion
from sessions import throttle
from sessions.importers.apply import ScheduleDiff, Slot
from sessions.models import Room, Track
from sessions.people import viewer_for
from sessions.timezones import request_conference_zone, zone_label

logger = logging.getLogger(__name__)

SOON = timedelta(hours=1)


def organiser_required(view: Callable) -> Callable:
    @functools.wraps(view)
    @never_cache
    def wrapped(request: HttpRequest, *args, **kwargs) -> HttpResponse:
        viewer = viewer_for(request)
        if not request.user.is_authenticated and not viewer.is_guest:
            return redirect_to_login(request.get_full_path())
        if not viewer.is_organiser:
            raise PermissionDenied
        return view(request, *args, **kwargs)

    return wrapped


def _render(request: HttpRequest, template: str, context: dict, status: int = 200) -> HttpResponse:
    """Console pages name the zone their times are in (the viewer's)."""
    context["times_zone"] = zone_label(request.viewer_zone, timezone.now())
    return render(request, template, context, status=status)


def _author(request: HttpRequest) -> str:
    return viewer_for(request).email or request.user.get_username()


def _texts(request: HttpRequest, prefix: str = "text_") -> dict[str, str]:
    # Browsers send textarea lines ending in CRLF; the files keep the line ends they had.
    return {
        role: request.POST[prefix + role].replace("\r\n", "\n")
        for role in sources.ROLES
        if prefix + role in request.POST
    }


def _allow_overlaps(request: HttpRequest) -> bool:
    """The editor's "Allow overlapping sessions" box (carried on to Apply by the preview)."""
    return request.POST.get("allow_overlaps") == "1"


# --- the sources page ---------------------------------------------------------------------


@organiser_required
@require_safe
def sources_page(request: HttpRequest) -> HttpResponse:
    versions = SourceVersion.objects.all()
    last_fetch = SourceFetch.objects.first()
    pending = NoticePost.objects.filter(posted_at__isnull=True, notice__expires__gt=timezone.now())
    listed = sources.current_sources()
    return _render(
        request,
        "console/sources.html",
        {
            "sources": listed,
            "changed_at": _last_changes(versions[:200], [s.role for s in listed]),
            "last_fetch": last_fetch,
            "recent": versions[:5],
            "notices": notices.active().select_related(None),
            "pending": pending.select_related("notice", "matrix_room"),
            "rooms": Room.objects.all(),
            "tracks": Track.objects.all(),
            "page": "sources",
        },
    )


def _last_changes(versions, roles: list[str]) -> dict[str, SourceVersion]:
    """Role -> the newest version that changed that source's text (or the first that had it)."""
    found: dict[str, SourceVersion] = {}
    # Each version beside the one before it; the oldest has none (an empty history has no pairs).
    for newer, older in itertools.pairwise([*versions, None]):
        for role in roles:
            if role in found or role not in newer.texts and role not in newer.paths:
                continue
            if older is None or newer.texts.get(role) != older.texts.get(role):
                found[role] = newer
    return found


# --- editing, checking, previewing, applying ------------------------------------------------


def _editable(role: str) -> sources.Source:
    for source in sources.current_sources():
        if source.role == role and source.editable:
            return source
    raise Http404(_("There is no local %(role)s file to edit.") % {"role": role})


@organiser_required
@require_safe
def edit(request: HttpRequest, role: str) -> HttpResponse:
    source = _editable(role)
    context = {
        "source": source,
        "text": source.text,
        "original": source.text,
        "problems": [],
        "allow_overlaps": settings.SCHEDULE_ALLOW_OVERLAPS,
    }
    return _render(request, "console/edit.html", context)


@organiser_required
@require_POST
def check_api(request: HttpRequest) -> JsonResponse:
    """The editor's check as you type: every problem of the edited text, at its line."""
    texts = _texts(request)
    if not texts:
        return JsonResponse({"error": _("No text to check.")}, status=400)
    return JsonResponse(sources.check(texts, _allow_overlaps(request)).as_json())


@dataclass
class Change:
    kind: str
    title: str
    before: Slot | None
    after: Slot | None
    soon: bool  # running, or starting within the hour (before or after the change)


def _soon(slot: Slot | None, now: datetime) -> bool:
    return slot is not None and slot.start <= now + SOON and slot.end > now


def _changes(diff: ScheduleDiff, now: datetime) -> list[Change]:
    out = [Change("added", s.title, None, s, _soon(s, now)) for s in diff.added]
    for before, after in diff.moved:
        if (before.start, before.end) != (after.start, after.end):
            out.append(Change("moved", after.title, before, after, _soon(before, now) or _soon(after, now)))
        if before.room != after.room:
            out.append(Change("re-roomed", after.title, before, after, _soon(before, now) or _soon(after, now)))
    for before, after in diff.retitled:
        out.append(Change("renamed", after.title, before, after, _soon(before, now) or _soon(after, now)))
    out += [Change("removed", s.title, s, None, _soon(s, now)) for s in diff.cancelled]
    return out


def _times(slot: Slot | None, conference: tzinfo, viewer: tzinfo) -> dict | None:
    if slot is None:
        return None

    def span(tz: tzinfo) -> str:
        start, end = slot.start.astimezone(tz), slot.end.astimezone(tz)
        return f"{start:%a %d %b %H:%M}–{end:%H:%M} ({zone_label(tz, slot.start)})"

    return {"conference": span(conference), "viewer": span(viewer) if viewer != conference else "", "room": slot.room}


def _render_preview(
    request: HttpRequest,
    checked: sources.Checked,
    texts: dict[str, str],
    originals: dict[str, str],
    allow_overlaps: bool,
    restoring: SourceVersion | None = None,
) -> HttpResponse:
    """The preview page of applying `texts` (edited, or an earlier version's when `restoring`)."""
    conference_zone, viewer_zone = request_conference_zone(request), request.viewer_zone
    now = timezone.now()
    changes = [
        {
            "kind": c.kind,
            "title": c.title,
            "old_title": c.before.title if c.before else "",
            "soon": c.soon,
            "before": _times(c.before, conference_zone, viewer_zone),
            "after": _times(c.after, conference_zone, viewer_zone),
        }
        for c in _changes(checked.diff, now)
    ]
    context = {
        "diff": checked.diff,
        "summary": sources.summary(checked.diff),
        "changes": changes,
        "soon_count": sum(c["soon"] for c in changes),
        "texts": texts,
        "originals": originals,
        "warnings": _problems_for_page(checked),
        "restoring": restoring,
        "allow_overlaps": allow_overlaps,
    }
    return _render(request, "console/preview.html", context)


def _problems_for_page(checked: sources.Checked) -> list[dict]:
    return checked.as_json()["problems"]


@organiser_required
@require_POST
def preview(request: HttpRequest) -> HttpResponse:
    """What applying the edited text would change (or, if it does not check, its problems)."""
    texts, originals = _texts(request), _texts(request, "original_")
    role = next(iter(texts), "")
    allow_overlaps = _allow_overlaps(request)
    checked = sources.preview(texts, allow_overlaps)
    if not checked.ok:
        source = _editable(role)
        context = {
            "source": source,
            "text": texts[role],
            "original": originals.get(role, ""),
            "problems": _problems_for_page(checked),
            "allow_overlaps": allow_overlaps,
        }
        return _render(request, "console/edit.html", context, status=422)
    return _render_preview(request, checked, texts, originals, allow_overlaps)


@organiser_required
@require_POST
def apply(request: HttpRequest) -> HttpResponse:
    texts, originals = _texts(request), _texts(request, "original_")
    restoring = None
    if request.POST.get("restored_from"):
        restoring = get_object_or_404(SourceVersion, pk=request.POST["restored_from"])
    if not texts:
        return redirect("console:sources")
    allow_overlaps = _allow_overlaps(request)
    try:
        checked, version = sources.apply(
            texts, originals, author=_author(request), restored_from=restoring, allow_overlaps=allow_overlaps
        )
    except sources.Conflict as conflict:
        return _render(request, "console/conflict.html", _conflict_context(conflict, texts), status=409)
    except sources.NotEditable as e:
        messages.error(request, str(e))
        return redirect("console:sources")
    if version is None:
        role = next(iter(texts))
        context = {
            "source": _editable(role),
            "text": texts[role],
            "original": originals.get(role, ""),
            "problems": _problems_for_page(checked),
            "allow_overlaps": allow_overlaps,
        }
        return _render(request, "console/edit.html", context, status=422)
    messages.success(request, _("Applied: %(summary)s.") % {"summary": version.summary})
    return redirect("console:version", pk=version.pk)


def _conflict_context(conflict: sources.Conflict, texts: dict[str, str]) -> dict:
    changes = []
    for role, (started, now) in conflict.changed.items():
        theirs = difflib.unified_diff(
            started.splitlines(), now.splitlines(), _("when you opened it"), _("now"), lineterm="", n=1
        )
        changes.append({"role": role, "name": sources.ROLE_NAMES[role], "theirs": list(theirs), "now": now})
    return {"by": conflict.by, "changes": changes, "texts": texts}


# --- history and rollback ---------------------------------------------------------------------


@organiser_required
@require_safe
def history(request: HttpRequest) -> HttpResponse:
    return _render(request, "console/history.html", {"versions": SourceVersion.objects.all()[:200], "page": "history"})


def _text_diffs(version: SourceVersion) -> list[dict]:
    previous = SourceVersion.objects.filter(created__lte=version.created, pk__lt=version.pk).first()
    out = []
    for role in sources.ROLES:
        if role not in version.texts:
            continue
        before = previous.texts.get(role, "") if previous else ""
        lines = list(
            difflib.unified_diff(
                before.splitlines(), version.texts[role].splitlines(), _("before"), _("after"), lineterm="", n=1
            )
        )
        out.append({"role": role, "name": sources.ROLE_NAMES[role], "lines": lines})
    return out


@organiser_required
@require_safe
def version(request: HttpRequest, pk: int) -> HttpResponse:
    the_version = get_object_or_404(SourceVersion, pk=pk)
    return _render(
        request,
        "console/version.html",
        {
            "version": the_version,
            "diffs": _text_diffs(the_version),
            "is_latest": the_version == SourceVersion.objects.first(),
            "notices": the_version.notices.prefetch_related("posts__matrix_room"),
        },
    )


@organiser_required
@require_safe
def restore(request: HttpRequest, pk: int) -> HttpResponse:
    """The preview of re-applying an earlier version (nothing changes until Apply)."""
    the_version = get_object_or_404(SourceVersion, pk=pk)
    current = {s.role: s for s in sources.current_sources() if s.editable}
    texts = {role: text for role, text in the_version.texts.items() if role in current}
    if not texts:
        raise Http404(_("This version has no local source files to re-apply."))
    checked = sources.preview(texts, the_version.allow_overlaps)
    originals = {role: current[role].text for role in texts}
    if not checked.ok:
        context = {"version": the_version, "problems": _problems_for_page(checked)}
        return _render(request, "console/restore_failed.html", context, status=422)
    return _render_preview(request, checked, texts, originals, the_version.allow_overlaps, restoring=the_version)


# --- notices ------------------------------------------------------------------------------------


@organiser_required
@require_POST
def announce(request: HttpRequest) -> HttpResponse:
    text = request.POST.get("text", "").strip()
    target = request.POST.get("target", "all")
    if not text or len(text) > 1000:
        messages.error(request, _("Write an announcement of at most 1000 characters."))
        return redirect("console:sources")
    wait = throttle.hit("announce", _author(request), settings.SCHEDULE_ANNOUNCEMENTS_PER_10_MINUTES, 600)
    if wait:
        messages.error(
            request,
            _("Too many announcements: wait %(wait)s before the next one.") % {"wait": throttle.describe_wait(wait)},
        )
        return redirect("console:sources")
    try:
        notice = notices.announce(text, _author(request), target)
    except (Room.DoesNotExist, Track.DoesNotExist):
        messages.error(request, _("There is no such room or track."))
        return redirect("console:sources")
    posted, failed = notices.post([notice.pk])
    if failed:
        messages.warning(
            request,
            _("Announcement shown on the now page; %(n)d chat(s) could not be reached yet (see below).")
            % {"n": failed},
        )
    else:
        messages.success(request, _("Announcement posted in %(n)d chat(s) and shown on the now page.") % {"n": posted})
    return redirect("console:sources")


@organiser_required
@require_POST
def retry_notices(request: HttpRequest) -> HttpResponse:
    posted, failed = notices.post()
    messages.info(
        request, _("%(posted)d notice(s) posted, %(failed)d still failing.") % {"posted": posted, "failed": failed}
    )
    return redirect("console:sources")


@organiser_required
@require_POST
def end_notice(request: HttpRequest, pk: int) -> HttpResponse:
    """Take a notice off the pages now (it stays in the chats' history)."""
    Notice.objects.filter(pk=pk).update(expires=timezone.now())
    return redirect("console:sources")
