"""Process tuning for long-running servers (the WSGI app; the benches call it the same way)."""

from __future__ import annotations

import gc

# Young-generation threshold: a request that reads a cart's availability allocates thousands of
# small tuples and dicts; with CPython's default (700) each request runs several collections that
# cascade into full ones, which made the slowest 1 % of availability requests 1.5-2x the median
# (docs/benchmarks.md). 50,000 keeps collections rare; the garbage they wait for is a few MB.
GC_THRESHOLDS = (50_000, 20, 100)


def tune_gc() -> None:
    """Freeze everything loaded so far (Django, the apps: it lives as long as the process) out of
    the collector's generations, so a full collection scans only what requests create, and raise
    the collection thresholds. Call once, after the app is loaded."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(*GC_THRESHOLDS)
