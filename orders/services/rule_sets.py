"""Versioned routing rule sets per channel: draft → simulate → activate."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import replace
from typing import Any

from django.db.models import Max
from django.utils import timezone

from inventory.models import Location, StockLevel
from omnichannel.errors import InvalidTransition, ValidationFailed
from omnichannel.geo import haversine_km
from orders.models import Order, OrderLine, RoutingRuleSet
from orders.routing import RULE_NAMES, STRATEGIES, CandidateLocation, route_orders
from orders.services import planner

SIMULATE_MAX_ORDERS = 500


def ruleset_validate(*, strategy: str, rules: list[str], cost_model: dict[str, Any]) -> None:
    if strategy not in STRATEGIES:
        raise ValidationFailed(f"Strategy must be one of {list(STRATEGIES)}.", field="strategy")
    unknown = [r for r in rules if r not in RULE_NAMES]
    if unknown:
        raise ValidationFailed(f"Unknown rules {unknown}; use {list(RULE_NAMES)}.", field="rules")
    for key, value in cost_model.items():
        if key not in planner.COST_KEYS:
            raise ValidationFailed(f"Unknown cost term {key!r}; use {list(planner.COST_KEYS)}.", field="cost_model")
        if value is not None and (not isinstance(value, int | float) or value < 0):
            raise ValidationFailed(f"Cost term {key!r} must be a number >= 0.", field=f"cost_model.{key}")


def ruleset_create_draft(*, channel_id: int | None, actor: str, strategy: str = "optimal",
                         rules: list[str] | None = None, ranking: list[str] | None = None,
                         cost_model: dict[str, Any] | None = None, max_shipments: int | None = None,
                         time_limit_ms: int = 200, note: str = "") -> RoutingRuleSet:
    """A new draft version for the channel (caller holds a transaction)."""
    base = planner.active_rule_set(channel_id)
    rules = list(rules if rules is not None else base.rules)
    cost = {**base.cost_model, **(cost_model or {})}
    ruleset_validate(strategy=strategy, rules=rules, cost_model=cost)
    # Lock the channel's versions so two drafts never take the same number.
    list(RoutingRuleSet.objects.select_for_update().filter(channel_id=channel_id))
    latest = RoutingRuleSet.objects.filter(channel_id=channel_id).aggregate(v=Max("version"))["v"] or 0
    return RoutingRuleSet.objects.create(
        channel_id=channel_id, version=latest + 1, strategy=strategy, rules=rules, ranking=list(ranking or []),
        cost_model=cost, max_shipments=max_shipments, time_limit_ms=time_limit_ms, note=note, created_by=actor)


def ruleset_activate(rule_set: RoutingRuleSet, *, actor: str) -> RoutingRuleSet:
    """Make the draft the channel's active version; the previous active one retires."""
    list(RoutingRuleSet.objects.select_for_update().filter(channel_id=rule_set.channel_id))
    rule_set.refresh_from_db()
    if rule_set.status != RoutingRuleSet.Status.DRAFT:
        raise InvalidTransition("rule set", rule_set.status, "activate")
    RoutingRuleSet.objects.filter(channel_id=rule_set.channel_id, status=RoutingRuleSet.Status.ACTIVE).update(
        status=RoutingRuleSet.Status.RETIRED)
    rule_set.status = RoutingRuleSet.Status.ACTIVE
    rule_set.activated_at = timezone.now()
    rule_set.save(update_fields=["status", "activated_at"])
    return rule_set


def _network() -> tuple[list[CandidateLocation], dict[str, Location]]:
    """Sellable stock now (on hand less safety stock, damaged and QC; reservations ignored,
    since the simulated orders are re-decided, not added)."""
    locations = {loc.code: loc for loc in Location.objects.filter(is_active=True)}
    stock: dict[str, dict[str, int]] = defaultdict(dict)
    rows = StockLevel.objects.filter(location__is_active=True).values_list(
        "location__code", "sku__code", "on_hand", "safety_stock", "damaged", "quality_control")
    for loc, sku, on_hand, safety, damaged, qc in rows:
        sellable = on_hand - safety - damaged - qc
        if sellable > 0:
            stock[loc][sku] = sellable
    network = [CandidateLocation(
        code=loc.code, lat=loc.latitude, lng=loc.longitude, stock=stock.get(code, {}), can_ship=loc.can_ship,
        can_pickup=loc.can_pickup, can_same_day=loc.can_same_day, remaining_capacity=loc.daily_order_capacity,
        handling_per_order=float(loc.handling_cost_per_order), handling_per_unit=float(loc.handling_cost_per_unit),
        processing_hours=loc.processing_minutes / 60) for code, loc in locations.items()]
    return network, locations


def _metrics(results, orders: list[Order], locations: dict[str, Location]) -> dict[str, Any]:
    by_number = {o.number: o for o in orders}
    shipments = units = 0
    unit_km = 0.0
    late = 0
    for result in results:
        order = by_number[result.order_id]
        shipments += len(result.locations_used)
        late += int(any(c.reason == "misses_deadline" and c.location in result.locations_used
                        for c in result.candidates))
        for a in result.allocations:
            units += a.qty
            if (order.ship_latitude is not None and order.ship_longitude is not None
                    and order.delivery_method != "pickup"):
                loc = locations[a.location]
                unit_km += a.qty * haversine_km(loc.latitude, loc.longitude, order.ship_latitude, order.ship_longitude)
    count = len(results) or 1
    return {"total_cost": round(sum(r.total_cost for r in results), 2),
            "shipments_per_order": round(shipments / count, 3),
            "split_orders": sum(1 for r in results if len(r.locations_used) > 1),
            "avg_km_per_unit": round(unit_km / units, 2) if units else 0.0,
            "unfilled_units": sum(r.unfilled_units for r in results), "late_orders": late,
            "solve_ms_max": round(max((r.solve_ms for r in results), default=0.0), 2)}


def ruleset_simulate(rule_set: RoutingRuleSet, *, last_n: int = 100) -> dict[str, Any]:
    """Route the channel's last N orders with this version and with the active one, on
    today's sellable stock (depleting in order), side by side. Writes nothing."""
    if not 1 <= last_n <= SIMULATE_MAX_ORDERS:
        raise ValidationFailed(f"last_n must be between 1 and {SIMULATE_MAX_ORDERS}.", field="last_n")
    qs = Order.objects.exclude(status=Order.Status.CANCELLED).select_related("pickup_location")
    if rule_set.channel_id:
        qs = qs.filter(channel_id=rule_set.channel_id)
    orders = list(qs.order_by("-placed_at")[:last_n])[::-1]
    lines = defaultdict(list)
    for line in OrderLine.objects.filter(order__in=orders).select_related("sku"):
        lines[line.order_id].append((line, line.quantity))
    active = planner.active_rule_set(rule_set.channel_id)
    network, locations = _network()
    report: dict[str, Any] = {"orders": len(orders), "draft": rule_set.label, "active": active.label}
    for name, candidate in (("draft_metrics", rule_set), ("active_metrics", active)):
        engine_orders = [planner.routing_order(o, lines[o.pk], candidate) for o in orders if lines[o.pk]]
        options = replace(planner.options_of(candidate), explain=True)
        results = route_orders(engine_orders, network, planner.cost_model_of(candidate), candidate.strategy, options)
        report[name] = _metrics(results, orders, locations)
    report["difference"] = {k: round(report["draft_metrics"][k] - report["active_metrics"][k], 3)
                            for k in report["draft_metrics"]}
    return report
