"""manage.py provision_matrix: make the conference's Matrix rooms, accounts and memberships."""

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser
from tqdm import tqdm

from chat_embed.matrix import MatrixError, admin_client
from chat_embed.provisioning import Provisioner, attendees_for_provisioning, plan_people, room_specs
from sessions.directory import DirectoryUnavailable


class Command(BaseCommand):
    help = (
        "Create the Matrix rooms (one per track, one per public room), an account for every attendee and "
        "speaker, and join them to the rooms, through Synapse's admin API. Run it before the event and again "
        "after schedule or attendee changes: finished work is remembered, so a re-run only does what is new "
        "and an interrupted run resumes where it stopped. Exits with status 1 if anything failed."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--workers",
            type=int,
            default=settings.MATRIX_PROVISION_WORKERS,
            help="Parallel requests to the homeserver (default MATRIX_PROVISION_WORKERS=%(default)s).",
        )
        parser.add_argument(
            "--join-mode",
            choices=("all", "on_open"),
            default=settings.MATRIX_JOIN_MODE,
            help="all: join everyone to every room now; on_open: leave joins to the chat page "
            "(default MATRIX_JOIN_MODE=%(default)s).",
        )
        parser.add_argument(
            "--keep-rate-limits",
            action="store_true",
            help="Do not lift the admin user's own rate limits (override_ratelimit); 429 answers are then waited out.",
        )
        parser.add_argument("--dry-run", action="store_true", help="Show what would be done; change nothing.")
        parser.add_argument("--no-progress", action="store_true", help="No progress bars (for logs).")

    def handle(self, *args, **options) -> None:
        if options["workers"] < 1:
            raise CommandError("--workers must be at least 1.")
        try:
            if options["dry_run"]:
                self._dry_run()
                return
            client = admin_client(retry_budget=settings.MATRIX_PROVISION_RETRY_SECONDS)
            provisioner = Provisioner(
                client=client,
                server_name=settings.MATRIX_SERVER_NAME,
                workers=options["workers"],
                join_mode=options["join_mode"],
                lift_own_rate_limit=not options["keep_rate_limits"],
                progress=None if options["no_progress"] else self._bar,
            )
            report = provisioner.run()
        except MatrixError as exc:
            raise CommandError(str(exc)) from None
        except DirectoryUnavailable as exc:
            raise CommandError(f"The attendee directory could not be read: {exc.detail}") from None
        except KeyboardInterrupt:
            raise CommandError("Interrupted. Finished work is recorded: run the command again to resume.") from None

        for notice in report.notices:
            self.stdout.write(self.style.WARNING(f"Note: {notice}"))
        self.stdout.write(
            f"Rooms: {report.rooms_created} created, {report.rooms_updated} updated. "
            f"Accounts: {report.accounts_created} created, {report.accounts_updated} updated. "
            f"Joins: {report.joins}."
        )
        if report.rate_limited:
            self.stdout.write(
                f"The homeserver rate-limited {report.rate_limited} requests; waited {report.waited_seconds:.1f} s."
            )
        if not report.changed and not report.failures:
            self.stdout.write(self.style.SUCCESS("Everything was already provisioned; nothing changed."))
        if report.failures:
            self.stderr.write(self.style.ERROR(f"{len(report.failures)} problem(s):"))
            for failure in report.failures:
                self.stderr.write(f"  - {failure}")
            raise CommandError(
                f"{len(report.failures)} problem(s), listed above. Fix them and run the command again; "
                "finished work is not repeated."
            )
        self.stdout.write(self.style.SUCCESS("Matrix provisioning complete."))

    def _bar(self, total: int, desc: str, unit: str) -> tqdm:
        return tqdm(total=total, desc=desc, unit=unit, file=self.stderr._out, dynamic_ncols=True)

    def _dry_run(self) -> None:
        server_name = settings.MATRIX_SERVER_NAME or "example.org"
        plan = plan_people(attendees_for_provisioning(), server_name)
        specs = room_specs()
        self.stdout.write(f"{len(specs)} room(s):")
        for spec in specs:
            kind = "public" if spec.public else "attendees only"
            self.stdout.write(f"  #{spec.alias_localpart}:{server_name}  {spec.name} ({kind})")
        self.stdout.write(f"{len(plan.people)} account(s), e.g.:")
        for user_id, person in list(plan.people.items())[:5]:
            self.stdout.write(f"  {user_id}  {person.display_name} ({person.role})")
        for line in plan.duplicates:
            self.stdout.write(self.style.WARNING(f"Note: {line}"))
        for line in plan.collisions + plan.invalid:
            self.stdout.write(self.style.ERROR(line))
