"""The front end's WSGI application with a per-request cProfile, for `python -m bench --profile frontend`.

Sampling profilers (py-spy) cannot read other processes' memory on every machine (not on this
one's VM), so the bench profiles inside the workers instead: while the file `on` exists in
BENCH_PROFILE_DIR, each request runs under cProfile and the stats are added up per worker
process and written to `worker-<pid>.prof` every 50 profiled requests and at exit.
Never used outside the bench.
"""

from __future__ import annotations

import atexit
import cProfile
import os
import pstats
import threading
from pathlib import Path

from lpcfe.wsgi import application as _application

_DIR = Path(os.environ.get("BENCH_PROFILE_DIR", "."))
_FLAG = _DIR / "on"
_lock = threading.Lock()
_stats: pstats.Stats | None = None
_count = 0


def _dump() -> None:
    with _lock:
        if _stats is not None:
            _stats.dump_stats(_DIR / f"worker-{os.getpid()}.prof")


atexit.register(_dump)


def application(environ, start_response):
    global _stats, _count
    if not _FLAG.exists():
        return _application(environ, start_response)
    profile = cProfile.Profile()
    profile.enable()
    try:
        # Rendered pages are complete here: Django builds the body before returning.
        return _application(environ, start_response)
    finally:
        profile.disable()
        with _lock:
            if _stats is None:
                _stats = pstats.Stats(profile)
            else:
                _stats.add(profile)
            _count += 1
            dump = _count % 50 == 0
        if dump:
            _dump()
