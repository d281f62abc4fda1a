"""The bridge between the platform and the pure routing engine (orders/routing):
network state in, engine dataclasses out, and the engine's plan back as a Plan."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING, Any, cast

from django.utils import timezone

from inventory import selectors as inventory_selectors
from inventory.models import Location
from omnichannel.localcache import ProcessCache
from orders.models import Order, OrderLine, RoutingRuleSet, default_cost_model, default_rules
from orders.routing import (
    CandidateLocation,
    CostModel,
    RoutingOptions,
    RoutingOrder,
    RoutingResult,
    route_order,
)
from orders.routing import OrderLine as EngineLine
from orders.services.capacity import orders_today
from orders.sourcing import Plan

if TYPE_CHECKING:
    from orders.routing.models import DeliveryMethod as EngineMethod

COST_KEYS = ("per_shipment", "per_unit", "per_unit_km", "per_kg", "per_kg_km", "unfilled_unit_penalty",
             "split_penalty", "late_penalty")


def _active_rule_sets() -> dict[int | None, RoutingRuleSet]:
    return {rs.channel_id: rs for rs in RoutingRuleSet.objects.filter(status=RoutingRuleSet.Status.ACTIVE)}


# Active rule sets per channel (None: the default), per process: one query less per routing.
# Activating a version saves it, which clears this process's copy; others see it within 5 s.
_ACTIVE_RULE_SETS: ProcessCache[dict[int | None, RoutingRuleSet]] = ProcessCache(
    _active_rule_sets, ttl=5.0, models=[RoutingRuleSet])


def active_rule_set(channel_id: int | None) -> RoutingRuleSet:
    """The channel's active rule set, else the default active one, else built-in defaults (v0).
    A shared instance: read it, never change or save it."""
    found = _ACTIVE_RULE_SETS.get()
    return found.get(channel_id) or found.get(None) or RoutingRuleSet(
        version=0, strategy="optimal", rules=default_rules(), cost_model=default_cost_model())


def cost_model_of(rule_set: RoutingRuleSet) -> CostModel:
    values: dict[str, Any] = {k: float(v) for k, v in (rule_set.cost_model or {}).items()
                              if k in COST_KEYS and v is not None}
    return CostModel(**values)


def options_of(rule_set: RoutingRuleSet, now: datetime | None = None) -> RoutingOptions:
    return RoutingOptions(rules=tuple(rule_set.rules or default_rules()), ranking=tuple(rule_set.ranking or ()),
                          time_limit_ms=float(rule_set.time_limit_ms or 200), now=now)


def routing_order(order: Order, needs_by_line: list[tuple[OrderLine, int]], rule_set: RoutingRuleSet) -> RoutingOrder:
    per_sku: dict[str, list[float]] = {}
    for line, need in needs_by_line:
        entry = per_sku.setdefault(line.sku.code, [0, float(line.sku.weight_grams)])
        entry[0] += need
    lines = tuple(EngineLine(sku=code, qty=int(qty), unit_weight_g=weight) for code, (qty, weight) in per_sku.items())
    pickup = cast(Location, order.pickup_location).code if order.pickup_location_id else None
    max_shipments = rule_set.max_shipments or None
    return RoutingOrder(id=order.number, lines=lines, method=cast("EngineMethod", order.delivery_method),
                        lat=order.ship_latitude, lng=order.ship_longitude, pickup_location=pickup, deadline=order.promised_by,
                        max_shipments=max_shipments)


def candidates(locations: dict[int, Location], sku_codes: dict[int, str],
               held: dict[tuple[int, int], int] | None = None,
               delivery_at: dict[int, datetime] | None = None, *,
               stock_rows: list[inventory_selectors.StockRow] | None = None,
               orders_today: Callable[[list[int]], dict[int, int]] = orders_today) -> list[CandidateLocation]:
    """Every location that could take part, with available stock (plus the order's own holds).
    `stock_rows`: available stock already read (covering these SKUs at these locations; rows
    of others are ignored), else it is read here; `orders_today`: how to count each capped
    location's load (routing many orders at once counts once for all)."""
    if stock_rows is None:
        stock_rows = inventory_selectors.stock_rows(sku_codes.keys(), locations.keys())
    stock: dict[int, dict[str, int]] = defaultdict(dict)
    for row in stock_rows:
        if row.sku_id in sku_codes and row.location_id in locations:
            stock[row.location_id][sku_codes[row.sku_id]] = row.available
    for (loc_id, sku_id), qty in (held or {}).items():
        if loc_id in locations and sku_id in sku_codes:
            code = sku_codes[sku_id]
            stock[loc_id][code] = stock[loc_id].get(code, 0) + qty
    capped = [loc_id for loc_id, loc in locations.items() if loc.daily_order_capacity is not None]
    today = orders_today(capped) if capped else {}  # only a capacity needs today's count
    result = []
    for loc_id, loc in locations.items():
        remaining = None if loc.daily_order_capacity is None else max(0, loc.daily_order_capacity - today.get(loc_id, 0))
        result.append(CandidateLocation(
            code=loc.code, lat=loc.latitude, lng=loc.longitude, stock=stock.get(loc_id, {}), can_ship=loc.can_ship,
            can_pickup=loc.can_pickup, can_same_day=loc.can_same_day, remaining_capacity=remaining,
            handling_per_order=float(loc.handling_cost_per_order), handling_per_unit=float(loc.handling_cost_per_unit),
            processing_hours=loc.processing_minutes / 60, delivery_at=(delivery_at or {}).get(loc_id)))
    return result


def plan_from_result(result: RoutingResult, locations: dict[int, Location], sku_ids: dict[str, int]) -> Plan:
    by_code = {loc.code: loc_id for loc_id, loc in locations.items()}
    take: dict[int, dict[int, int]] = defaultdict(dict)
    for a in result.allocations:
        sku_id = sku_ids[a.sku]
        take[by_code[a.location]][sku_id] = take[by_code[a.location]].get(sku_id, 0) + a.qty
    return Plan(take=dict(take), unfilled={sku_ids[code]: qty for code, qty in result.unfilled.items() if qty})


def engine_plan(order: Order, needs_by_line: list[tuple[OrderLine, int]], locations: dict[int, Location],
                held: dict[tuple[int, int], int], rule_set: RoutingRuleSet,
                delivery_at: dict[int, datetime] | None = None, *,
                stock: list[inventory_selectors.StockRow] | None = None,
                orders_today: Callable[[list[int]], dict[int, int]] = orders_today) -> tuple[Plan, RoutingResult]:
    """The engine's plan for the order's needs (`stock`, `orders_today`: as for `candidates`)."""
    sku_codes = {line.sku_id: line.sku.code for line, _ in needs_by_line}
    network = candidates(locations, sku_codes, held, delivery_at, stock_rows=stock, orders_today=orders_today)
    result = route_order(routing_order(order, needs_by_line, rule_set), network, cost_model_of(rule_set),
                         rule_set.strategy, options_of(rule_set, timezone.now()))
    return plan_from_result(result, locations, {code: sku_id for sku_id, code in sku_codes.items()}), result
