"""From an order and its candidate locations to a small numeric problem.

Screening decides which locations may serve the order (and records why the others
may not); the survivors become arrays every strategy shares:

- `fixed[l]`: cost of opening a shipment at l (per_shipment, handling per order, split
  penalty, late penalty). The split penalty is charged per package beyond the first,
  so it is added to every location here and subtracted once for a non-empty plan.
- `unit[l, s]`: cost of one unit of line s from l (per unit, per unit-km, per kg,
  handling per unit).
- `cap[l, s]`: units of line s that l can usefully give: min(stock, qty), and 0 when a
  unit from l costs more than leaving it unfilled (it would never be worth shipping).

With these, the cost of a set of locations is exact and cheap: every line is filled
greedily from the cheapest units of the set, the rest is unfilled.

An address without coordinates (storefronts rarely send them) has no distance: it is 0 in
the arrays, so no distance term, every location ships at the same price and handling,
stock, splits and capacity decide; the reports say the distance is unknown (km None).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import timedelta

import numpy as np

from omnichannel.geo import haversine_km
from orders.routing.models import (
    CandidateLocation,
    CandidateReport,
    CostBreakdown,
    CostModel,
    RoutingOptions,
    RoutingOrder,
)

EPS = 1e-9


@dataclass
class Problem:
    """The numeric view of one order over its eligible locations (n locations, k lines)."""

    order: RoutingOrder
    cost_model: CostModel
    skus: tuple[str, ...]
    qty: np.ndarray
    weight_g: np.ndarray
    locations: tuple[CandidateLocation, ...]
    km: np.ndarray
    late: np.ndarray
    fixed: np.ndarray
    unit: np.ndarray
    cap: np.ndarray
    on_hand: np.ndarray
    max_locations: int
    rejected: list[CandidateReport] = field(default_factory=list)
    all_km: dict[str, float | None] = field(default_factory=dict)
    distance_known: bool = True  # False: the address has no coordinates (km is 0 in the arrays)

    @property
    def n(self) -> int:
        return len(self.locations)

    @property
    def k(self) -> int:
        return len(self.skus)

    @property
    def penalty(self) -> float:
        return self.cost_model.unfilled_unit_penalty

    @property
    def split_penalty(self) -> float:
        return self.cost_model.split_penalty

    @property
    def linear(self) -> bool:
        """True when the arrays price plans exactly (no rate-card proxy)."""
        return self.cost_model.shipping_fn is None


def aggregate_lines(order: RoutingOrder) -> tuple[tuple[str, ...], np.ndarray, np.ndarray]:
    """Merge lines of the same SKU (qty summed, weight qty-averaged); drop empty lines."""
    qty: dict[str, int] = {}
    grams: dict[str, float] = {}
    for line in order.lines:
        if line.qty <= 0:
            continue
        qty[line.sku] = qty.get(line.sku, 0) + line.qty
        grams[line.sku] = grams.get(line.sku, 0.0) + line.qty * (line.unit_weight_g or 0.0)
    skus = tuple(qty)
    q = np.array([qty[s] for s in skus], dtype=np.int64)
    w = np.array([grams[s] / qty[s] for s in skus], dtype=float)
    return skus, q, w


def destination(order: RoutingOrder, locations: Sequence[CandidateLocation]) -> tuple[float, float] | None:
    """Where the goods go: the address, or the pickup store for pickup orders."""
    if order.method == "pickup" and order.pickup_location:
        for loc in locations:
            if loc.code == order.pickup_location:
                return loc.lat, loc.lng
    if order.lat is None or order.lng is None:
        return None
    return order.lat, order.lng


def _method_problem(order: RoutingOrder, loc: CandidateLocation) -> str | None:
    if order.method == "pickup":
        if order.pickup_location and loc.code != order.pickup_location:
            return f"pickup is at {order.pickup_location}"
        return None if loc.can_pickup else "does not offer pickup"
    if order.method == "same_day":
        return None if loc.can_same_day else "does not offer same-day delivery"
    return None if loc.can_ship else "does not ship"


def _promised_at(order: RoutingOrder, loc: CandidateLocation, options: RoutingOptions):
    ready = loc.ready_at
    if ready is None and options.now is not None:
        ready = options.now + timedelta(hours=loc.processing_hours)
    return ready if order.method == "pickup" else loc.delivery_at


def screen(
    order: RoutingOrder,
    loc: CandidateLocation,
    held: Sequence[int],
    options: RoutingOptions,
    hard_deadline: bool,
) -> tuple[str, str] | None:
    """Return (reason, detail) if the location cannot serve the order, else None.

    `held` is the location's stock of each line. Checked in this order, so ops see the
    most structural reason first: method, stock, capacity, deadline (when it is hard).
    """
    problem = _method_problem(order, loc)
    if problem:
        return "cannot_do_method", problem
    if not any(v > 0 for v in held):
        return "no_stock", "holds none of the ordered SKUs"
    if loc.remaining_capacity is not None and loc.remaining_capacity <= 0:
        return "over_capacity", "no order capacity left today"
    if hard_deadline and is_late(order, loc, options):
        return "misses_deadline", f"earliest promise {_promised_at(order, loc, options)} is after {order.deadline}"
    return None


def is_late(order: RoutingOrder, loc: CandidateLocation, options: RoutingOptions) -> bool:
    """Late = the caller's estimate is known and after the deadline."""
    if order.deadline is None:
        return False
    at = _promised_at(order, loc, options)
    return at is not None and at > order.deadline


def build_problem(
    order: RoutingOrder,
    locations: Sequence[CandidateLocation],
    cost_model: CostModel,
    options: RoutingOptions | None = None,
) -> Problem:
    """Screen the locations and build the shared arrays for the eligible ones."""
    options = options or RoutingOptions()
    skus, q, w = aggregate_lines(order)
    dest = destination(order, locations)
    hard = cost_model.late_penalty is None
    kept: list[CandidateLocation] = []
    rows: list[list[int]] = []
    rejected: list[CandidateReport] = []
    all_km: dict[str, float | None] = {}
    for loc in locations:
        km = haversine_km(loc.lat, loc.lng, dest[0], dest[1]) if dest else None
        all_km[loc.code] = km
        held = [loc.stock.get(s, 0) for s in skus]
        why = screen(order, loc, held, options, hard)
        if why:
            rejected.append(CandidateReport(loc.code, why[0], why[1], km=None if km is None else round(km, 3)))
        else:
            kept.append(loc)
            rows.append(held)
    on_hand = np.maximum(np.array(rows, dtype=np.int64).reshape(len(kept), len(skus)), 0)
    problem = _arrays(order, cost_model, options, skus, q, w, kept, on_hand, all_km)
    problem.rejected = rejected
    problem.distance_known = dest is not None
    return problem


def _costs(cm: CostModel, kept: Sequence[CandidateLocation], km: np.ndarray, q: np.ndarray, w: np.ndarray):
    """Shipping part of (opening cost per location, unit cost per location and line).

    A rate card is approximated per location by the chord between one unit (the
    lightest line) and the whole order: opening cost + cost per gram (per unit when no
    weights are known). Exact for base-fee-plus-per-kg cards; a proxy otherwise.
    """
    if cm.shipping_fn is None:
        per_kg = (w / 1000.0)[None, :] * (cm.per_kg + cm.per_kg_km * km[:, None])
        return np.full(len(kept), cm.per_shipment), cm.per_unit + cm.per_unit_km * km[:, None] + per_kg
    fn = cm.shipping_fn
    units, grams = int(q.sum()), float((q * w).sum())
    lightest = float(w.min()) if len(w) else 0.0
    by_weight = grams > lightest
    size = w if by_weight else np.ones(len(q))
    span = (grams - lightest) if by_weight else float(units - 1)
    opening = np.zeros(len(kept))
    per_unit = np.zeros((len(kept), len(q)))
    for i, (loc, d) in enumerate(zip(kept, km, strict=True)):
        one = fn(loc, 1, lightest, float(d))
        slope = (fn(loc, units, grams, float(d)) - one) / span if span > 0 else 0.0
        opening[i] = max(0.0, one - slope * (lightest if by_weight else 1.0))
        per_unit[i] = np.maximum(slope * size, 0.0)
    return opening, per_unit


def _arrays(order, cost_model, options, skus, q, w, kept, on_hand, all_km) -> Problem:
    n = len(kept)
    km = np.array([all_km[loc.code] or 0.0 for loc in kept], dtype=float)  # unknown: no distance term
    late = np.array([is_late(order, loc, options) for loc in kept], dtype=bool)
    opening, per_unit = _costs(cost_model, kept, km, q, w)
    fixed = opening + np.array([loc.handling_per_order for loc in kept]) + cost_model.split_penalty
    fixed = fixed + late * (cost_model.late_penalty or 0.0)
    unit = per_unit + np.array([loc.handling_per_unit for loc in kept])[:, None]
    cap = np.minimum(on_hand, q[None, :])
    cap = np.where(unit <= cost_model.unfilled_unit_penalty, cap, 0)
    limit = order.max_shipments if order.max_shipments is not None else n
    return Problem(
        order=order, cost_model=cost_model, skus=skus, qty=q, weight_g=w, locations=tuple(kept),
        km=km, late=late, fixed=fixed.reshape(n), unit=unit.reshape(n, len(skus)), cap=cap, on_hand=on_hand,
        max_locations=max(0, min(limit, n)), all_km=all_km,
    )


def fill(p: Problem, chosen: Sequence[int], order: Sequence[int] | None = None) -> np.ndarray:
    """Allocation (n x k units) filling each line from `chosen` locations.

    Without `order`, each line takes the cheapest units first, which is the optimal
    allocation for a fixed set under linear costs. With `order`, every line is filled
    in that location order (what the heuristics use).
    """
    x = np.zeros((p.n, p.k), dtype=np.int64)
    for s in range(p.k):
        seq = order if order is not None else sorted(chosen, key=lambda i: (p.unit[i, s], i))
        need = int(p.qty[s])
        for i in seq:
            if need == 0:
                break
            take = min(need, int(p.cap[i, s]))
            x[i, s] = take
            need -= take
    return x


def set_cost(p: Problem, chosen: Sequence[int]) -> float:
    """Cost of a set under the (possibly proxied) linear arrays, cheapest units first."""
    total = float(p.fixed[list(chosen)].sum()) - (p.split_penalty if chosen else 0.0)
    for s in range(p.k):
        need = int(p.qty[s])
        for i in sorted(chosen, key=lambda i: (p.unit[i, s], i)):
            take = min(need, int(p.cap[i, s]))
            total += take * float(p.unit[i, s])
            need -= take
            if need == 0:
                break
        total += need * p.penalty
    return total


def breakdown(p: Problem, x: np.ndarray) -> CostBreakdown:
    """Price an allocation with the real cost model (rate card included)."""
    cm = p.cost_model
    used = [i for i in range(p.n) if x[i].sum() > 0]
    shipping = handling = late = 0.0
    for i in used:
        loc, km = p.locations[i], float(p.km[i])
        units = int(x[i].sum())
        grams = float((x[i] * p.weight_g).sum())
        if cm.shipping_fn is not None:
            shipping += cm.shipping_fn(loc, units, grams, km)
        else:
            shipping += cm.per_shipment + units * (cm.per_unit + cm.per_unit_km * km)
            shipping += grams / 1000.0 * (cm.per_kg + cm.per_kg_km * km)
        handling += loc.handling_per_order + units * loc.handling_per_unit
        if p.late[i]:
            late += cm.late_penalty or 0.0
    unfilled = int((p.qty - x.sum(axis=0)).sum()) if p.n else int(p.qty.sum())
    return CostBreakdown(
        shipping=shipping,
        handling=handling,
        split_penalty=cm.split_penalty * max(0, len(used) - 1),
        late_penalty=late,
        unfilled_penalty=unfilled * cm.unfilled_unit_penalty,
    )
