"""Turning a sourcing plan into reservations and allocations, for placement and routing."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from typing import cast

from django.db.models import Model

from inventory import selectors as inventory_selectors
from inventory import services as inventory_services
from inventory.errors import InsufficientStock
from inventory.models import Location
from inventory.selectors import StockRow
from omnichannel.inserts import insert_all_together
from omnichannel.instances import new
from orders.models import Allocation, Fulfillment, Order, OrderLine
from orders.services.selling import selling_locations
from orders.sourcing import Candidate, Plan, plan_nearest

RESERVATION_REFERENCE = "order_line"


def destination_of(order: Order) -> tuple[float, float] | None:
    if order.delivery_method == "pickup" and order.pickup_location is not None:
        return (order.pickup_location.latitude, order.pickup_location.longitude)
    if order.ship_latitude is not None and order.ship_longitude is not None:
        return (order.ship_latitude, order.ship_longitude)
    return None


def candidate_locations(order: Order, exclude: Iterable[int] = ()) -> dict[int, Location]:
    """The locations that can serve the order's delivery method and sell for its channel
    (`selling.py`), less `exclude`."""
    serving = inventory_selectors.locations_serving(order.delivery_method, order.pickup_location_id)
    excluded = set(exclude)
    selling = selling_locations(order.channel_id)
    return {loc.pk: loc for loc in serving
            if loc.pk not in excluded and (selling is None or loc.pk in selling)}


def candidates_with_stock(order: Order, sku_ids: set[int], locations: dict[int, Location],
                          held: dict[tuple[int, int], int] | None = None,
                          rows: list[StockRow] | None = None) -> tuple[list[Candidate], dict]:
    """Candidates with available stock, plus units this order already holds (`held`,
    keyed (location_id, sku_id)) added back, since moving them is not taking new stock.
    `rows`: the stock rows of `sku_ids`, if the caller read them already (at least at
    `locations`; others are left out)."""
    stock: dict[int, dict[int, int]] = defaultdict(dict)
    level_ids: dict[tuple[int, int], int] = {}
    if rows is None:
        rows = inventory_selectors.stock_rows(sku_ids, locations.keys())
    for row in rows:
        if row.location_id not in locations or row.sku_id not in sku_ids:
            continue
        stock[row.location_id][row.sku_id] = row.available
        level_ids[(row.location_id, row.sku_id)] = row.stock_level_id
    for (loc_id, sku_id), qty in (held or {}).items():
        if loc_id in locations:
            stock[loc_id][sku_id] = stock[loc_id].get(sku_id, 0) + qty
    candidates = [Candidate(loc_id, locations[loc_id].latitude, locations[loc_id].longitude, dict(s))
                  for loc_id, s in stock.items()]
    return candidates, level_ids


def reserve_plan(needs: list[tuple[OrderLine, int]], plan: Plan, *, actor: str,
                 fulfillments: dict[int, Fulfillment] | None = None) -> list[Allocation]:
    """Reserve the plan's units for each (line, units needed) and record allocations.
    Raises InsufficientStock, changing nothing, if another order took the stock since the
    plan was read (the caller plans again)."""
    rows = take_plan(needs, plan, actor=actor, fulfillments=fulfillments)
    insert_all_together(rows)  # one statement on Postgres
    return cast("list[Allocation]", rows[-1]) if rows else []


def take_plan(needs: list[tuple[OrderLine, int]], plan: Plan, *, actor: str,
              fulfillments: dict[int, Fulfillment] | None = None) -> list[Sequence[Model]]:
    """`reserve_plan` in two halves: the stock is taken now (`stock_take`); the rows that
    record it, [reservations, ledger movements, allocations], are returned unsaved for the
    caller to insert (`insert_all_together`, alone or with its own rows) in this transaction.
    Empty when the plan takes nothing."""
    per_level, rows = plan_rows(needs, plan, actor=actor, fulfillments=fulfillments)
    if per_level:
        inventory_services.stock_take(per_level)
    return rows


def plan_rows(needs: list[tuple[OrderLine, int]], plan: Plan, *, actor: str,
              fulfillments: dict[int, Fulfillment] | None = None) -> tuple[dict[int, int], list[Sequence[Model]]]:
    """`take_plan` without taking the stock: the units to take per stock level (for
    `stock_take`, or `stock_take_sql` in the caller's own statement) and the rows. Raises
    InsufficientStock if the plan names a stock level it did not read (a race: plan again)."""
    remaining = {loc: dict(skus) for loc, skus in plan.take.items()}
    wanted: list[tuple[OrderLine, int, int]] = []  # (line, location_id, qty)
    for line, need in needs:
        for loc_id, skus in remaining.items():
            if need == 0:
                break
            got = min(need, skus.get(line.sku_id, 0))
            if got:
                skus[line.sku_id] -= got
                need -= got
                wanted.append((line, loc_id, got))
    if not wanted:
        return {}, []
    pairs = {(loc, line.sku_id) for line, loc, _ in wanted}
    levels = {pair: plan.level_ids[pair] for pair in pairs if pair in plan.level_ids}
    if len(levels) < len(pairs):  # e.g. units the order holds where nothing else is available
        levels.update(inventory_selectors.stock_level_ids(pairs - levels.keys()))
    if len(levels) < len(pairs):
        raise InsufficientStock([])  # a plan only names stock levels it read: a race, plan again
    requests = [inventory_services.ReserveRequest(levels[(loc, line.sku_id)], qty, str(line.pk))
                for line, loc, qty in wanted]
    per_level: dict[int, int] = defaultdict(int)
    for request in requests:
        per_level[request.stock_level_id] += request.quantity
    reservations, movements = inventory_services.reservation_rows(
        requests, reference_type=RESERVATION_REFERENCE, actor=actor)
    allocations = [
        new(Allocation, order_line=line, location_id=loc, quantity=qty, reservation=res,
                   fulfillment=(fulfillments or {}).get(loc))
        for (line, loc, qty), res in zip(wanted, reservations, strict=True)
    ]
    return dict(per_level), [reservations, movements, allocations]


def plan_for(order: Order, needs: dict[int, int], *, exclude: Iterable[int] = (),
             held: dict[tuple[int, int], int] | None = None, stock: list[StockRow] | None = None) -> Plan:
    """The nearest plan for `needs` (sku id -> units). `stock`: rows read already (see
    `candidates_with_stock`)."""
    locations = candidate_locations(order, exclude)
    candidates, level_ids = candidates_with_stock(order, set(needs), locations, held, stock)
    plan = plan_nearest(needs, candidates, destination_of(order))
    plan.level_ids = level_ids
    return plan
