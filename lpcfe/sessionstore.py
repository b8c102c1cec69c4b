"""Login sessions in the database, saved key by key.

One page sends several requests at once (the room page's join and its chat's token request, a
star toggle beside a time zone change). Django's database store loads the whole session and
saves it whole, so of two such requests the last to finish drops what the other changed. This
store remembers what it loaded and, when saving, writes only the keys this request added,
changed or removed onto the row as it is now, with the row locked (SELECT ... FOR UPDATE on
PostgreSQL; SQLite's IMMEDIATE transactions hold the write lock from their start).
"""

import copy
from typing import Any

from django.contrib.sessions.backends import db
from django.db import router, transaction
from django.utils import timezone


class SessionStore(db.SessionStore):
    def __init__(self, session_key: str | None = None) -> None:
        super().__init__(session_key)
        self._loaded: dict[str, Any] = {}

    def load(self) -> dict[str, Any]:
        data = super().load()
        self._loaded = copy.deepcopy(data)
        return data

    def save(self, must_create: bool = False) -> None:
        if must_create or self.session_key is None:
            super().save(must_create)
        else:
            using = router.db_for_write(self.model)
            with transaction.atomic(using=using):
                stored = (
                    self.model.objects.using(using)
                    .select_for_update()
                    .filter(session_key=self.session_key, expire_date__gt=timezone.now())
                    .values_list("session_data", flat=True)
                    .first()
                )
                if stored is not None:
                    self._session_cache = self._merged(self.decode(stored))
                super().save()  # a row that is gone (logged out elsewhere) still raises UpdateError
        self._loaded = copy.deepcopy(self._session)

    def _merged(self, stored: dict[str, Any]) -> dict[str, Any]:
        mine = self._session
        for key in self._loaded.keys() - mine.keys():
            stored.pop(key, None)
        for key, value in mine.items():
            if key not in self._loaded or self._loaded[key] != value:
                stored[key] = value
        return stored
