"""Availability maths: what a viewer may sell of a SKU, per location and in total.

Pure Python, no Django imports, so it can be unit-tested and benchmarked alone.
The selectors read raw quantities (one query); this module turns them into the view of
the network (ops) or of one sales channel (its feeding locations, minus its buffer).

Definitions (kept by tests/inventory_availability/test_availability_engine.py):

- available = on_hand - reserved - safety_stock - damaged - quality_control, never below 0.
- A channel's buffer is applied per SKU and location: first `units` are held back, then
  `percent` of what is left, and the channel's quantity is rounded DOWN:

      sellable = floor(max(0, available - units) * (100 - percent) / 100)

  so the channel never promises a part unit that the buffer would hold (10% of 1 unit
  leaves 0 to sell). The percent is clamped to 0..100 and kept exact in hundredths.
- A channel's total is the sum of its per-location quantities (the buffer is never
  applied to the total a second time).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import ROUND_FLOOR, Decimal

from omnichannel.geo import haversine_km

WHOLE = 10_000  # 100 % in hundredths of a percent

# location_id -> units available there (only positive entries)
LocationQuantities = dict[int, int]


def available_from(on_hand: int, reserved: int, safety_stock: int, damaged: int, quality_control: int) -> int:
    """The sellable units of one stock level, never below zero."""
    return max(0, on_hand - reserved - safety_stock - damaged - quality_control)


@dataclass(frozen=True)
class ChannelBuffer:
    """Units a channel does not see, per SKU and location: `units` first, then `hundredths`
    (of a percent: 1250 is 12.5 %) of what is left, rounded in the channel's disfavour."""

    units: int = 0
    hundredths: int = 0

    @classmethod
    def of(cls, units: int, percent: Decimal | int | str) -> ChannelBuffer:
        exact = (Decimal(str(percent)) * 100).to_integral_value(rounding=ROUND_FLOOR)
        return cls(units=max(0, int(units)), hundredths=min(WHOLE, max(0, int(exact))))

    def apply(self, available: int) -> int:
        after_units = max(0, available - self.units)
        return after_units * (WHOLE - self.hundredths) // WHOLE


@dataclass(frozen=True)
class ChannelFeed:
    """One channel's window on the network: the locations that feed it (None: every
    active location) and its buffer."""

    code: str
    buffer: ChannelBuffer = ChannelBuffer()
    location_ids: frozenset[int] | None = None

    def is_fed_by(self, location_id: int) -> bool:
        return self.location_ids is None or location_id in self.location_ids

    def sellable(self, location_id: int, available: int) -> int:
        if not self.is_fed_by(location_id):
            return 0
        return self.buffer.apply(available)

    def view(self, raw: Mapping[int, int]) -> LocationQuantities:
        """`sellable` over one SKU's locations, zeros dropped. One tight loop: a cart over
        200 locations calls this per SKU and per channel."""
        units, keep = self.buffer.units, WHOLE - self.buffer.hundredths
        if units == 0 and keep == WHOLE:
            return {loc: qty for loc, qty in self._fed(raw) if qty > 0}
        view: LocationQuantities = {}
        for loc, qty in self._fed(raw):
            if qty > units:
                sellable = (qty - units) * keep // WHOLE
                if sellable > 0:
                    view[loc] = sellable
        return view

    def total(self, raw: Mapping[int, int]) -> int:
        """sum(self.view(raw).values()) without building the view (the network view totals
        every channel for every SKU of a cart)."""
        units, keep = self.buffer.units, WHOLE - self.buffer.hundredths
        if units == 0 and keep == WHOLE:
            return sum(qty for _, qty in self._fed(raw) if qty > 0)
        return sum((qty - units) * keep // WHOLE for _, qty in self._fed(raw) if qty > units)

    def _fed(self, raw: Mapping[int, int]) -> Iterable[tuple[int, int]]:
        ids = self.location_ids
        return raw.items() if ids is None else [(loc, qty) for loc, qty in raw.items() if loc in ids]


def sku_view(raw: Mapping[int, int], feed: ChannelFeed | None) -> LocationQuantities:
    """Per-location units of one SKU as a viewer sees them: the raw network for staff
    (feed None), the channel's buffered feeding locations otherwise. Zeros are dropped."""
    if feed is None:
        return {loc: qty for loc, qty in raw.items() if qty > 0}
    return feed.view(raw)


def channel_totals(raw: Mapping[int, int], feeds: Iterable[ChannelFeed]) -> dict[str, int]:
    """Total units of one SKU each channel may sell."""
    return {feed.code: feed.total(raw) for feed in feeds}


@dataclass(frozen=True)
class Distance:
    location_id: int
    distance_km: float


def nearest_within(places: Iterable[tuple[int, float, float]], origin: tuple[float, float],
                   radius_km: float) -> list[Distance]:
    """(location_id, latitude, longitude) within `radius_km` of `origin`, nearest first
    (ties by location id, so the order is stable)."""
    found = [Distance(loc, haversine_km(origin[0], origin[1], lat, lng)) for loc, lat, lng in places]
    inside = [d for d in found if d.distance_km <= radius_km]
    return sorted(inside, key=lambda d: (d.distance_km, d.location_id))
