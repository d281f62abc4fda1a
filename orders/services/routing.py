"""Routing: decide which locations fulfil an order, move its reservations there, and
create one fulfillment per location. Runs in a Celery task after `order.placed`, after a
rejection, and when backordered stock may have arrived."""

from __future__ import annotations

import threading
import time
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, cast

from django.db import connection, transaction
from django.db.models import Sum
from django.utils import timezone

from inventory import selectors as inventory_selectors
from inventory import services as inventory_services
from inventory.errors import InsufficientStock
from inventory.models import Location, Sku
from omnichannel import rawsql
from omnichannel.inserts import insert_all
from omnichannel.instances import new
from orders import events
from orders.models import Allocation, Fulfillment, Order, OrderLine, RoutingDecision
from orders.services import capacity, planner
from orders.services.allocation import candidate_locations, destination_of, reserve_plan
from orders.services.promise_service import delivery_estimates
from orders.services.status import Known, refresh_order_status
from orders.sourcing import Plan

ROUTABLE = {Order.Status.PLACED, Order.Status.BACKORDERED, Order.Status.ALLOCATED, Order.Status.IN_PROGRESS}
ROUTE_ATTEMPTS = 4


def order_route(order_id: int, *, trigger: str = "placed", actor: str = "router") -> RoutingDecision | None:
    """Route every unit of the order not yet in a fulfillment. Caller holds a transaction.

    Idempotent: an order with nothing left to route, or no longer routable, is left alone."""
    batch = _batch_of(order_id)
    order = batch.orders.get(order_id) if batch else _lock_order(order_id)
    if order is None or order.status not in ROUTABLE:
        return None
    lines = batch.lines.get(order_id, []) if batch else _lines_with_skus([order_id])
    provisional = batch.provisional.get(order_id, []) if batch else _provisional_allocations([order_id])
    existing = batch.statuses.get(order_id, []) if batch else _fulfillment_statuses([order_id]).get(order_id, [])
    placed = _placed_units(order) if existing else {}  # placed units sit in fulfillments
    needs_by_line = [(line, line.quantity - placed.get(line.pk, 0)) for line in lines]
    needs_by_line = [(line, n) for line, n in needs_by_line if n > 0]
    if not needs_by_line:
        return None
    excluded = {loc for loc, status in existing if status == Fulfillment.Status.REJECTED}
    rule_set = planner.active_rule_set(order.channel_id)
    started = time.perf_counter()
    attempts = 0
    result = None
    for attempts in range(1, ROUTE_ATTEMPTS + 1):  # noqa: B007 - recorded on the decision
        plan, result = _plan(order, needs_by_line, provisional, excluded, rule_set, batch,
                             fresh_stock=attempts > 1)  # a second plan reads stock afresh
        moves = _moves(needs_by_line, provisional, plan)
        if batch and (moves.to_reserve or moves.release):
            batch.stock = None  # this order changes stock levels: the batch's copy is stale from here
        if not moves.to_reserve:  # every unit stays where it is held: nothing can be short
            fulfillments = _apply(order, needs_by_line, moves, plan, actor, numbered=len(existing))
            break
        try:
            with transaction.atomic():
                fulfillments = _apply(order, needs_by_line, moves, plan, actor, numbered=len(existing))
                break
        except InsufficientStock:
            continue  # stock taken meanwhile: plan again with fresh stock
    else:
        plan, fulfillments = Plan(unfilled={}), {}
        for line, need in needs_by_line:
            plan.unfilled[line.sku_id] = plan.unfilled.get(line.sku_id, 0) + need
    if batch:
        batch.took(fulfillments.values())
    decision = _record_decision(order, plan, result, rule_set, excluded, trigger, attempts,
                                time.perf_counter() - started)
    _flag_promise_risk(order, plan, result, actor)
    placed_now = sum(qty for skus in plan.take.values() for qty in skus.values())
    known = Known(statuses=[status for _, status in existing] + [f.status for f in fulfillments.values()],
                  lines=lines, unrouted=sum(line.quantity for line in lines) - sum(placed.values()) - placed_now)
    _announce(order, fulfillments, plan, actor, decision, known)
    return decision


# --- Routing many orders at once -----------------------------------------------------------------
#
# The outbox pump hands a worker up to 50 events at a time (about 25 `order.placed`). Routed one by one,
# each order costs a transaction and about 15 statements, most of them reads of one row or a
# few. `orders_route_many` routes them in one transaction: what every order needs is read
# once for all of them (the orders, locked in id order; their lines, holds and fulfillments;
# the stock of every SKU they name at the locations that could serve them; the day's load of
# each location with a capacity), each order is then routed by `order_route` as ever,
# reading from that copy, and what it writes (fulfillments, holds moved into them, decision,
# status, capacity counts, timeline and events) is written for all orders together at the end.
#
# The copy of the stock stays right while routings only keep the holds placement made (the
# usual case). Once an order moves holds (reserves or releases stock), the rest of the batch
# reads stock from the database again, and a plan that meets a race plans again from the
# database, as alone.

_local = threading.local()


@dataclass
class _Batch:
    orders: dict[int, Order]
    lines: dict[int, list[OrderLine]]
    provisional: dict[int, list[Allocation]]
    statuses: dict[int, list[tuple[int, str]]]
    stock: list[inventory_selectors.StockRow] | None
    today: dict[int, int] = field(default_factory=dict)  # location -> fulfillments today, once read
    taken: list[Fulfillment] = field(default_factory=list)
    timeline: events.Timeline = field(default_factory=events.Timeline)
    new_fulfillments: list[Fulfillment] = field(default_factory=list)  # written at the end
    holds_moved: list[tuple[int, Fulfillment]] = field(default_factory=list)  # (allocation id, its fulfillment)
    new_status: dict[int, tuple[Order, str]] = field(default_factory=dict)  # order id -> (order, status)
    decisions: list[RoutingDecision] = field(default_factory=list)

    def status_changed(self, order: Order, status: str) -> None:
        self.new_status[order.pk] = (order, status)

    def write(self) -> None:
        """What the batch's routings left to write together, in dependency order."""
        insert_all(self.new_fulfillments)
        insert_all(self.decisions)
        _holds_into(self.holds_moved)
        by_status: dict[str, list[int]] = defaultdict(list)
        for order, status in self.new_status.values():
            by_status[status].append(order.pk)
        for status, ids in sorted(by_status.items()):
            rawsql.update(Order, ids, {"status": status})
        capacity.fulfillments_taken(self.taken)
        self.timeline.write()

    def orders_today(self, location_ids: list[int]) -> dict[int, int]:
        missing = [loc for loc in location_ids if loc not in self.today]
        if missing:
            found = capacity.orders_today(missing)
            self.today.update({loc: found.get(loc, 0) for loc in missing})
        return {loc: self.today[loc] for loc in location_ids if self.today[loc]}

    def took(self, fulfillments: Iterable[Fulfillment]) -> None:
        for fulfillment in fulfillments:
            self.taken.append(fulfillment)
            if fulfillment.location_id in self.today:
                self.today[fulfillment.location_id] += 1


def _batch_of(order_id: int) -> _Batch | None:
    batch = getattr(_local, "batch", None)
    return batch if batch is not None and order_id in batch.orders else None


def orders_route_many(order_ids: Iterable[int], *, trigger: str = "placed",
                      actor: str = "router") -> dict[int, RoutingDecision | None]:
    """`order_route` for several orders, in fewer statements. Caller holds a transaction;
    if one order fails, the caller's transaction rolls back every order of the batch."""
    ids = sorted(set(order_ids))
    orders = {order.pk: order for order in _lock_orders(ids)}
    ids = [pk for pk in ids if pk in orders]
    lines = _lines_with_skus(ids)
    by_order: dict[int, list[OrderLine]] = defaultdict(list)
    for line in lines:
        by_order[line.order_id].append(line)
    order_of_line = {line.pk: line.order_id for line in lines}
    provisional: dict[int, list[Allocation]] = defaultdict(list)
    for alloc in _provisional_allocations(ids):
        provisional[order_of_line[alloc.order_line_id]].append(alloc)
    serving = {loc_id for order in orders.values() for loc_id in candidate_locations(order)}
    stock = inventory_selectors.stock_rows({line.sku_id for line in lines}, serving)
    batch = _Batch(orders=orders, lines=by_order, provisional=provisional, statuses=_fulfillment_statuses(ids),
                   stock=stock)
    _local.batch = batch
    try:
        decisions = {pk: order_route(pk, trigger=trigger, actor=actor) for pk in ids}
    finally:
        _local.batch = None
    batch.write()
    return decisions


def _holds_into(moved: list[tuple[int, Fulfillment]]) -> None:
    """Put each allocation (by id) into its fulfillment: one UPDATE for all of them."""
    if not moved:
        return
    target = Allocation._meta.get_field("fulfillment")
    col, pk = rawsql.column(Allocation, "fulfillment"), rawsql.column(Allocation, "id")
    cases = " ".join([f"WHEN %s THEN CAST(%s AS {target.db_type(connection)})"] * len(moved))
    params = [value for a, f in moved for value in (a, f.pk)]
    sql = (f"UPDATE {rawsql.table(Allocation)} SET {col} = CASE {pk} {cases} END "  # noqa: S608 - identifiers
           f"WHERE {rawsql.in_list(pk, [a for a, _ in moved], params)}")
    with connection.cursor() as cursor:
        cursor.execute(sql, params)

# The reads below run for every order routed; they are written out (omnichannel.rawsql)
# because Django's compiler cost several times the queries themselves. Each matches the
# ORM query it replaced, ordering included.

def _lock_order(order_id: int) -> Order | None:
    """The order, its row locked until the caller's transaction ends."""
    found = _lock_orders([order_id])
    return found[0] if found else None


def _lock_orders(order_ids: list[int]) -> list[Order]:
    """The orders, in id order (so two batches never wait on each other in a circle), their
    rows locked until the caller's transaction ends."""
    if not order_ids:
        return []
    lock = " FOR UPDATE" if connection.features.has_select_for_update else ""
    params: list[int] = []
    pk = "t." + rawsql.column(Order, "id")
    orders = rawsql.instances(Order, f"WHERE {rawsql.in_list(pk, order_ids, params)} ORDER BY {pk}{lock}", params)
    for order in orders:
        if order.pickup_location_id is not None:
            order.pickup_location = Location.objects.get(pk=order.pickup_location_id)
    return orders


def _lines_with_skus(order_ids: list[int]) -> list[OrderLine]:
    """The orders' lines with their SKUs, by order and line number."""
    o = "l." + rawsql.column(OrderLine, "order")
    params: list[int] = []
    sql = (f"SELECT {rawsql.columns(OrderLine, 'l')}, {rawsql.columns(Sku, 's')} "  # noqa: S608
           f"FROM {rawsql.table(OrderLine)} l JOIN {rawsql.table(Sku)} s "
           f"ON s.{rawsql.column(Sku, 'id')} = l.{rawsql.column(OrderLine, 'sku')} "
           f"WHERE {rawsql.in_list(o, order_ids, params)} ORDER BY {o}, l.{rawsql.column(OrderLine, 'line_number')}")
    lines = []
    line: OrderLine
    for row in rawsql.fetch(sql, params):
        line, line.sku = cast("tuple[OrderLine, Sku]", rawsql.split(row, OrderLine, Sku))
        lines.append(line)
    return lines


def _provisional_allocations(order_ids: list[int]) -> list[Allocation]:
    """Active holds not yet in a fulfillment (placement's provisional reservations), by id."""
    params: list[object] = []
    where = (f"JOIN {rawsql.table(OrderLine)} l ON l.{rawsql.column(OrderLine, 'id')} = "
             f"t.{rawsql.column(Allocation, 'order_line')} "
             f"WHERE {rawsql.in_list('l.' + rawsql.column(OrderLine, 'order'), order_ids, params)} "
             f"AND t.{rawsql.column(Allocation, 'is_active')} = %s "
             f"AND t.{rawsql.column(Allocation, 'fulfillment')} IS NULL ORDER BY t.{rawsql.column(Allocation, 'id')}")
    return rawsql.instances(Allocation, where, [*params, True])


def _fulfillment_statuses(order_ids: list[int]) -> dict[int, list[tuple[int, str]]]:
    """Per order: (location id, status) of every fulfillment it has, oldest first."""
    col = {name: rawsql.column(Fulfillment, name) for name in ("order", "location", "status", "id")}
    params: list[int] = []
    sql = (f"SELECT {col['order']}, {col['location']}, {col['status']} "  # noqa: S608
           f"FROM {rawsql.table(Fulfillment)} WHERE {rawsql.in_list(col['order'], order_ids, params)} "
           f"ORDER BY {col['id']}")
    found: dict[int, list[tuple[int, str]]] = defaultdict(list)
    for order_id, location_id, status in rawsql.fetch(sql, params):
        found[order_id].append((location_id, status))
    return found


def _flag_promise_risk(order: Order, plan: Plan, result, actor: str) -> None:
    """An order placed with a promise that this plan cannot keep is flagged at risk, with why."""
    if order.promised_by is None:
        return
    used = {a.location for a in (result.allocations if result else ())}
    locations = {loc_id: loc for loc_id, loc in candidate_locations(order).items() if loc.code in used}
    service = order.promise_option.split(":", 1)[1] if order.promise_option.startswith("ship:") else None
    estimates = delivery_estimates(locations, service_code=service, method=order.delivery_method)
    late = sorted(locations[loc_id].code for loc_id, at in estimates.items() if at > order.promised_by)
    reasons = []
    if plan.unfilled:
        reasons.append(f"{plan.unfilled_units} unit(s) have no stock")
    if late:
        reasons.append(f"{', '.join(late)} cannot deliver by {timezone.localtime(order.promised_by):%a %d %b %H:%M}")
    reason = "; ".join(reasons)[:255]
    if reason == order.at_risk_reason:
        return
    Order.objects.filter(pk=order.pk).update(at_risk_reason=reason)
    order.at_risk_reason = reason
    events.record(order, "order.at_risk" if reason else "order.back_on_track", actor=actor,
                  message=reason or "The promise can be kept again", publish=False)


def _placed_units(order: Order) -> dict[int, int]:
    rows = (Allocation.objects.filter(order_line__order=order, is_active=True, fulfillment__isnull=False)
            .values_list("order_line_id").annotate(total=Sum("quantity")).values_list("order_line_id", "total"))
    return dict(rows)


def _plan(order: Order, needs_by_line, provisional: list[Allocation], excluded: set[int], rule_set,
          batch: _Batch | None = None, *, fresh_stock: bool = False):
    held: dict[tuple[int, int], int] = defaultdict(int)
    sku_of_line = {line.pk: line.sku_id for line, _ in needs_by_line}
    for alloc in provisional:
        held[(alloc.location_id, sku_of_line.get(alloc.order_line_id, 0))] += alloc.quantity
    locations = candidate_locations(order, excluded)
    delivery_at = None
    if order.promised_by is not None:
        service = order.promise_option.split(":", 1)[1] if order.promise_option.startswith("ship:") else None
        delivery_at = delivery_estimates(locations, service_code=service, method=order.delivery_method)
    if batch is not None:  # the batch's load counts (its own routings included), and its stock while right
        return planner.engine_plan(order, needs_by_line, locations, held, rule_set, delivery_at,
                                   stock=None if fresh_stock else batch.stock, orders_today=batch.orders_today)
    return planner.engine_plan(order, needs_by_line, locations, held, rule_set, delivery_at)


@dataclass
class _Moves:
    """How a plan changes the order's holds: provisional holds kept where they are (by
    location), holds released, and what must still be reserved at the plan's locations."""

    keep_at: dict[int, list[int]]  # location -> provisional allocation ids kept there
    release: list[Allocation]
    remaining: dict[int, dict[int, int]]  # location -> sku -> units still to reserve there
    to_reserve: list[tuple[OrderLine, int]]  # (line, units) not covered by a kept hold


def _moves(needs_by_line, provisional: list[Allocation], plan: Plan) -> _Moves:
    remaining = {loc: dict(skus) for loc, skus in plan.take.items()}
    sku_of_line = {line.pk: line.sku_id for line, _ in needs_by_line}
    kept: dict[int, int] = defaultdict(int)
    keep_at: dict[int, list[int]] = defaultdict(list)
    release: list[Allocation] = []
    for alloc in provisional:
        sku_id = sku_of_line.get(alloc.order_line_id)
        if sku_id is not None and remaining.get(alloc.location_id, {}).get(sku_id, 0) >= alloc.quantity:
            remaining[alloc.location_id][sku_id] -= alloc.quantity
            kept[alloc.order_line_id] += alloc.quantity
            keep_at[alloc.location_id].append(alloc.pk)
        else:
            release.append(alloc)
    to_reserve = [(line, need - kept[line.pk]) for line, need in needs_by_line if need > kept[line.pk]]
    return _Moves(keep_at=keep_at, release=release, remaining=remaining, to_reserve=to_reserve)


def _apply(order: Order, needs_by_line, moves: _Moves, plan: Plan, actor: str, *,
           numbered: int) -> dict[int, Fulfillment]:
    """Create the plan's fulfillments (numbered after the order's `numbered` earlier ones):
    provisional holds already at a chosen location are kept (no ledger churn), the others
    released, and the rest reserved at the chosen locations."""
    fulfillments = {}
    for loc_id in plan.take:
        numbered += 1
        fulfillments[loc_id] = new(Fulfillment, order=order, location_id=loc_id, number=f"{order.number}-{numbered}")
    batch = _batch_of(order.pk)
    if batch is not None and not moves.release and not moves.to_reserve:
        # Holds kept where they are (the usual case): the batch writes the fulfillments and
        # moves the holds into them for all its orders at its end.
        batch.new_fulfillments += fulfillments.values()
        batch.holds_moved += [(pk, fulfillments[loc_id]) for loc_id, pks in moves.keep_at.items() for pk in pks]
        _set_backorders(needs_by_line, plan)
        return fulfillments
    insert_all(list(fulfillments.values()))
    if batch is None:  # a batch counts them once they are sure (order_route), all at its end
        capacity.fulfillments_taken(fulfillments.values())
    for loc_id, alloc_ids in moves.keep_at.items():
        rawsql.update(Allocation, alloc_ids, {"fulfillment": fulfillments[loc_id]})
    to_take = Plan(take=moves.remaining)
    if moves.release:
        # the levels to take are locked with the released ones (one pk order, see reservations_release)
        to_take.level_ids = inventory_selectors.stock_level_ids(
            {(loc, sku) for loc, skus in moves.remaining.items() for sku, units in skus.items() if units > 0})
        inventory_services.reservations_release([a.reservation_id for a in moves.release], reason="reroute",
                                                actor=actor, then_take=to_take.level_ids.values())
        Allocation.objects.filter(pk__in=[a.pk for a in moves.release]).update(is_active=False)
    reserve_plan(moves.to_reserve, to_take, actor=actor, fulfillments=fulfillments)
    _set_backorders(needs_by_line, plan)
    return fulfillments


def _set_backorders(needs_by_line, plan: Plan) -> None:
    left = dict(plan.unfilled)
    for line, need in reversed(needs_by_line):
        short = min(need, left.get(line.sku_id, 0))
        left[line.sku_id] = left.get(line.sku_id, 0) - short
        if line.backordered_quantity != short:  # most routings change nothing here
            OrderLine.objects.filter(pk=line.pk).update(backordered_quantity=short)
            line.backordered_quantity = short


def _record_decision(order: Order, plan: Plan, result, rule_set, excluded: set[int], trigger: str, attempts: int,
                     seconds: float) -> RoutingDecision:
    outcome = "routed" if plan.take and not plan.unfilled else ("partial" if plan.take else "backordered")
    candidates = [{"location": c.location, "reason": c.reason, "detail": c.detail,
                   "km": None if c.km is None else round(c.km, 2),
                   "cost_delta": None if c.cost_delta is None else round(c.cost_delta, 2)}
                  for c in (result.candidates if result else ())]
    cost = {"total": 0.0, "unfilled_units": plan.unfilled_units}
    if result is not None:
        cost.update({k: round(v, 4) for k, v in vars(result.cost).items()}, total=round(result.total_cost, 4))
    decision = new(
        RoutingDecision,
        order=order, strategy=rule_set.strategy, rule_set_version=rule_set.label if rule_set.pk else "default-v0",
        trigger=trigger, outcome=outcome, excluded_locations=sorted(excluded),
        inputs={"destination": destination_of(order), "method": order.delivery_method, "attempts": attempts,
                "deadline": order.promised_by.isoformat() if order.promised_by else None,
                "lines": [{"sku": a.sku, "qty": a.qty} for a in (result.allocations if result else ())]},
        plan=[{"location": a.location, "sku": a.sku, "qty": a.qty} for a in (result.allocations if result else ())],
        cost=cost, candidates=candidates, solver_status=result.solver_status if result else "stock_race",
        duration_ms=round(seconds * 1000, 3))
    if (batch := _batch_of(order.pk)) is not None:
        batch.decisions.append(decision)  # written with the batch (its key reaches the timeline then)
    else:
        insert_all([decision])
    return decision


def _announce(order: Order, fulfillments: dict[int, Fulfillment], plan: Plan, actor: str,
              decision: RoutingDecision, known: Known) -> None:
    before = order.status
    batch = _batch_of(order.pk)
    refresh_order_status(order, actor=actor, announce=False, known=known,
                         store=batch.status_changed if batch else None)
    event = events.ORDER_BACKORDERED if plan.unfilled and not fulfillments else events.ORDER_ROUTED
    entries: list[dict[str, Any]] = [
        *({"type": events.FULFILLMENT_CREATED, "fulfillment": fulfillment, "status_to": fulfillment.status,
           "message": f"Sent to {fulfillment.location_id}", "payload": {"location_id": fulfillment.location_id},
           "publish": False} for fulfillment in fulfillments.values()),
        {"type": event, "status_from": before, "status_to": order.status,
         "payload": {"decision_id": decision, "fulfillments": [f.number for f in fulfillments.values()],
                     "backordered_units": plan.unfilled_units}},
    ]
    if batch is not None:
        batch.timeline.add(order, entries, actor=actor)  # written for the whole batch at its end
    else:
        events.record_many(order, entries, actor=actor)


def backordered_orders(limit: int = 100) -> Iterable[int]:
    return (Order.objects.filter(status=Order.Status.BACKORDERED).order_by("placed_at")
            .values_list("pk", flat=True)[:limit])
