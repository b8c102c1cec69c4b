from django.dispatch import Signal

schedule_changed = Signal()
