"""The pick walk: visit bins in their pick sequence, so one walk passes each bin once."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class Stop:
    """One thing to pick: `key` is the caller's id for it."""

    key: int
    bin_sequence: int
    bin_code: str
    sku_code: str
    tote_position: int


def walk_order(stops: Sequence[Stop]) -> list[int]:
    """Keys in walking order: bin sequence, then bin code (ties), then SKU (the same SKU
    for several totes is picked together), then tote."""
    ordered = sorted(stops, key=lambda s: (s.bin_sequence, s.bin_code, s.sku_code, s.tote_position, s.key))
    return [stop.key for stop in ordered]
