"""Inventory's domain events (names and writers). Higher apps register handlers for them
(`omnichannel.outbox.register`); inventory never imports them."""

from __future__ import annotations

from collections.abc import Iterable

from inventory.models import Reservation, StockLevel
from omnichannel import outbox
from omnichannel.models import OutboxEvent

# Reservations were released by inventory itself (a count found fewer units than were
# promised). Orders re-route the order lines (reference_type "order_line", reference_id =
# the OrderLine pk) whose reservations are listed.
RESERVATIONS_RELEASED = "inventory.reservations_released"


def reservations_released(level: StockLevel, reservations: Iterable[Reservation], *, reason: str) -> OutboxEvent:
    """Caller holds the transaction that released them; the event commits with it."""
    payload = {
        "reservations": [{"id": r.pk, "reference_type": r.reference_type, "reference_id": r.reference_id,
                          "quantity": r.quantity} for r in reservations],
        "reason": reason,
        "sku": level.sku.code,
        "location": level.location.code,
    }
    return outbox.publish(RESERVATIONS_RELEASED, "stock_level", level.pk, payload)
