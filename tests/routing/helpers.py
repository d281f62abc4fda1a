"""Builders and an independent brute-force router for the routing tests.

The brute force shares no code with the engine: it prices plans straight from the cost
model formula, either by enumerating every set of locations (each line filled from the
set's cheapest units) or, for tiny instances, every possible allocation of every line.
"""

from __future__ import annotations

import itertools
import random
from collections.abc import Iterator, Sequence

from omnichannel.geo import haversine_km
from orders.routing import CandidateLocation, CostModel, OrderLine, RoutingOrder

BENCH_COSTS = CostModel(per_shipment=8.759, per_unit=0.423, per_unit_km=0.000336, unfilled_unit_penalty=50.0)


def loc(code: str, lng: float, stock: dict[str, int], lat: float = 0.0, **extra) -> CandidateLocation:
    """A location on the equator (1 degree of longitude = 111.19 km from the origin)."""
    return CandidateLocation(code=code, lat=lat, lng=lng, stock=stock, **extra)


def order(lines: dict[str, int], lng: float = 0.0, lat: float = 0.0, **extra) -> RoutingOrder:
    return RoutingOrder(id=extra.pop("id", "o1"), lines=tuple(OrderLine(s, q) for s, q in lines.items()),
                        lat=lat, lng=lng, **extra)


def km(a: CandidateLocation, o: RoutingOrder) -> float:
    assert o.lat is not None and o.lng is not None
    return haversine_km(a.lat, a.lng, o.lat, o.lng)


def shipment_cost(cm: CostModel, a: CandidateLocation, o: RoutingOrder, units: int) -> float:
    """Linear model price of one parcel of `units` from `a`, handling included."""
    return (cm.per_shipment + a.handling_per_order
            + units * (cm.per_unit + cm.per_unit_km * km(a, o) + a.handling_per_unit))


def plan_cost(cm: CostModel, o: RoutingOrder, alloc: dict[tuple[str, str], int],
              locations: Sequence[CandidateLocation]) -> float:
    """Price an allocation {(location, sku): qty} from scratch."""
    by_code = {a.code: a for a in locations}
    units: dict[str, int] = {}
    for (code, _), qty in alloc.items():
        if qty:
            units[code] = units.get(code, 0) + qty
    total = sum(shipment_cost(cm, by_code[c], o, u) for c, u in units.items())
    total += cm.split_penalty * max(0, len(units) - 1)
    ordered: dict[str, int] = {}
    for line in o.lines:
        ordered[line.sku] = ordered.get(line.sku, 0) + line.qty
    shipped = {s: sum(q for (_, sku), q in alloc.items() if sku == s) for s in ordered}
    return total + cm.unfilled_unit_penalty * sum(ordered[s] - shipped[s] for s in ordered)


def eligible(o: RoutingOrder, locations: Sequence[CandidateLocation]) -> list[CandidateLocation]:
    skus = {line.sku for line in o.lines}
    return [a for a in locations if a.can_ship and any(a.stock.get(s, 0) > 0 for s in skus)
            and (a.remaining_capacity is None or a.remaining_capacity > 0)]


def brute_force_sets(cm: CostModel, o: RoutingOrder, locations: Sequence[CandidateLocation]) -> float:
    """Minimum over every location set (size <= max_shipments), cheapest units first."""
    cands = eligible(o, locations)
    limit = len(cands) if o.max_shipments is None else min(o.max_shipments, len(cands))
    best = plan_cost(cm, o, {}, cands)
    for size in range(1, limit + 1):
        for group in itertools.combinations(cands, size):
            best = min(best, plan_cost(cm, o, _greedy(cm, o, group), cands))
    return best


def _greedy(cm: CostModel, o: RoutingOrder, group: Sequence[CandidateLocation]) -> dict[tuple[str, str], int]:
    alloc: dict[tuple[str, str], int] = {}
    for line in o.lines:
        need = line.qty
        for a in sorted(group, key=lambda a: cm.per_unit_km * km(a, o) + a.handling_per_unit):
            if cm.per_unit + cm.per_unit_km * km(a, o) + a.handling_per_unit > cm.unfilled_unit_penalty:
                continue
            take = min(need, a.stock.get(line.sku, 0))
            if take > 0:
                alloc[(a.code, line.sku)] = take
                need -= take
    return alloc


def brute_force_allocations(cm: CostModel, o: RoutingOrder, locations: Sequence[CandidateLocation]) -> float:
    """Minimum over every feasible allocation of every line (tiny instances only)."""
    cands = eligible(o, locations)
    best = float("inf")
    for alloc in _allocations(o, cands):
        used = {code for (code, _), q in alloc.items() if q}
        if o.max_shipments is not None and len(used) > o.max_shipments:
            continue
        best = min(best, plan_cost(cm, o, alloc, cands))
    return best


def _allocations(o: RoutingOrder, cands: Sequence[CandidateLocation]) -> Iterator[dict[tuple[str, str], int]]:
    per_line = []
    for line in o.lines:
        ranges = [range(min(a.stock.get(line.sku, 0), line.qty) + 1) for a in cands]
        options = [split for split in itertools.product(*ranges) if sum(split) <= line.qty]
        per_line.append([{(a.code, line.sku): q for a, q in zip(cands, split, strict=True)} for split in options])
    for combo in itertools.product(*per_line):
        merged: dict[tuple[str, str], int] = {}
        for part in combo:
            merged.update(part)
        yield merged


def random_instance(rng: random.Random, max_locations: int = 7, max_lines: int = 4):
    """A small random instance with varied cost models, handling costs and limits."""
    skus = [f"S{j}" for j in range(rng.randint(1, max_lines))]
    locations = [
        loc(f"L{i}", rng.uniform(-8, 8), {s: rng.choice([0, 0, 1, 2, 3, 5]) for s in skus}, lat=rng.uniform(-8, 8),
            handling_per_order=rng.choice([0.0, 0.0, 1.5]), handling_per_unit=rng.choice([0.0, 0.2]),
            remaining_capacity=rng.choice([None, None, None, 0, 1]))
        for i in range(rng.randint(1, max_locations))
    ]
    cm = CostModel(per_shipment=rng.choice([0.0, 2.0, 8.759, 30.0]), per_unit=rng.choice([0.0, 0.423]),
                   per_unit_km=rng.choice([0.000336, 0.01, 0.05]), unfilled_unit_penalty=rng.choice([5.0, 50.0]),
                   split_penalty=rng.choice([0.0, 0.0, 3.0]))
    lines = {s: rng.randint(1, 4) for s in rng.sample(skus, rng.randint(1, len(skus)))}
    o = order(lines, lng=rng.uniform(-8, 8), lat=rng.uniform(-8, 8), max_shipments=rng.choice([None, None, 1, 2]))
    return cm, locations, o
