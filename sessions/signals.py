"""Signals other parts of lpcfe listen to."""

from django.dispatch import Signal

# Sent after an import committed a schedule that differs from the one before (sessions added,
# moved, retitled, cancelled or otherwise edited; rooms, tracks or the conference changed).
# Receivers get `diff` (sessions.importers.apply.ScheduleDiff). Pages use it to drop caches.
schedule_changed = Signal()
