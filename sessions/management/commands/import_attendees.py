"""manage.py import_attendees FILE: load the registration system's attendee export."""

from collections.abc import Iterable
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from sessions.attendee_import import AttendeeImportError, import_file


class Command(BaseCommand):
    help = (
        "Import attendees from a tab-separated file (first name, last name, regcode, email, optional role) into "
        "the LDAP directory (LDAP_URI set; entries under LDAP_IMPORT_BASE, written as LDAP_ADMIN_DN) or into the "
        "local attendee table. A first line whose fourth field is 'email' is a header. Safe to re-run: reports "
        "added, updated, unchanged and rejected lines, each rejected line with its number and reason. A missing "
        "role keeps an existing person's role (new people become attendees). See docs/attendees.md."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("file", type=Path, help="UTF-8, tab-separated attendee export")
        parser.add_argument("--dry-run", action="store_true", help="check the file and report; write nothing")
        parser.add_argument("--no-progress", action="store_true", help="no progress bar (the default off a terminal)")

    def handle(self, *args, file: Path, dry_run: bool, no_progress: bool, **options) -> None:
        def progress(items: Iterable, description: str, total: int) -> Iterable:
            # disable=None: show the bar only when stderr is a terminal.
            return tqdm(items, desc=description, total=total, unit="row", disable=True if no_progress else None)

        try:
            report = import_file(file, dry_run=dry_run, progress=progress)
        except AttendeeImportError as error:
            raise CommandError(f"{error} Nothing was imported.") from None

        header = ", header skipped" if report.header_skipped else ""
        self.stdout.write(f"{report.source}: {report.lines} line(s) read{header}.")
        prefix = "Dry run, nothing written. Would have: " if report.dry_run else f"Imported into {report.target}: "
        self.stdout.write(prefix + report.summary())
        for warning in report.warnings:
            self.stderr.write(self.style.WARNING(warning))
        if report.rejected:
            self.stderr.write(self.style.WARNING(f"{len(report.rejected)} line(s) rejected:"))
            for rejected in report.rejected:
                self.stderr.write(f"  {report.source} line {rejected.line}: {rejected.reason}")
