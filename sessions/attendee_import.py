"""Import the registration system's attendee export into the directory (LDAP or the local table).

The file is tab-separated, UTF-8, one person per line:

    first name <TAB> last name <TAB> regcode <TAB> email [<TAB> role]

A first line whose fourth field is "email", "e-mail" or "mail" (any case) is a header and is
skipped; blank lines and lines starting with "#" are skipped too. See docs/attendees.md.

The whole file is checked before anything is written. Lines with a problem are reported with
their number and reason and left out; the rest is written. An import is idempotent: a second
run of the same file reports every line unchanged. A fatal error (unreadable file, directory
unreachable mid-way) leaves the directory as it was: the local table in one transaction, LDAP
by undoing this run's writes.
"""

import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from sessions import directory
from sessions.emails import normalise_email, validate_email
from sessions.models import Attendee, SealedRegcode

logger = logging.getLogger(__name__)

HEADER_WORDS = {"email", "e-mail", "mail", "email address", "e-mail address"}
REGCODE_MIN = 4
NAME_MAX = 150
EMAIL_MAX = 254

Progress = Callable[[Iterable, str, int], Iterable]


class AttendeeImportError(Exception):
    """The import could not run or was undone; nothing was written."""


@dataclass
class Row:
    line: int
    first_name: str
    last_name: str
    regcode: str = field(repr=False)
    email: str
    role: str | None  # None: the file gives no role for this person


@dataclass(frozen=True)
class Rejected:
    line: int
    reason: str


@dataclass
class Report:
    source: str
    target: str
    lines: int = 0
    header_skipped: bool = False
    added: int = 0
    updated: int = 0
    unchanged: int = 0
    rejected: list[Rejected] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    dry_run: bool = False

    def summary(self) -> str:
        return f"added {self.added}, updated {self.updated}, unchanged {self.unchanged}, rejected {len(self.rejected)}"


def _no_progress(items: Iterable, description: str, total: int) -> Iterable:
    return items


def _has_control(text: str) -> bool:
    return any(ord(ch) < 32 or 127 <= ord(ch) < 160 for ch in text)


def _check(fields: list[str]) -> tuple[str, Row | None]:
    """Validate one line's fields; returns (reason, None) or ("", row with line=0)."""
    if len(fields) < 4:
        return (
            f"missing field: expected first name, last name, regcode, email[, role] separated by tabs, "
            f"found {len(fields)} field(s)",
            None,
        )
    if len(fields) > 5:
        return f"too many fields: expected 4 or 5, found {len(fields)}", None
    first, last, code, email = (value.strip() for value in fields[:4])
    role_text = fields[4].strip() if len(fields) == 5 else ""
    if not email:
        return "missing field: email (field 4)", None
    if not code:
        return "missing field: regcode (field 3)", None
    if not first and not last:
        return "missing field: name (first or last name, fields 1 and 2)", None
    for label, value in (("first name", first), ("last name", last)):
        if len(value) > NAME_MAX:
            return f"{label} is longer than {NAME_MAX} characters", None
        if _has_control(value):
            return f"{label} contains control characters", None
    email = normalise_email(email)
    try:
        if len(email) > EMAIL_MAX:
            raise ValidationError("too long")
        validate_email(email)
    except ValidationError:
        if "@" in email:
            return f"invalid email address {email!r}", None
        # Without an "@" the field may well be a regcode in the wrong column: never echo it.
        return "field 4 is not an email address (is the column order first name, last name, regcode, email?)", None
    if len(code) < REGCODE_MIN:
        return f"regcode is shorter than {REGCODE_MIN} characters", None
    if len(code) > directory.REGCODE_MAX:
        return f"regcode is longer than {directory.REGCODE_MAX} characters", None
    if any(ch.isspace() for ch in code) or not code.isprintable():
        return "regcode contains spaces or control characters", None
    role = None
    if role_text:
        role = directory.parse_role(role_text)
        if role is None:
            return f"unknown role {role_text!r} (use attendee, speaker, moderator or organiser)", None
    return "", Row(0, first, last, code, email, role)


def parse(path: Path) -> tuple[list[Row], list[Rejected], int, bool]:
    """Read and check the whole file: (rows, rejected lines, lines read, header skipped)."""
    try:
        data = path.read_bytes()
    except OSError as error:
        raise AttendeeImportError(f"{path}: cannot read the file ({error.strerror}).") from None
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    raw_lines = data.split(b"\n")
    if raw_lines and raw_lines[-1] == b"":
        raw_lines.pop()
    rows: list[Row] = []
    rejected: list[Rejected] = []
    header = False
    seen_content = False
    any_tab = False
    for number, raw in enumerate(raw_lines, start=1):
        try:
            text = raw.decode("utf-8").rstrip("\r")
        except UnicodeDecodeError:
            raise AttendeeImportError(
                f"{path} line {number}: not UTF-8 text. Export the file as UTF-8 and import it again."
            ) from None
        if not text.strip() or text.lstrip().startswith("#"):
            continue
        fields = text.split("\t")
        any_tab = any_tab or len(fields) > 1
        if not seen_content:
            seen_content = True
            if len(fields) >= 4 and fields[3].strip().lower() in HEADER_WORDS:
                header = True
                continue
        reason, row = _check(fields)
        if row is None:
            rejected.append(Rejected(number, reason))
        else:
            row.line = number
            rows.append(row)
    if seen_content and not any_tab:
        raise AttendeeImportError(
            f"{path}: no line contains a tab. The import reads tab-separated fields "
            "(first name, last name, regcode, email, optional role)."
        )
    rows, duplicates = _without_duplicates(rows)
    rejected = sorted(rejected + duplicates, key=lambda r: r.line)
    return rows, rejected, len(raw_lines), header


def _without_duplicates(rows: list[Row]) -> tuple[list[Row], list[Rejected]]:
    """One row per email. The same code again: later lines are dropped. A different code: all dropped."""
    by_email: dict[str, list[Row]] = {}
    for row in rows:
        by_email.setdefault(row.email, []).append(row)
    kept, rejected = [], []
    for same in by_email.values():
        first = same[0]
        if len(same) == 1:
            kept.append(first)
        elif len({row.regcode for row in same}) > 1:
            lines = ", ".join(str(row.line) for row in same)
            for row in same:
                rejected.append(
                    Rejected(
                        row.line,
                        f"duplicate email {row.email!r} with a different regcode (lines {lines}); "
                        "none of these lines was imported",
                    )
                )
        else:
            kept.append(first)
            for row in same[1:]:
                rejected.append(Rejected(row.line, f"duplicate of line {first.line} (same email and regcode)"))
    kept.sort(key=lambda r: r.line)
    return kept, rejected


def import_file(path: Path, *, dry_run: bool = False, progress: Progress = _no_progress) -> Report:
    """Check and import `path` into the configured directory; returns the report."""
    rows, rejected, lines, header = parse(path)
    target = f"LDAP {settings.LDAP_URI} under {settings.LDAP_IMPORT_BASE}" if directory.ldap_configured() else ""
    report = Report(
        source=str(path),
        target=target or "the local attendee table",
        lines=lines,
        header_skipped=header,
        rejected=rejected,
        dry_run=dry_run,
    )
    if directory.ldap_configured():
        _import_ldap(rows, report, progress)
    else:
        _import_local(rows, report, progress)
    report.rejected.sort(key=lambda r: r.line)
    logger.info(
        "Attendee import from %s into %s%s: %s",
        report.source,
        report.target,
        " (dry run)" if dry_run else "",
        report.summary(),
    )
    return report


def _sealed_updates(rows: list[Row]) -> list[SealedRegcode]:
    """Copies to (re)write: missing, or holding another code."""
    current = dict(SealedRegcode.objects.values_list("email", "sealed"))
    now = timezone.now()
    updates = []
    for row in rows:
        sealed = current.get(row.email)
        if sealed is None or directory.unseal(sealed) != row.regcode:
            updates.append(SealedRegcode(email=row.email, sealed=directory.seal(row.regcode), updated_at=now))
    return updates


def _write_sealed(updates: list[SealedRegcode]) -> None:
    SealedRegcode.objects.bulk_create(
        updates, batch_size=500, update_conflicts=True, unique_fields=["email"], update_fields=["sealed", "updated_at"]
    )


def _import_local(rows: list[Row], report: Report, progress: Progress) -> None:
    existing = {attendee.email: attendee for attendee in Attendee.objects.all()}
    now = timezone.now()
    new, changed = [], []
    for row in progress(rows, "Checking attendees", len(rows)):
        attendee = existing.get(row.email)
        if attendee is None:
            new.append(
                Attendee(
                    email=row.email,
                    first_name=row.first_name,
                    last_name=row.last_name,
                    role=row.role or Attendee.Role.ATTENDEE,
                    regcode_hash=directory.hash_regcode(row.regcode),
                    updated_at=now,
                )
            )
            continue
        differs = attendee.first_name != row.first_name or attendee.last_name != row.last_name
        differs |= row.role is not None and attendee.role != row.role
        if not directory.regcode_matches(row.regcode, attendee.regcode_hash):
            attendee.regcode_hash = directory.hash_regcode(row.regcode)
            differs = True
        if differs:
            attendee.first_name, attendee.last_name = row.first_name, row.last_name
            attendee.role = row.role or attendee.role
            attendee.updated_at = now
            changed.append(attendee)
        else:
            report.unchanged += 1
    report.added, report.updated = len(new), len(changed)
    sealed = _sealed_updates(rows)
    if report.dry_run:
        return
    with transaction.atomic():
        Attendee.objects.bulk_create(new, batch_size=500)
        fields = ["first_name", "last_name", "role", "regcode_hash", "updated_at"]
        Attendee.objects.bulk_update(changed, fields, batch_size=500)
        _write_sealed(sealed)


def _import_ldap(rows: list[Row], report: Report, progress: Progress) -> None:
    role_attr = bool(settings.LDAP_ROLE_ATTR)
    if not role_attr and any(row.role for row in rows):
        report.warnings.append(
            "Roles in the file were not written: LDAP_ROLE_ATTR is empty, so roles come from directory groups."
        )
    try:
        writer = directory.DirectoryWriter()
    except directory.DirectoryUnavailable as error:
        raise AttendeeImportError(f"Cannot write to the directory: {error.detail}") from None
    try:
        entries: dict[str, list[directory.Entry]] = {}
        for entry in writer.entries():
            entries.setdefault(entry.email, []).append(entry)
        plan: list[tuple[Row, directory.Entry | None, bool]] = []  # (row, entry to update, code changed)
        kept: list[Row] = []
        ascii_only = any(not row.email.isascii() for row in rows) and writer.email_attr_is_ascii_only()
        for row in progress(rows, "Checking attendees", len(rows)):
            if ascii_only and not row.email.isascii():
                report.rejected.append(
                    Rejected(
                        row.line,
                        f"the directory's {settings.LDAP_EMAIL_ATTR} attribute holds ASCII addresses only "
                        "(IA5String); set LDAP_EMAIL_ATTR to an attribute with UTF-8 syntax for "
                        "internationalised addresses (docs/attendees.md)",
                    )
                )
                continue
            found = entries.get(row.email, [])
            if len(found) > 1:
                dns = "; ".join(entry.dn for entry in found)
                report.rejected.append(
                    Rejected(row.line, f"the directory holds {len(found)} entries with this address ({dns})")
                )
                continue
            kept.append(row)
            if not found:
                plan.append((row, None, True))
                continue
            entry = found[0]
            same_code = directory.ldap_password_matches(row.regcode, entry.password)
            if same_code is None:
                same_code = writer.code_opens(entry.dn, row.regcode)
            differs = not same_code or (entry.first_name, entry.last_name) != (row.first_name, row.last_name)
            differs |= role_attr and row.role is not None and entry.role != row.role
            if differs:
                plan.append((row, entry, not same_code))
            else:
                report.unchanged += 1
        report.added = sum(1 for _row, entry, _code in plan if entry is None)
        report.updated = len(plan) - report.added
        sealed = _sealed_updates(kept)
        if report.dry_run:
            return
        try:
            with transaction.atomic():
                _write_sealed(sealed)
                for row, entry, code_changed in progress(plan, "Writing to the directory", len(plan)):
                    if entry is None:
                        writer.add(row.email, row.first_name, row.last_name, row.role or "attendee", row.regcode)
                    else:
                        code = row.regcode if code_changed else None
                        writer.update(entry, row.first_name, row.last_name, row.role, code)
        except directory.DirectoryUnavailable as error:
            failed = writer.rollback()
            undone = "this run's changes were undone" if not failed else f"{failed} change(s) could NOT be undone"
            raise AttendeeImportError(f"The directory failed during the import ({error.detail}); {undone}.") from None
        except BaseException:  # a bug or Ctrl-C mid-way: still leave the directory as it was
            writer.rollback()
            raise
    except directory.DirectoryUnavailable as error:
        raise AttendeeImportError(f"Cannot read the directory: {error.detail}") from None
    finally:
        writer.close()
