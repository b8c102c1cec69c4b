"""manage.py matrix_create_admin: bootstrap the admin user whose token lpcfe uses."""

import secrets

import requests
from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from chat_embed.localsynapse import shared_secret_mac


class Command(BaseCommand):
    help = (
        "Create a Synapse admin user with the shared-secret registration API (MATRIX_URL and "
        "MATRIX_REGISTRATION_SHARED_SECRET must be set) and print its access token once, to be put in "
        "MATRIX_ADMIN_TOKEN. The password is random and not shown: lpcfe never needs it."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--username", default="lpcfe", help="Localpart of the admin user (default: %(default)s).")

    def handle(self, *args, **options) -> None:
        if not settings.MATRIX_URL or not settings.MATRIX_REGISTRATION_SHARED_SECRET:
            raise CommandError("Set MATRIX_URL and MATRIX_REGISTRATION_SHARED_SECRET first.")
        endpoint = f"{settings.MATRIX_URL}/_synapse/admin/v1/register"
        username, password = options["username"], secrets.token_urlsafe(32)
        try:
            nonce = requests.get(endpoint, timeout=settings.MATRIX_TIMEOUT).json()["nonce"]
            mac = shared_secret_mac(settings.MATRIX_REGISTRATION_SHARED_SECRET, nonce, username, password, True)
            response = requests.post(
                endpoint,
                json={"nonce": nonce, "username": username, "password": password, "admin": True, "mac": mac},
                timeout=settings.MATRIX_TIMEOUT,
            )
        except (requests.RequestException, ValueError, KeyError) as exc:
            raise CommandError(f"Cannot use the registration API at {endpoint}: {type(exc).__name__}") from None
        if response.status_code != 200:
            raise CommandError(f"The homeserver refused: HTTP {response.status_code} {response.text[:200]}")
        answer = response.json()
        self.stdout.write(f"Created admin {answer['user_id']}. Set this in the environment (it is shown only now):")
        self.stdout.write(f"MATRIX_ADMIN_TOKEN={answer['access_token']}")
