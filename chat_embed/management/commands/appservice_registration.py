"""manage.py appservice_registration: Synapse's registration file for the live chat fan-out."""

from pathlib import Path

import yaml
from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from chat_embed import live


class Command(BaseCommand):
    help = (
        "Write the application service registration through which Synapse pushes every event of the "
        "conference's rooms to the front end once (list the file under app_service_config_files in "
        "homeserver.yaml and restart Synapse). Needs MATRIX_APPSERVICE_HS_TOKEN, MATRIX_APPSERVICE_AS_TOKEN "
        "and MATRIX_SERVER_NAME; run provision_matrix afterwards so the bot joins every room."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--url", required=True, help="Where Synapse reaches the front end, e.g. http://10.0.0.5:8000"
        )
        parser.add_argument("--out", help="File to write (mode 0600); default: print it.")

    def handle(self, *args, **options) -> None:
        if not live.appservice_configured() or not settings.MATRIX_SERVER_NAME:
            raise CommandError(
                "Set MATRIX_APPSERVICE_HS_TOKEN, MATRIX_APPSERVICE_AS_TOKEN and MATRIX_SERVER_NAME first "
                "(two different long random strings, e.g. from `openssl rand -hex 32`)."
            )
        if not options["url"].startswith(("http://", "https://")):
            raise CommandError(f"--url {options['url']!r} must start with http:// or https://.")
        text = yaml.safe_dump(live.registration(options["url"]), sort_keys=False)
        if not options["out"]:
            self.stdout.write(text)
            return
        path = Path(options["out"])
        path.write_text(text)
        path.chmod(0o600)
        self.stdout.write(self.style.SUCCESS(f"Wrote {path}; add it to app_service_config_files and restart Synapse."))
