"""Typed inputs and outputs of the order router.

Everything here is plain data so the engine runs without Django: the platform maps its
models onto these dataclasses, calls `route_order`, and maps the result back.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal

DeliveryMethod = Literal["ship", "pickup", "same_day"]
Strategy = Literal["optimal", "rules", "myopic"]
RuleName = Literal["ranked", "min_splits", "closest", "cheapest", "most_stock"]

RULE_NAMES: tuple[str, ...] = ("ranked", "min_splits", "closest", "cheapest", "most_stock")
DEFAULT_RULES: tuple[str, ...] = ("min_splits", "closest")


@dataclass(frozen=True)
class OrderLine:
    """One order line; `unit_weight_g` feeds the per-kg cost terms and rate cards."""

    sku: str
    qty: int
    unit_weight_g: float | None = None


@dataclass(frozen=True)
class RoutingOrder:
    """What the router needs to know about an order.

    For `pickup` the destination is the pickup location itself (lat/lng may be omitted);
    only that location can serve it (no store-to-store transfers are planned here).
    """

    id: str
    lines: tuple[OrderLine, ...]
    method: DeliveryMethod = "ship"
    lat: float | None = None
    lng: float | None = None
    pickup_location: str | None = None
    deadline: datetime | None = None
    max_shipments: int | None = None


@dataclass(frozen=True)
class CandidateLocation:
    """A location that might serve the order, with what the caller knows about it now.

    `ready_at` / `delivery_at` are the caller's own estimates (carrier transit tables,
    cut-offs, opening hours...): the router only compares them with the order deadline.
    `delivery_at` is checked for ship / same_day, `ready_at` for pickup; a missing
    estimate means "not checkable" and the location stays eligible.
    `remaining_capacity` counts orders the location can still take today (None =
    unlimited); routing one order uses one unit of it.
    """

    code: str
    lat: float
    lng: float
    stock: Mapping[str, int] = field(default_factory=dict)
    can_ship: bool = True
    can_pickup: bool = False
    can_same_day: bool = False
    remaining_capacity: int | None = None
    handling_per_order: float = 0.0
    handling_per_unit: float = 0.0
    processing_hours: float = 0.0
    ready_at: datetime | None = None
    delivery_at: datetime | None = None


ShippingFn = Callable[[CandidateLocation, int, float, float], float]
"""Rate card hook: (location, units, weight_g, km) -> shipping cost of one shipment."""


@dataclass(frozen=True)
class CostModel:
    """How a plan is priced.

    Linear shipping per shipment: per_shipment + units * (per_unit + per_unit_km * km)
    + kg * (per_kg + per_kg_km * km). `shipping_fn`, when given, replaces that linear
    shipping term (handling, split, late and unfilled terms still apply); `optimal` then
    searches on a linear proxy of it and reports status "feasible", not "optimal".
    `split_penalty` is charged per package beyond the first. `late_penalty` None makes
    the deadline hard (late locations are excluded); a number lets late locations in at
    that cost per late shipment.
    """

    per_shipment: float = 0.0
    per_unit: float = 0.0
    per_unit_km: float = 0.0
    per_kg: float = 0.0
    per_kg_km: float = 0.0
    unfilled_unit_penalty: float = 50.0
    split_penalty: float = 0.0
    late_penalty: float | None = None
    shipping_fn: ShippingFn | None = None


@dataclass(frozen=True)
class RoutingOptions:
    """Knobs that are not part of the order or the network.

    `rules` / `ranking` configure the rules strategy (ranking lists location codes,
    best first; unlisted codes rank after them). `time_limit_ms` bounds the exact
    search; `backend` picks the exact solver ("bnb" is the fast custom one, "cpsat"
    the OR-Tools model, kept for cross-checks). `now` lets the engine derive a
    missing `ready_at` as now + processing_hours.
    """

    rules: tuple[str, ...] = DEFAULT_RULES
    ranking: tuple[str, ...] = ()
    time_limit_ms: float = 500.0
    backend: Literal["bnb", "cpsat"] = "bnb"
    now: datetime | None = None
    explain: bool = True


@dataclass(frozen=True)
class Allocation:
    location: str
    sku: str
    qty: int


@dataclass(frozen=True)
class CostBreakdown:
    """Total cost split the way finance and ops read it."""

    shipping: float = 0.0
    handling: float = 0.0
    split_penalty: float = 0.0
    late_penalty: float = 0.0
    unfilled_penalty: float = 0.0

    @property
    def total(self) -> float:
        return self.shipping + self.handling + self.split_penalty + self.late_penalty + self.unfilled_penalty


@dataclass(frozen=True)
class CandidateReport:
    """Why a location was or was not used, for the ops screen.

    `reason` is a stable code: chosen, cannot_do_method, no_stock, over_capacity,
    misses_deadline, costlier (optimal), not_selected (rules / myopic).
    `cost_delta` (eligible locations only) is how much more the cheapest plan we could
    build with this location costs: the chosen plan plus this location, or the chosen
    plan with one of its locations swapped for this one, whichever is cheaper. It is an
    upper bound on the real price of forcing the location in; with `optimal` it is >= 0.
    """

    location: str
    reason: str
    detail: str
    km: float | None = None
    cost_delta: float | None = None


@dataclass(frozen=True)
class RoutingResult:
    order_id: str
    strategy: str
    allocations: tuple[Allocation, ...]
    unfilled: dict[str, int]
    cost: CostBreakdown
    solve_ms: float
    solver_status: str
    candidates: tuple[CandidateReport, ...] = ()

    @property
    def total_cost(self) -> float:
        return self.cost.total

    @property
    def unfilled_units(self) -> int:
        return sum(self.unfilled.values())

    @property
    def locations_used(self) -> tuple[str, ...]:
        seen: dict[str, None] = {}
        for a in self.allocations:
            seen.setdefault(a.location, None)
        return tuple(seen)
