"""A small floor to work on: a warehouse next to Damrak with bins and box types, a second
warehouse further out (where short-picked units go), and a store that hands over pickups
and takes returns. Used by the service tests and the browser tests."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from django.db import transaction

from channels_sync.models import SalesChannel
from inventory.models import Location, Sku, StockLevel, StockMovement
from inventory.services import stock_receive
from orders.models import Fulfillment, Order
from orders.services import AddressInput, ChannelContext, LineInput, OrderInput, order_place, order_route
from tests import factories
from warehouse.models import Bin, BinStock
from warehouse.services.binstock import bin_add, floor_books_bins
from warehouse.services.layout import BinInput, BoxInput, bins_create, box_types_create

DAMRAK = AddressInput(name="Eva de Vries", line1="Damrak 70", city="Amsterdam", postal_code="1012LM", country="NL",
                      phone="+31205550101", latitude=52.3760, longitude=4.8970)


@dataclass
class Floor:
    wh: Location
    wh2: Location
    store: Location
    shoe: Sku
    shirt: Sku
    cap: Sku
    channel: SalesChannel
    bins: dict[str, Bin]


def build_floor() -> Floor:
    factories.carrier_with_services()
    wh = factories.LocationFactory(code="WH1", name="Damrak DC", latitude=52.3765, longitude=4.8975)
    wh2 = factories.LocationFactory(code="WH2", name="Schiphol DC", latitude=52.2870, longitude=4.7350)
    store = factories.StoreFactory(code="ST1", name="Kalverstraat", latitude=52.3702, longitude=4.8910)
    shoe = factories.SkuFactory(code="RUN-BLK-42", barcode="8712345000017", name="Runner One black 42",
                                attributes={"size": "42", "colour": "black"}, weight_grams=900, length_mm=330,
                                width_mm=210, height_mm=120)
    shirt = factories.SkuFactory(code="TEE-WHT-M", barcode="8712345000024", name="Essential Tee white M",
                                 attributes={"size": "M", "colour": "white"}, weight_grams=200, length_mm=300,
                                 width_mm=250, height_mm=20)
    cap = factories.SkuFactory(code="CAP-RED", barcode="8712345000031", name="Logo Cap red",
                               attributes={"size": "one size", "colour": "red"}, weight_grams=120, length_mm=250,
                               width_mm=200, height_mm=120)
    channel = factories.ChannelFactory(code="web", name="Web store")
    SalesChannel.objects.filter(pk=channel.pk).update(pickup_hold_days=3)
    channel.refresh_from_db()
    bins = {b.code: b for b in bins_create(wh, "A", [BinInput("A-01-1", 10), BinInput("A-02-1", 20),
                                                      BinInput("A-03-2", 30), BinInput("A-04-1", 40)])}
    bins.update({b.code: b for b in bins_create(store, "S", [BinInput("S-01", 10), BinInput("S-02", 20)])})
    box_types_create(wh, [BoxInput("S", "Small box", 320, 260, 130, 5000, 100),
                          BoxInput("M", "Medium box", 350, 250, 150, 10000, 200),
                          BoxInput("L", "Large box", 500, 400, 300, 20000, 400)])
    box_types_create(store, [BoxInput("BAG", "Pickup bag", 400, 300, 200, 8000, 20)])
    with floor_books_bins():  # the set-up shelves the units itself
        for sku, location, qty, bin_code in [(shoe, wh, 2, "A-03-2"), (shirt, wh, 10, "A-01-1"),
                                             (cap, wh, 4, "A-02-1"), (shoe, wh2, 5, None), (shirt, wh2, 10, None),
                                             (cap, wh2, 5, None), (shoe, store, 3, "S-01"), (shirt, store, 3, "S-02")]:
            stock_receive(sku=sku, location=location, quantity=qty, actor="test")
            if bin_code:
                bin_add(bins[bin_code].pk, sku.pk, qty)
    return Floor(wh, wh2, store, shoe, shirt, cap, channel, bins)


def place(floor: Floor, *lines: tuple[Sku, int], pickup: Location | None = None, email: str = "eva@example.com",
          name: str = "Eva de Vries") -> Order:
    """Place and route an order (what the placement API and the routing task do)."""
    data = OrderInput(delivery_method="pickup" if pickup else "ship", email=email, customer_name=name,
                      address=None if pickup else DAMRAK, pickup_location=pickup.code if pickup else None,
                      lines=[LineInput(sku.code, qty, Decimal("49.95")) for sku, qty in lines])
    with transaction.atomic():
        order, _ = order_place(data, ChannelContext(channel_id=floor.channel.pk, actor="test"))
    with transaction.atomic():
        order_route(order.pk)
    order.refresh_from_db()
    return order


def fulfillment_at(order: Order, location: Location) -> Fulfillment:
    return order.fulfillments.exclude(status__in=["rejected", "cancelled"]).get(location=location)


def level(sku: Sku, location: Location) -> StockLevel:
    return StockLevel.objects.get(sku=sku, location=location)


def in_bin(bin_: Bin, sku: Sku) -> int:
    return BinStock.objects.filter(bin=bin_, sku=sku).values_list("quantity", flat=True).first() or 0


def special(location: Location, kind: str) -> Bin:
    return Bin.objects.get(location=location, kind=kind)


def movements(sku: Sku, location: Location, since: int = 0) -> list[tuple[str, int, str]]:
    return list(StockMovement.objects.filter(stock_level__sku=sku, stock_level__location=location, pk__gt=since)
                .order_by("pk").values_list("state", "delta", "reason"))


def last_movement_id() -> int:
    return StockMovement.objects.order_by("-pk").values_list("pk", flat=True).first() or 0
