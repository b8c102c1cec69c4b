"""Facts the load generator needs from inside Django, printed as one JSON object.

Run with the stack's environment: `python -m bench.probe urls ROOM_NAME` or
`python -m bench.probe facts ROOM_NAME`. URLs come from `reverse()` (the URL names are the
contract between the parts), never from hand-built paths; a name that does not exist yet is
reported as null so the bench can say which scenario cannot run.
"""

from __future__ import annotations

import json
import sys
from typing import Any


def _reverse(name: str, *args: str) -> str | None:
    from django.urls import NoReverseMatch, reverse

    try:
        return reverse(name, args=list(args))
    except NoReverseMatch:
        return None


def urls(room_name: str) -> dict[str, Any]:
    from sessions.models import Room

    room = Room.objects.filter(name=room_name).first()
    slug = room.slug if room else ""
    return {
        "room_slug": slug or None,
        "login": _reverse("login"),
        "now": _reverse("now"),
        "join": _reverse("join", slug) if slug else None,
        "room": _reverse("room", slug) if slug else None,
        "chat_room": _reverse("chat:room", slug) if slug else None,
        "chat_token": _reverse("chat:token", slug) if slug else None,
    }


def facts(room_name: str) -> dict[str, Any]:
    from django.apps import apps
    from django.contrib.auth import get_user_model

    from sessions.models import Room

    out: dict[str, Any] = {"users": get_user_model().objects.count()}
    room = Room.objects.filter(name=room_name).first()
    out["rooms"] = Room.objects.count()
    if apps.is_installed("chat_embed"):
        from chat_embed.models import MatrixAccount, MatrixMembership, MatrixRoom

        out["matrix_accounts"] = MatrixAccount.objects.count()
        out["matrix_accounts_on_server"] = MatrixAccount.objects.filter(on_server=True).count()
        out["matrix_rooms"] = [
            {"room_id": r.room_id, "alias": r.alias_localpart, "key": r.key, "public": r.public}
            for r in MatrixRoom.objects.exclude(room_id="")
        ]
        out["matrix_memberships"] = MatrixMembership.objects.count()
        chat = None
        if room is not None:
            try:
                from chat_embed.provisioning import chat_room_for

                chat = chat_room_for(room)
            except ImportError:
                chat = None
        out["chat_room_id"] = chat.room_id if chat else None
    if apps.is_installed("bbb_simulator"):
        from bbb_simulator.models import SimApiCall

        out["bbb_creates"] = SimApiCall.objects.filter(call="create").count()
        out["bbb_creates_succeeded"] = SimApiCall.objects.filter(call="create", outcome="SUCCESS").count()
    return out


def main(argv: list[str]) -> int:
    import django

    django.setup()
    if len(argv) != 2 or argv[0] not in ("urls", "facts"):
        print("usage: python -m bench.probe urls|facts ROOM_NAME", file=sys.stderr)
        return 2
    command, room_name = argv
    print(json.dumps(urls(room_name) if command == "urls" else facts(room_name)))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
