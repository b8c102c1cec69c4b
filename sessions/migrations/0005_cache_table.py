"""The shared cache's table: the cache itself with CACHE_URL=db, and Redis's stand-in while Redis
cannot be reached with CACHE_URL=redis:// (lpcfe/cache.py). Made by a migration so that `migrate`
is all any deployment runs; `createcachetable` alone would skip it when the cache is Redis."""

from django.core.management import call_command
from django.db import migrations


def create_cache_table(apps, schema_editor):
    call_command("createcachetable", "lpcfe_cache", database=schema_editor.connection.alias, verbosity=0)


class Migration(migrations.Migration):
    dependencies = [("lpc_sessions", "0004_attendees")]

    operations = [migrations.RunPython(create_cache_table, migrations.RunPython.noop, elidable=False)]
