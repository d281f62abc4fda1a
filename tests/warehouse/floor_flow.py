"""Drive fulfillments through the floor services (for tests that start later in the journey)."""

from __future__ import annotations

from django.db import transaction

from inventory.checks import inventory_violations
from orders.models import Fulfillment, Order
from tests.warehouse.floor_setup import fulfillment_at
from warehouse.checks import bin_violations
from warehouse.models import Bin, PickList, PickTask
from warehouse.services import packing, picking

ACTOR = "picker:test"


def pick_all(fulfillment: Fulfillment) -> None:
    with transaction.atomic():
        pick_list = picking.pick_list_create(fulfillment.location, [fulfillment], kind="single", actor=ACTOR)
    for task in pick_list.tasks.order_by("sequence"):
        with transaction.atomic():
            picking.pick_scan(task, bin_code=task.bin.barcode, item_code=task.sku.code, quantity=task.quantity,
                              actor=ACTOR)
    fulfillment.refresh_from_db()


def pack_all(fulfillment: Fulfillment) -> Fulfillment:
    """Everything into one box, then ship (or ready for pickup)."""
    for sku_id, qty in packing.units_to_pack(fulfillment).items():
        code = fulfillment.allocations.filter(order_line__sku_id=sku_id).values_list(
            "order_line__sku__code", flat=True).first()
        with transaction.atomic():
            packing.pack_scan(fulfillment, code, quantity=qty, actor=ACTOR)
    with transaction.atomic():
        packing.pack_ship(fulfillment, actor=ACTOR)
    fulfillment.refresh_from_db()
    return fulfillment


def outbound(location) -> Bin:
    return Bin.objects.get(location=location, kind=Bin.Kind.OUTBOUND)


def on_a_walk(floor, order: Order) -> tuple[Fulfillment, PickList]:
    """The order's fulfillment at the floor's warehouse on a pick list of its own."""
    fulfillment = fulfillment_at(order, floor.wh)
    with transaction.atomic():
        pick_list = picking.pick_list_create(floor.wh, [fulfillment], kind="single", actor="picker:p")
    return fulfillment, pick_list


def scan(task: PickTask, quantity: int = 1) -> PickTask:
    """A picker scans the task's bin and item."""
    with transaction.atomic():
        return picking.pick_scan(task, bin_code=task.bin.barcode, item_code=task.sku.barcode, quantity=quantity,
                                 actor="picker:p")


def books_agree() -> None:
    """Bins add up to on_hand, and the ledger explains every quantity."""
    assert bin_violations() == []
    assert inventory_violations() == []
