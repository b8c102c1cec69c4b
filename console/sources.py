"""The schedule's sources as the console sees them, and the one way a schedule is applied.

The sources are the files (or URL) `import_schedule` reads: SCHEDULE_SOURCE, and the tracks and
rooms files its header names (or the command was given). The files on disk stay the truth, so
the command line and the console never undo each other: the console checks a text with the
importer, applies it with the importer, writes the file, and records the version, all or
nothing, under one lock.
"""

import fcntl
import hashlib
import logging
import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from django.conf import settings
from django.db import DatabaseError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from console import notices
from console.models import SourceFetch, SourceVersion
from sessions.importers import ImportFailed, ParsedSchedule, load_schedule, shift_to_today
from sessions.importers.apply import ScheduleDiff, apply_schedule
from sessions.importers.base import Problem, Problems
from sessions.importers.flatfiles import parse_rooms, parse_tracks
from sessions.importers.local import parse_local
from sessions.importers.sources import SourceError, display_name, is_url, read_source, relative_to
from sessions.importers.times import iana_zone

logger = logging.getLogger(__name__)

ROLES = ("schedule", "tracks", "rooms")
PARSERS = {"tracks": parse_tracks, "rooms": parse_rooms}
ROLE_NAMES = {
    "schedule": gettext_lazy("Schedule"),
    "tracks": gettext_lazy("Tracks file"),
    "rooms": gettext_lazy("Rooms file"),
}


class Conflict(Exception):
    """A source changed since the organiser opened it; `changed` lists the roles, `by` the version."""

    def __init__(self, changed: dict[str, tuple[str, str]], by: SourceVersion | None) -> None:
        self.changed = changed  # role -> (the text the organiser started from, the text now)
        self.by = by
        super().__init__(_("Someone else changed %(what)s meanwhile.") % {"what": ", ".join(changed)})


class NotEditable(Exception):
    pass


@dataclass
class Source:
    role: str
    location: str  # path or URL, as import_schedule is given it
    text: str | None = None  # None: a URL, or a file that cannot be read
    error: str = ""

    @property
    def name(self) -> str:
        return str(ROLE_NAMES[self.role])

    @property
    def display(self) -> str:
        return display_name(self.location)

    @property
    def editable(self) -> bool:
        return not is_url(self.location) and self.text is not None

    @property
    def digest(self) -> str:
        return text_digest(self.text or "")


def text_digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def _read_text(location: str) -> tuple[str | None, str]:
    if is_url(location):
        return None, ""
    try:
        fetched = read_source(location)
    except SourceError as e:
        return None, e.reason
    assert fetched is not None
    return fetched.data.decode("utf-8", errors="replace"), ""


def source_paths(location: str, tracks: str | None = None, rooms: str | None = None) -> dict[str, str]:
    """Role -> location of each source, as `load_schedule` would find them."""
    paths = {"schedule": location}
    if not is_url(location) and not (tracks and rooms):
        try:
            fetched = read_source(location)
        except SourceError:
            fetched = None
        if fetched is not None:
            local = parse_local(fetched.data, fetched.display, Problems())
            if local.tracks_file and not tracks:
                tracks = relative_to(location, local.tracks_file[0])
            if local.rooms_file and not rooms:
                rooms = relative_to(location, local.rooms_file[0])
    if tracks:
        paths["tracks"] = tracks
    if rooms:
        paths["rooms"] = rooms
    return paths


def configured_paths() -> dict[str, str]:
    """The sources: SCHEDULE_SOURCE (and its files), else those of the last recorded import."""
    latest = SourceVersion.objects.first()
    location = settings.SCHEDULE_SOURCE or (latest.location if latest else "")
    if not location:
        return {}
    if latest and latest.paths.get("schedule") == display_name(location):
        known = latest.paths
        return source_paths(location, known.get("tracks"), known.get("rooms"))
    return source_paths(location)


def current_sources() -> list[Source]:
    out = []
    for role, location in configured_paths().items():
        text, error = _read_text(location)
        out.append(Source(role, location, text, error))
    return out


@dataclass
class Checked:
    """The outcome of checking (or previewing) a set of texts."""

    problems: dict[str, list[Problem]] = field(default_factory=dict)  # role -> problems in that source
    other: list[Problem] = field(default_factory=list)  # problems the importer places nowhere in our files
    schedule: ParsedSchedule | None = None
    diff: ScheduleDiff | None = None
    files_only: bool = False  # only the edited files were checked (see check())

    @property
    def ok(self) -> bool:
        if self.files_only:
            return not any(not p.warning for problems in self.problems.values() for p in problems)
        return self.schedule is not None

    def as_json(self) -> dict:
        def one(p: Problem, role: str = "") -> dict:
            return {"role": role, "line": p.where.line, "message": p.message, "warning": p.warning, "text": str(p)}

        items = [one(p, role) for role, problems in self.problems.items() for p in problems]
        items += [one(p) for p in self.other]
        return {"ok": self.ok, "problems": items}


@contextmanager
def _staged(paths: dict[str, str], texts: dict[str, str]) -> Iterator[dict[str, str]]:
    """The sources with `texts` replacing the files' contents, as files in a private folder."""
    with tempfile.TemporaryDirectory(prefix="lpcfe-console-") as folder:
        staged = {}
        for role, location in paths.items():
            if role in texts:
                target = Path(folder) / role / Path(location).name
                target.parent.mkdir()
                target.write_text(texts[role], encoding="utf-8")
                staged[role] = str(target)
            else:
                staged[role] = location
        yield staged


def _load(paths: dict[str, str], texts: dict[str, str], allow_overlaps: bool) -> Checked:
    """Run the importer's checks on the sources with `texts` in place (nothing is written);
    `allow_overlaps` lists sessions at once in one room as warnings instead of refusing them."""
    checked = Checked()
    with _staged(paths, texts) as staged:
        by_name = {display_name(loc): role for role, loc in staged.items()}
        try:
            checked.schedule = load_schedule(
                staged["schedule"],
                tracks=staged.get("tracks"),
                rooms=staged.get("rooms"),
                allow_overlaps=allow_overlaps,
            )
            found = checked.schedule.warnings
        except ImportFailed as e:
            found = e.problems.items
        for problem in found:
            role = by_name.get(problem.where.source)
            if role:
                checked.problems.setdefault(role, []).append(problem)
            else:
                checked.other.append(problem)
        if checked.schedule is not None:
            # Messages and history name the real files, not the staging folder.
            checked.schedule.source = display_name(paths["schedule"])
            if _shifted():
                tz = iana_zone(checked.schedule.conference.timezone or "UTC")
                shift_to_today(checked.schedule, timezone.localdate(timezone=tz))
    return checked


def _shifted() -> bool:
    """The schedule was last applied moved to start today (a demo): edits keep it so."""
    latest = SourceVersion.objects.first()
    return bool(latest and latest.shifted_to_today)


def check(texts: dict[str, str], allow_overlaps: bool = False) -> Checked:
    """The check as you type. With a followed URL it runs the edited file's own parser, so typing
    does not fetch the URL every second; Preview runs the whole import."""
    paths = configured_paths()
    if not is_url(paths.get("schedule", "")) or "schedule" in texts:
        return _load(paths, texts, allow_overlaps)
    checked = Checked(files_only=True)
    for role, text in texts.items():
        if role in paths:
            problems = Problems()
            PARSERS[role](text.encode(), display_name(paths[role]), problems)
            checked.problems[role] = problems.items
    return checked


def preview(texts: dict[str, str], allow_overlaps: bool = False) -> Checked:
    """Check, then compute what applying would change, without changing anything."""
    paths = configured_paths()
    checked = _load(paths, texts, allow_overlaps)
    if checked.ok:
        checked.diff = apply_schedule(checked.schedule, dry_run=True, source=display_name(paths["schedule"]))
    return checked


@contextmanager
def _apply_lock() -> Iterator[None]:
    """One apply at a time across the server's processes (the console's and the command's)."""
    settings.DATA_DIR.mkdir(parents=True, exist_ok=True)
    with open(settings.DATA_DIR / "schedule-apply.lock", "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _write_atomically(location: str, text: str) -> None:
    path = Path(location)
    fd, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
        if path.exists():
            os.chmod(temporary, path.stat().st_mode & 0o777)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def summary(diff: ScheduleDiff) -> str:
    """The importer's summary, plus the rooms and tracks whose settings changed (it counts only new ones)."""
    parts = [diff.summary()]
    if diff.rooms_changed:
        parts.append(_("rooms changed: %(names)s") % {"names": ", ".join(diff.rooms_changed)})
    if diff.tracks_changed:
        parts.append(_("tracks changed: %(names)s") % {"names": ", ".join(diff.tracks_changed)})
    return "; ".join(parts)


def record(
    schedule: ParsedSchedule,
    *,
    author: str,
    via: str,
    paths: dict[str, str],
    texts: dict[str, str],
    progress: bool = False,
    restored_from: SourceVersion | None = None,
    write: dict[str, str] | None = None,
    shifted: bool | None = None,
    allow_overlaps: bool = False,
) -> tuple[SourceVersion, ScheduleDiff]:
    """Apply `schedule`, write `write` (role -> text) to its files and keep the version, all in one
    transaction; then post notices of today's changes. The command and the console both end here."""
    with transaction.atomic():
        diff = apply_schedule(schedule, source=display_name(paths["schedule"]), progress=progress)
        latest = SourceVersion.objects.first()
        shifted = _shifted() if shifted is None else shifted
        choices = (texts, shifted, allow_overlaps)
        unchanged = latest is not None and (latest.texts, latest.shifted_to_today, latest.allow_overlaps) == choices
        if not diff.changed and not write and unchanged:
            return latest, diff  # a re-run that changed nothing (periodic imports) is not a new version
        version = SourceVersion.objects.create(
            author=author[:254],
            via=via,
            location=display_name(paths["schedule"])[:500],
            # A URL's query may carry an API key: kept out of the database, like out of messages.
            paths={role: display_name(location) for role, location in paths.items()},
            texts=texts,
            summary=summary(diff)[:500],
            lines=diff.lines(limit=None),
            restored_from=restored_from,
            shifted_to_today=shifted,
            allow_overlaps=allow_overlaps,
        )
        made = notices.for_changes(diff, version)
        # Last, so a file that cannot be written undoes the database changes (and the files written before it).
        before = texts_of({role: paths[role] for role in write or {}})
        written = []
        try:
            for role, text in (write or {}).items():
                _write_atomically(paths[role], text)
                written.append(role)
        except OSError as e:
            for role in written:
                _write_atomically(paths[role], before[role])
            raise NotEditable(
                _("%(file)s could not be written (%(why)s); nothing was changed.")
                % {"file": display_name(paths[role]), "why": e.strerror or type(e).__name__}
            ) from None
    transaction.on_commit(lambda: notices.post([n.pk for n in made]))
    logger.info("Schedule applied by %s via %s: %s", author, via, version.summary)
    return version, diff


def texts_of(paths: dict[str, str]) -> dict[str, str]:
    """The current text of each local source file."""
    out = {}
    for role, location in paths.items():
        text, _error = _read_text(location)
        if text is not None:
            out[role] = text
    return out


def apply(
    texts: dict[str, str],
    started_from: dict[str, str],
    *,
    author: str,
    restored_from: SourceVersion | None = None,
    allow_overlaps: bool = False,
) -> tuple[Checked, SourceVersion | None]:
    """Apply edited `texts` (role -> text) if every file still holds what the organiser started
    from (`started_from`: role -> text); raise Conflict otherwise."""
    paths = configured_paths()
    if any(role not in paths or is_url(paths[role]) for role in texts):
        raise NotEditable(_("Only local source files can be edited here."))
    with _apply_lock():
        now = texts_of(paths)
        changed = {
            role: (started_from.get(role, ""), now.get(role, ""))
            for role in texts
            if now.get(role, "") != started_from.get(role)
        }
        if changed:
            by = SourceVersion.objects.first()
            if by is not None and any(by.texts.get(role) != now.get(role) for role in changed):
                by = None  # changed on the server by hand, not through lpcfe
            raise Conflict(changed, by)
        checked = _load(paths, texts, allow_overlaps)
        if not checked.ok:
            return checked, None
        version, checked.diff = record(
            checked.schedule,
            author=author,
            via=SourceVersion.Via.ROLLBACK if restored_from else SourceVersion.Via.CONSOLE,
            paths=paths,
            texts={**now, **texts},
            restored_from=restored_from,
            write={role: text for role, text in texts.items() if text != now.get(role)},
            allow_overlaps=allow_overlaps,
        )
        return checked, version


def record_command_import(
    schedule: ParsedSchedule,
    *,
    location: str,
    tracks: str | None,
    rooms: str | None,
    progress: bool,
    shifted: bool = False,
    allow_overlaps: bool = False,
) -> tuple[SourceVersion, ScheduleDiff]:
    """`import_schedule`'s apply: the same transaction, history and notices as the console's."""
    paths = source_paths(location, tracks, rooms)
    with _apply_lock():
        return record(
            schedule,
            author="manage.py import_schedule",
            via=SourceVersion.Via.COMMAND,
            paths=paths,
            texts=texts_of(paths),
            progress=progress,
            shifted=shifted,
            allow_overlaps=allow_overlaps,
        )


KEEP_FETCHES = 200


def note_fetch(location: str, ok: bool, detail: str) -> None:
    """Remember how an import_schedule run went, for the sources page (the newest few hundred).

    A failed import must still report its own problems when this cannot be stored (a database
    not yet migrated), so that is only logged, quietly: the command has said what went wrong."""
    try:
        SourceFetch.objects.create(location=display_name(location)[:500], ok=ok, detail=detail[:1000])
        stale = SourceFetch.objects.values_list("pk", flat=True)[KEEP_FETCHES:]
        SourceFetch.objects.filter(pk__in=list(stale)).delete()
    except DatabaseError as e:
        logger.debug("Could not record the import's outcome for the console: %s", e)
