"""Every row lock inventory takes, in one place, so the order is one order.

Lock order (a caller that needs several kinds takes them in this order):
1. a transfer row (`transfer_lock`), or a POS receipt's unique key (by inserting it);
2. stock levels, in primary-key order (`stock_levels_lock`, or a conditional UPDATE, which
   locks the row it changes; multi-row callers walk the rows in pk order). A caller that
   releases some levels and then takes others in the same transaction (routing moving a
   hold) locks both sets at the release, in one pk order (`reservations_release(then_take=)`);
   a short pick, which reroutes in the same transaction, first locks every level of the order's
   SKUs (`orders.services.floor`);
3. reservations, in primary-key order (`reservations_lock`), always after their stock levels.

Querysets are evaluated with `list()` so the locks are taken here, not lazily later.
On SQLite `select_for_update` is a no-op; the whole database is one writer there.
"""

from __future__ import annotations

from collections.abc import Iterable

from inventory.models import Reservation, StockLevel, Transfer


def stock_levels_lock(level_ids: Iterable[int]) -> dict[int, StockLevel]:
    """Lock stock levels in pk order; returns them by pk (with their SKU and location)."""
    rows = (StockLevel.objects.select_for_update(of=("self",)).select_related("sku", "location")
            .filter(pk__in=set(level_ids)).order_by("pk"))
    return {level.pk: level for level in list(rows)}


def stock_level_lock(level_id: int) -> StockLevel:
    return stock_levels_lock([level_id])[level_id]


def reservations_lock(reservation_ids: Iterable[int]) -> list[Reservation]:
    """Lock reservations in pk order. Take their stock levels' locks first (rule 2 before 3)."""
    return list(Reservation.objects.select_for_update().filter(pk__in=set(reservation_ids)).order_by("pk"))


def open_reservations_of_level_lock(level_id: int) -> list[Reservation]:
    """The open reservations of one stock level, locked, newest first (a count releases from the top)."""
    qs = Reservation.objects.select_for_update().filter(stock_level_id=level_id, status=Reservation.Status.OPEN)
    return list(qs.order_by("-pk"))


def transfer_lock(transfer_id: int) -> Transfer:
    """Serialises ship/receive/cancel of one transfer; taken before any stock level."""
    return (Transfer.objects.select_for_update(of=("self",)).select_related("source", "destination")
            .get(pk=transfer_id))
