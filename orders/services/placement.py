"""Capture: an order arrives, is validated, matched to a customer, and its stock is
guaranteed (reserved) in the same transaction."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from decimal import Decimal
from typing import Any, cast

from django.db import transaction
from django.db.models import DecimalField, Model
from django.utils import timezone

from inventory import selectors as inventory_selectors
from inventory import services as inventory_services
from inventory.errors import InsufficientStock, QuantityInvalid, Shortage, UnknownSku
from inventory.models import Location, Sku
from inventory.selectors import StockRow
from omnichannel import outbox, rawsql
from omnichannel.errors import ValidationFailed
from omnichannel.inserts import Extra, Together, insert_with_children, together
from omnichannel.instances import new
from omnichannel.models import OutboxEvent
from orders import events
from orders.customers import Contact, contact_normalise, customer_match
from orders.errors import AddressRequired, PickupNotPossible
from orders.models import DeliveryMethod, Order, OrderLine
from orders.services.allocation import plan_for, plan_rows, take_plan
from orders.services.inputs import CURRENCIES, ChannelContext, OrderInput
from orders.services.numbers import new_order_number
from orders.services.selling import sells_at

MAX_LINES = 200
PLACEMENT_ATTEMPTS = 4


def _largest(model: type[Model], name: str) -> Decimal:
    """The largest amount a DecimalField's column holds."""
    field = cast(DecimalField, model._meta.get_field(name))
    return Decimal(10) ** (field.max_digits - field.decimal_places) - Decimal(1).scaleb(-field.decimal_places)


MAX_TOTAL = _largest(Order, "total_amount")  # 9999999999.99
MAX_UNIT_PRICE = _largest(OrderLine, "unit_price")  # 9999999999.99


def order_get_by_external_id(channel_id: int, external_id: str | None) -> Order | None:
    if not external_id:
        return None
    # Written out (omnichannel.rawsql): every capture asks, and nearly every answer is "no".
    sql = (f"SELECT {rawsql.column(Order, 'id')} FROM {rawsql.table(Order)} "  # noqa: S608
           f"WHERE {rawsql.column(Order, 'channel')} = %s AND {rawsql.column(Order, 'external_id')} = %s")
    rows = rawsql.fetch(sql, [channel_id, external_id])
    return Order.objects.get(pk=rows[0][0]) if rows else None


def _validate(data: OrderInput) -> tuple[dict[str, Sku], Location | None, list[StockRow] | None]:
    """The order's SKUs and pickup location, or the error; for a shipped order also the
    stock of its SKUs where it could ship from (read with the SKUs, for the first plan)."""
    if data.delivery_method not in DeliveryMethod.values:
        raise ValidationFailed(f"Unknown delivery method {data.delivery_method!r}.", field="delivery_method")
    if not data.lines:
        raise ValidationFailed("An order needs at least one line.", field="lines")
    if len(data.lines) > MAX_LINES:
        raise ValidationFailed(f"An order has at most {MAX_LINES} lines.", field="lines")
    if data.currency not in CURRENCIES:
        raise ValidationFailed(f"Unknown currency {data.currency!r}: give an ISO 4217 code, such as EUR.",
                               field="currency")
    if data.delivery_method == DeliveryMethod.PICKUP and not data.pickup_location:
        raise ValidationFailed("Required for pickup: the code of the location where the customer collects the "
                               "order.", field="pickup_location", code="required")
    if data.delivery_method != DeliveryMethod.PICKUP and data.pickup_location:
        raise ValidationFailed(f"Only for pickup orders: a {data.delivery_method} order is delivered to its "
                               f"address, not collected.", field="pickup_location")
    for index, line in enumerate(data.lines):
        if line.quantity <= 0:
            raise QuantityInvalid("Quantity must be a positive whole number.", field=f"lines[{index}].quantity")
    stock_at = None
    if data.delivery_method != DeliveryMethod.PICKUP:
        stock_at = [loc.pk for loc in inventory_selectors.locations_serving(data.delivery_method)]
    skus, stock = inventory_selectors.skus_with_stock((line.sku for line in data.lines), stock_at)
    for index, line in enumerate(data.lines):
        if line.sku not in skus:
            raise UnknownSku(f"Unknown SKU {line.sku!r}.", field=f"lines[{index}].sku")
    pickup = None
    if data.delivery_method == DeliveryMethod.PICKUP:
        pickup = Location.objects.filter(code=data.pickup_location, is_active=True).first()
        if pickup is None:
            raise PickupNotPossible(f"Unknown pickup location {data.pickup_location!r}.", field="pickup_location")
        if not pickup.can_pickup:
            raise PickupNotPossible(f"{pickup.name} does not offer click & collect.", field="pickup_location")
    else:
        address = data.address
        if address is None or not address.line1.strip() or not address.city.strip():
            raise AddressRequired("A shipped order needs an address with line1 and city.", field="address")
    return skus, pickup, stock if stock_at is not None else None


_UNREAD: Any = object()


class PlacementRaced(Exception):  # noqa: N818 - a signal to the caller, not an error
    """An optimistic placement lost a race for its stock: the caller rolls its transaction
    back and places the order again with `optimistic=False`."""


class DeferredWrites:
    """The last writes of an optimistic placement on Postgres, left to the caller to run in
    its own last statement (`order_place(deferred=...)`, then `write()`): the stock taken,
    and the reservations, ledger rows, timeline and outbox events. The stock's row locks are
    then held only from that statement to the commit, and two round trips are saved. The
    rows are prepared already (the timeline's times set), so the caller can render the order
    first."""

    def __init__(self) -> None:
        self.statement: Together | None = None
        self.per_level: dict[int, int] = {}
        self.events: list[OutboxEvent] = []

    @property
    def pending(self) -> bool:
        return self.statement is not None

    def write(self, extra: Sequence[Extra] = ()) -> None:
        """Take the stock and insert the rows in one statement with `extra` (the caller's own
        last writes, see `Together.run`). Raises PlacementRaced when a stock level no longer
        had the units: the caller's transaction must roll back whole."""
        if self.statement is None:
            raise ValueError("nothing deferred")
        take = [inventory_services.stock_take_sql(self.per_level, timezone.now())] if self.per_level else []
        found = self.statement.run([*take, *extra])
        if take and len(found[0]) < len(self.per_level):
            raise PlacementRaced
        outbox.published(self.events)


def order_place(data: OrderInput, ctx: ChannelContext, *, existing_id: int | None = _UNREAD,
                optimistic: bool = False, deferred: DeferredWrites | None = None) -> tuple[Order, bool]:
    """Create the order and reserve its stock, or change nothing.

    Returns (order, created). The same (channel, external_id) returns the existing order
    (`existing_id`: its id, or None for none, when the caller has looked already; a twin
    committed since is still caught). Short stock: InsufficientStock (409 with the short
    lines) unless the channel backorders. Caller holds a transaction.

    Stock read for the plan may be taken by another order before this one takes it; the
    plan is then made again. Each attempt runs in a savepoint, whose rollback also lets go
    of the stock rows the attempt locked (held, they could deadlock the next attempt).
    `optimistic`: the first attempt runs without one (two round trips fewer) and a lost race
    raises PlacementRaced instead, for a caller whose transaction is this placement alone.
    `deferred` (optimistic, Postgres): a new order's stock is not taken and its last rows not
    written, but left in it for the caller's own last statement (`DeferredWrites.write`)."""
    if deferred is not None and not optimistic:
        raise ValueError("deferred writes are for an optimistic placement")
    if existing_id is _UNREAD:
        existing = order_get_by_external_id(ctx.channel_id, data.external_id)
    else:
        existing = Order.objects.get(pk=existing_id) if existing_id is not None else None
    if existing is not None:
        return existing, False
    skus, pickup, stock = _validate(data)
    if pickup is not None and not sells_at(ctx.channel_id, pickup.pk):
        raise PickupNotPossible(f"{pickup.name} does not sell for this channel: collect the order at one of the "
                                f"channel's locations.", field="pickup_location")
    prices, total = _priced(data, skus)
    contact = contact_normalise(email=data.email, phone=data.phone, name=data.customer_name)
    customer = customer_match(contact)
    created = _create_order(data, ctx, skus, pickup, customer, contact, prices, total)
    if created is None:  # a concurrent request with the same external id won the race
        return order_get_by_external_id(ctx.channel_id, data.external_id), False  # type: ignore[return-value]
    order, lines = created  # the rows inserted (pks set, sku attached)
    backordered, stock_rows, per_level = _guarantee_stock(order, lines, ctx, optimistic, stock,
                                                          defer=deferred is not None)
    if backordered:
        for line in lines:
            if line.backordered_quantity:
                OrderLine.objects.filter(pk=line.pk).update(backordered_quantity=line.backordered_quantity)
    entries: list[dict[str, Any]] = [
        {"type": events.ORDER_PLACED, "status_to": order.status,
         "payload": {"backordered_units": backordered, "lines": len(lines)}},
        {"type": events.ORDER_CONFIRMED, "message": "Order confirmed"},
    ]
    if deferred is None:
        timeline = events.record_many(order, entries, actor=ctx.actor, with_rows=stock_rows)  # one statement
    else:
        rows = events.Timeline()
        timeline = rows.add(order, entries, actor=ctx.actor)
        groups, deferred.events = rows.rows_to_write(with_rows=stock_rows)
        deferred.statement, deferred.per_level = together(groups), per_level
    # What a fresh order's detail needs is in memory: the caller can render it without re-reading.
    order._prefetched_objects_cache = {"lines": lines, "events": timeline, "fulfillments": []}  # type: ignore[attr-defined]
    return order, True


def _priced(data: OrderInput, skus: dict[str, Sku]) -> tuple[list[Decimal], Decimal]:
    """Each line's unit price (given, or the SKU's catalogue price) and the order's total, or
    the error when one does not fit its column (rather than a database error, a 500, once
    the order is half written). Through the API a unit price fits already (OrderIn)."""
    prices = [skus[line.sku].price if line.unit_price is None else line.unit_price for line in data.lines]
    for index, price in enumerate(prices):
        if not 0 <= price <= MAX_UNIT_PRICE:
            raise ValidationFailed(f"A unit price is from 0 to {MAX_UNIT_PRICE}, not {price}.",
                                   field=f"lines[{index}].unit_price")
    total = sum((price * line.quantity for price, line in zip(prices, data.lines, strict=True)), Decimal("0"))
    if total > MAX_TOTAL:
        raise ValidationFailed(f"The order's total would be {total}, more than the {MAX_TOTAL} an order can "
                               f"total: split it into several orders.", field="lines", code="total_too_large",
                               extra={"max_total": str(MAX_TOTAL)})
    return prices, total


def _create_order(data: OrderInput, ctx: ChannelContext, skus: dict[str, Sku], pickup: Location | None,
                  customer, contact: Contact, prices: list[Decimal], total: Decimal
                  ) -> tuple[Order, list[OrderLine]] | None:
    address = data.address
    fields = {}
    if address is not None and data.delivery_method != DeliveryMethod.PICKUP:
        fields = {"ship_name": address.name or data.customer_name, "ship_line1": address.line1,
                  "ship_line2": address.line2, "ship_city": address.city, "ship_postal_code": address.postal_code,
                  "ship_country": address.country, "ship_phone": address.phone,
                  "ship_latitude": address.latitude, "ship_longitude": address.longitude}
    for _ in range(3):
        order = new(Order, number=new_order_number(), channel_id=ctx.channel_id, external_id=data.external_id or None,
                      customer=customer, contact_email=contact.email or "", contact_phone=contact.phone or "",
                      contact_name=contact.name, delivery_method=data.delivery_method, pickup_location=pickup,
                      currency=data.currency, total_amount=total, promise_option=data.promise_option[:64],
                      promised_by=data.promised_by, **fields)
        lines = [new(OrderLine, line_number=i + 1, sku=skus[line.sku], quantity=line.quantity, unit_price=price)
                 for i, (line, price) in enumerate(zip(data.lines, prices, strict=True))]
        if not insert_with_children(order, lines, "order"):  # a unique constraint: the external id, or the number
            if order_get_by_external_id(ctx.channel_id, data.external_id):
                return None
            continue  # order number collision: draw another
        return order, lines
    raise ValidationFailed("Could not allocate an order number; try again.", field=None)


def _guarantee_stock(order: Order, lines: list[OrderLine], ctx: ChannelContext, optimistic: bool,
                     stock: list[StockRow] | None, *, defer: bool = False
                     ) -> tuple[int, list[Sequence[Model]], dict[int, int]]:
    """Reserve every unit provisionally (nearest stock first). Returns the backordered units,
    the unsaved rows that record the reservations, for the caller to insert with its own
    (`take_plan`: the stock itself is taken already), and, with `defer` (optimistic only),
    the units per stock level that are left for the caller to take (else empty). `stock`:
    rows read with the SKUs, for the first plan (a plan made again reads afresh)."""
    needs: dict[int, int] = defaultdict(int)
    for line in lines:
        needs[line.sku_id] += line.quantity
    for _ in range(PLACEMENT_ATTEMPTS):
        plan = plan_for(order, dict(needs), stock=stock)
        stock = None
        if plan.unfilled and not ctx.allow_backorder:
            raise InsufficientStock(_shortages(lines, needs, plan.unfilled))
        wanted = [(line, line.quantity) for line in lines]
        per_level: dict[int, int] = {}
        try:
            if defer:
                per_level, rows = plan_rows(wanted, plan, actor=ctx.actor)
            elif optimistic:
                rows = take_plan(wanted, plan, actor=ctx.actor)
            else:
                with transaction.atomic():
                    rows = take_plan(wanted, plan, actor=ctx.actor)
        except InsufficientStock:
            if optimistic:
                raise PlacementRaced from None
            continue  # another order took the stock between read and take: plan again
        _mark_backorders(lines, plan.unfilled)
        return plan.unfilled_units, rows, per_level
    raise InsufficientStock(_shortages(lines, needs, dict(needs)))


def _mark_backorders(lines: list[OrderLine], unfilled: dict[int, int]) -> None:
    left = dict(unfilled)
    for line in reversed(lines):
        short = min(line.quantity, left.get(line.sku_id, 0))
        if short:
            line.backordered_quantity = short
            left[line.sku_id] -= short


def _shortages(lines: list[OrderLine], needs: dict[int, int], unfilled: dict[int, int]) -> list[Shortage]:
    codes = {line.sku_id: line.sku.code for line in lines}
    return [Shortage(sku=codes[sku], requested=needs[sku], available=needs[sku] - short)
            for sku, short in unfilled.items() if short]
