"""Drive fulfillments through the floor services (for tests that start later in the journey)."""

from __future__ import annotations

from django.db import transaction

from orders.models import Fulfillment
from warehouse.models import Bin
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
