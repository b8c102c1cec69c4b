"""manage.py import_schedule: load the conference schedule from its source, all or nothing.

It lives in the console because every import is recorded in the console's history (the same
transaction, versions and change notices as an apply in the console); the importer itself is
sessions.importers."""

import argparse
import logging
import time
from datetime import datetime, timedelta
from datetime import time as clock_time

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone
from django.utils.http import urlencode

from console.sources import note_fetch, record_command_import
from sessions import agenda, joinrules
from sessions.importers import FORMATS, ImportFailed, load_schedule, shift_to_now, shift_to_today
from sessions.importers.apply import apply_schedule
from sessions.importers.base import Problem, summarise
from sessions.importers.sources import Fetched, SourceError, display_name, is_url, read_source
from sessions.importers.times import iana_zone
from sessions.people import Viewer
from sessions.timezones import conference_zone

logger = logging.getLogger(__name__)

EPILOG = """\
sources:
  a local schedule file      samples/sample-conference.schedule (names its rooms and tracks
                             files in its header: 'rooms: rooms', 'tracks: tracks')
  an Indico timetable        https://indico.example.org/export/timetable/42.json or a saved copy
  a frab/pretalx schedule    schedule.xml or schedule.json, file or URL

examples:
  manage.py import_schedule samples/sample-conference.schedule
  manage.py import_schedule --tracks tracks --rooms rooms https://indico.example.org/export/timetable/42.json
  manage.py import_schedule --dry-run schedule.json          show what would change, write nothing
  manage.py import_schedule --allow-overlaps schedule.xml    import overlapping sessions as warnings
  manage.py import_schedule --periodic 600                   follow SCHEDULE_SOURCE every 10 minutes

Errors are printed as FILE:LINE: MESSAGE (or FILE:JSON.PATH: MESSAGE), all of them at once,
those about the whole file first and repeats of one kind counted after five (-v 2 lists all);
any error leaves the schedule in the database exactly as it was. The exit code is 1 when the
(last) import failed. The formats are described in docs/schedule-formats.md.
"""


class Command(BaseCommand):
    help = (
        "Import the conference schedule (sessions, rooms, tracks) from a local schedule file, an\n"
        "Indico timetable export or a frab/pretalx schedule, and print what changed: sessions added,\n"
        "moved, retitled and cancelled. All or nothing; safe to run again."
    )

    def create_parser(self, prog_name: str, subcommand: str, **kwargs) -> CommandParser:
        parser = super().create_parser(prog_name, subcommand, **kwargs)
        parser.formatter_class = argparse.RawDescriptionHelpFormatter
        parser.epilog = EPILOG
        return parser

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "source",
            nargs="?",
            help="schedule file or http(s) URL (default: the SCHEDULE_SOURCE setting)",
        )
        parser.add_argument("--tracks", metavar="FILE", help="lpcfe tracks file: track:colour[:matrix_room[:extra]]")
        parser.add_argument(
            "--rooms", metavar="FILE", help="lpcfe rooms file: room:bbb_server:type[:matrix_room[:key=value...]]"
        )
        parser.add_argument(
            "--format",
            choices=FORMATS,
            help="the source's format (default: recognised from its content)",
        )
        parser.add_argument(
            "--timezone",
            metavar="ZONE",
            help="the conference's IANA zone, for sources that give none (frab without time_zone_name)",
        )
        parser.add_argument(
            "--base-url",
            metavar="URL",
            default="",
            help="address that relative session links in a saved file are relative to (e.g. the Indico server)",
        )
        parser.add_argument(
            "--allow-overlaps",
            action=argparse.BooleanOptionalAction,
            default=None,
            help="import two sessions at once in one room as warnings (listed, shown side by side) instead of "
            "refusing the schedule (default: the SCHEDULE_ALLOW_OVERLAPS setting, off)",
        )
        parser.add_argument("--dry-run", action="store_true", help="show what would change; write nothing")
        parser.add_argument(
            "--shift-to-today",
            action="store_true",
            help="move the schedule by whole days so its first day is today, keeping wall-clock times in the "
            "conference's zone (for demos)",
        )
        parser.add_argument(
            "--shift-to-now",
            action="store_true",
            help="move the schedule so that --now-is on its first day, conference time, is now, and say which "
            "rooms are open (for demos: sessions are running and about to start)",
        )
        parser.add_argument(
            "--now-is",
            default="10:40",
            metavar="HH:MM",
            help="with --shift-to-now: the time of the first day to place at now (default: 10:40)",
        )
        parser.add_argument(
            "--periodic",
            type=int,
            metavar="SECONDS",
            help="import again every SECONDS, forever; a failed fetch or a bad source is reported and the last "
            "good schedule stays",
        )
        parser.add_argument(
            "--max-runs", type=int, metavar="N", help="with --periodic: stop after N imports (default: never stop)"
        )

    def handle(self, *args, **options) -> None:
        source = options["source"] or settings.SCHEDULE_SOURCE
        if not source:
            raise CommandError("Give a schedule source (a file or URL), or set SCHEDULE_SOURCE.")
        if options["timezone"]:
            try:
                iana_zone(options["timezone"])
            except ValueError as e:
                raise CommandError(f"--timezone: {e}") from None
        if options["periodic"] is not None:
            if options["periodic"] < 1:
                raise CommandError("--periodic needs a number of seconds of 1 or more.")
            self.periodic(source, options)
            return
        if options["max_runs"] is not None:
            raise CommandError("--max-runs only makes sense with --periodic.")
        if not self.run_once(source, options):
            raise CommandError("Nothing was changed; the schedule stays as it was.")

    def run_once(self, source: str, options: dict, fetched: Fetched | None = None) -> bool:
        """One import; True if it succeeded (with or without changes)."""
        verbosity = options["verbosity"]
        allow_overlaps = options.get("allow_overlaps")
        if allow_overlaps is None:
            allow_overlaps = settings.SCHEDULE_ALLOW_OVERLAPS
        try:
            schedule = load_schedule(
                source,
                fmt=options["format"],
                tracks=options["tracks"],
                rooms=options["rooms"],
                timezone=options["timezone"],
                base_url=options["base_url"],
                fetched=fetched,
                allow_overlaps=allow_overlaps,
            )
        except ImportFailed as e:
            self.report(e.problems.items, verbosity)
            self.stderr.write(str(e))
            note_fetch(source, False, "; ".join([str(e), *map(str, e.problems.errors[:3])]))
            return False
        self.report(schedule.warnings, verbosity)
        if options["shift_to_now"] and options["shift_to_today"]:
            raise CommandError("Give --shift-to-now or --shift-to-today, not both.")
        if options["shift_to_now"]:
            now = timezone.now()
            delta = shift_to_now(schedule, now, _anchor(options["now_is"]))
            if verbosity:
                self.stdout.write(
                    f"Moved the schedule by {_span(delta)}: "
                    f"now is {options['now_is']} of its first day as the source has it."
                )
        if options["shift_to_today"]:
            tz = iana_zone(schedule.conference.timezone or "UTC")
            today = timezone.localdate(timezone=tz)
            days = shift_to_today(schedule, today)
            if verbosity and days:
                self.stdout.write(f"Moved the schedule by {days} day(s): its first day is today, {today:%a %d %b %Y}.")
        if options["dry_run"]:
            diff = apply_schedule(schedule, dry_run=True, source=display_name(source), progress=verbosity > 0)
        else:
            # The console's path: one transaction with the history record and today's change notices.
            _version, diff = record_command_import(
                schedule,
                location=source,
                tracks=options["tracks"],
                rooms=options["rooms"],
                progress=verbosity > 0,
                shifted=options["shift_to_today"],
                allow_overlaps=allow_overlaps,
            )
            note_fetch(source, True, diff.summary())
        if verbosity:
            prefix = "Dry run, nothing written: " if options["dry_run"] else ""
            self.stdout.write(
                f"{prefix}{schedule.source} ({schedule.format}, {len(schedule.sessions)} sessions, "
                f"{diff.timezone}): {diff.summary()}"
            )
            for line in diff.lines(limit=None if verbosity > 1 else 10):
                self.stdout.write(line)
        if options["shift_to_now"] and verbosity and not options["dry_run"]:
            self.report_live(timezone.now())
        return True

    def report_live(self, now: datetime) -> None:
        """Which rooms an attendee can join now and which open next, and a preview address for later."""
        tz = conference_zone()
        attendee = Viewer(email=None, display_name="", role="attendee")
        for entry in agenda.now_state(now, cached=False).rooms:
            decision = joinrules.decide(entry.room, attendee, now)
            talk = next((t for t in (entry.current, entry.following) if t and not t.is_break), None)
            what = f": {talk.title!r} {talk.start.astimezone(tz):%H:%M}-{talk.end.astimezone(tz):%H:%M}" if talk else ""
            if decision.allowed:
                self.stdout.write(f"  open now     {entry.room.name}{what}")
            elif decision.opens_at:
                self.stdout.write(f"  opens {decision.opens_at.astimezone(tz):%H:%M}  {entry.room.name}{what}")
        later = (now + timedelta(hours=4)).astimezone(tz).replace(second=0, microsecond=0)
        query = urlencode({"at": later.isoformat()})
        self.stdout.write(f"Times are {tz.key} time. Organisers can preview later today: {settings.SITE_URL}/?{query}")

    def report(self, problems: list[Problem], verbosity: int) -> None:
        # -v 2 lists every problem; otherwise repeats of one kind are counted after the first few.
        for line in summarise(problems, first=None if verbosity > 1 else 5):
            self.stderr.write(line)

    def periodic(self, source: str, options: dict) -> None:
        interval, max_runs = options["periodic"], options["max_runs"]
        last: Fetched | None = None
        runs, ok = 0, True
        self.stdout.write(f"Importing {display_name(source)} every {interval} s; stop with Ctrl-C.")
        try:
            while True:
                runs += 1
                fetched = None
                try:
                    if is_url(source):
                        # A conditional request: an unchanged source costs the server nothing; the
                        # rooms/tracks files are still read again, they may have changed.
                        fetched = read_source(source, last.etag if last else "", last.last_modified if last else "")
                        fetched = fetched or last
                        last = fetched
                except SourceError as e:
                    self.stderr.write(str(e))
                    note_fetch(source, False, str(e))
                    logger.error("Schedule fetch failed, keeping the last good schedule: %s", e)
                    ok = False
                else:
                    ok = self.run_once(source, options, fetched=fetched)
                    if not ok:
                        logger.error(
                            "Schedule import from %s failed; keeping the last good schedule", display_name(source)
                        )
                if max_runs and runs >= max_runs:
                    break
                time.sleep(interval)
        except KeyboardInterrupt:
            self.stdout.write("Stopped.")
        if not ok:
            raise CommandError("The last import failed; the schedule stays as it was before it.")


def _anchor(value: str) -> clock_time:
    try:
        return clock_time.fromisoformat(value)
    except ValueError:
        raise CommandError(f"--now-is {value!r}: give a time of day as HH:MM, e.g. 10:40.") from None


def _span(delta: timedelta) -> str:
    """The exact move, e.g. "39 days 2 h 20 min" (format_span rounds to whole days past one)."""
    sign, delta = ("-" if delta < timedelta(0) else ""), abs(delta)
    hours, seconds = divmod(delta.seconds, 3600)
    parts = [f"{delta.days} days"] if delta.days else []
    parts += [f"{hours} h"] if hours else []
    parts += [f"{seconds // 60} min"] if seconds >= 60 or not parts else []
    return sign + " ".join(parts)
