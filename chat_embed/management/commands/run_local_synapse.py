"""manage.py run_local_synapse: the demo's own homeserver, kept under the data folder."""

import shlex

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from chat_embed.localsynapse import LocalSynapse, LocalSynapseError


class Command(BaseCommand):
    help = (
        "Start, stop or describe a private Synapse for the demo (loopback only, no federation, closed "
        "registration), configured under <data folder>/synapse. `start --print-env` prints the MATRIX_* "
        "settings as shell `export` lines, for `eval`. It keeps running in the background until `stop`."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("action", choices=("start", "stop", "status"))
        parser.add_argument(
            "--folder",
            default=str(settings.DATA_DIR / "synapse"),
            help="Where its configuration, database and log live (default: %(default)s).",
        )
        parser.add_argument("--server-name", default="localhost", help="Matrix server name (default: %(default)s).")
        parser.add_argument("--print-env", action="store_true", help="After start, print export lines for a shell.")
        parser.add_argument(
            "--stop-when-exits",
            type=int,
            metavar="PID",
            help="After start, stop the homeserver again once process PID has ended (e.g. the demo's shell, $$).",
        )

    def handle(self, *args, **options) -> None:
        homeserver = LocalSynapse(options["folder"], server_name=options["server_name"])
        try:
            if options["action"] == "start":
                homeserver.start(detach=True)
                if options["stop_when_exits"]:
                    homeserver.stop_when_exits(options["stop_when_exits"])
                if options["print_env"]:
                    for name, value in homeserver.env().items():
                        self.stdout.write(f"export {name}={shlex.quote(value)}")
                else:
                    self.stdout.write(f"Synapse for {homeserver.server_name} is running at {homeserver.url}")
            elif options["action"] == "stop":
                homeserver.stop()
                self.stdout.write("Synapse stopped.")
            else:
                state = f"running at {homeserver.url}" if homeserver.is_running() else "not running"
                self.stdout.write(f"Synapse in {homeserver.folder}: {state}")
        except LocalSynapseError as exc:
            raise CommandError(str(exc)) from None
