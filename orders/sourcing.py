"""The first-cut sourcing plan, pure Python: the nearest location that holds every line,
else each SKU from the nearest locations holding it. Used to guarantee stock at
placement (see docs/adr/0001) and as the router's fallback."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

from omnichannel.geo import haversine_km


@dataclass(frozen=True)
class Candidate:
    location_id: int
    latitude: float
    longitude: float
    stock: dict[int, int] = field(default_factory=dict)  # sku_id -> available units


@dataclass
class Plan:
    take: dict[int, dict[int, int]] = field(default_factory=dict)  # location_id -> sku_id -> qty
    unfilled: dict[int, int] = field(default_factory=dict)  # sku_id -> qty
    level_ids: dict[tuple[int, int], int] = field(default_factory=dict)  # (location_id, sku_id) -> stock level

    @property
    def unfilled_units(self) -> int:
        return sum(self.unfilled.values())


def distance_km(candidate: Candidate, destination: tuple[float, float] | None) -> float:
    if destination is None:
        return 0.0
    return haversine_km(candidate.latitude, candidate.longitude, destination[0], destination[1])


def plan_nearest(needs: dict[int, int], candidates: list[Candidate],
                 destination: tuple[float, float] | None) -> Plan:
    ranked = sorted(candidates, key=lambda c: (distance_km(c, destination), -sum(c.stock.values()), c.location_id))
    for candidate in ranked:
        if all(candidate.stock.get(sku, 0) >= qty for sku, qty in needs.items()):
            return Plan(take={candidate.location_id: dict(needs)})
    take: dict[int, dict[int, int]] = defaultdict(dict)
    unfilled: dict[int, int] = {}
    for sku, qty in needs.items():
        left = qty
        for candidate in ranked:
            if left == 0:
                break
            got = min(left, candidate.stock.get(sku, 0))
            if got > 0:
                take[candidate.location_id][sku] = got
                left -= got
        if left:
            unfilled[sku] = left
    return Plan(take=dict(take), unfilled=unfilled)
