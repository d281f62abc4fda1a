"""Process tuning for long-running servers (the WSGI app; the benches call it the same way)."""

from __future__ import annotations

import gc

# Collector thresholds (docs/benchmarks.md). With CPython's default (700, 10, 10) a request that
# reads a cart's availability (thousands of small tuples and dicts) ran several collections that
# cascaded into full ones: the slowest 1 % of those requests took 1.5-2x the median. (50,000, 20,
# 100) made collections rare, but each young collection then walked ~43,000 objects, mostly the
# reference cycles that Django and DRF leave per request (request <-> view, model instances and
# their state, serializers): a 35-80 ms pause of the whole process every ~2 s under order capture,
# felt by every request it held. 2,000 keeps each young collection to a few ms; a middle collection
# every 5 young ones empties what they promoted (in-flight requests' objects) while it is small;
# a full one stays rare.
GC_THRESHOLDS = (2_000, 5, 100)


def tune_gc() -> None:
    """Freeze everything loaded so far (Django, the apps: it lives as long as the process) out of
    the collector's generations, so a full collection scans only what requests create, and raise
    the collection thresholds. Call once, after the app is loaded."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(*GC_THRESHOLDS)
