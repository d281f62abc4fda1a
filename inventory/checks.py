"""The inventory invariants, as a query, for every stock level:

- each quantity (on_hand, reserved, safety_stock, incoming, damaged, quality_control)
  equals the sum of its movements in the ledger;
- `reserved` equals the sum of its open reservations;
- no quantity is negative, and reserved + damaged + quality_control fit in on_hand;
- `incoming` covers the units still in transit to it on shipped transfers.

The database constraints keep the last two already; checking them here too means the
command proves them on a database restored from anywhere."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

from django.db.models import Sum

from inventory.models import Reservation, StockLevel, StockMovement, Transfer, TransferLine

LEDGER_STATES = ["on_hand", "reserved", "safety_stock", "incoming", "damaged", "quality_control"]


@dataclass(frozen=True)
class Violation:
    stock_level_id: int
    sku: str
    location: str
    quantity: str
    stored: int
    expected: int
    rule: str
    expectation: str = "equal"  # or "at_least"

    @property
    def problem(self) -> str:
        if self.expectation == "at_least":
            return f"{self.quantity} is {self.stored} but must be at least {self.rule} ({self.expected})"
        return f"{self.quantity} is {self.stored} but {self.rule} is {self.expected}"

    def __str__(self) -> str:
        return f"{self.sku} @ {self.location} (stock level {self.stock_level_id}): {self.problem}"


def _ledger_sums() -> dict[tuple[int, str], int]:
    rows = (StockMovement.objects.values_list("stock_level_id", "state").annotate(total=Sum("delta"))
            .values_list("stock_level_id", "state", "total"))
    return {(level_id, state): total or 0 for level_id, state, total in rows}


def _open_reserved() -> dict[int, int]:
    return dict(Reservation.objects.filter(status=Reservation.Status.OPEN).values_list("stock_level_id")
                .annotate(total=Sum("quantity")).values_list("stock_level_id", "total"))


def _in_transit() -> dict[tuple[int, int], int]:
    """Units shipped but not yet received, keyed (destination location id, sku id)."""
    open_statuses = [Transfer.Status.SHIPPED, Transfer.Status.PARTIALLY_RECEIVED]
    transit: dict[tuple[int, int], int] = defaultdict(int)
    rows = TransferLine.objects.filter(transfer__status__in=open_statuses).values_list(
        "transfer__destination_id", "sku_id", "quantity_shipped", "quantity_received")
    for location_id, sku_id, shipped, received in rows:
        transit[(location_id, sku_id)] += max(0, shipped - received)
    return transit


def _level_violations(level: StockLevel, ledger: dict[tuple[int, str], int], open_reserved: dict[int, int],
                      transit: dict[tuple[int, int], int]) -> list[Violation]:
    def violation(quantity: str, stored: int, expected: int, rule: str, expectation: str = "equal") -> Violation:
        return Violation(level.pk, level.sku.code, level.location.code, quantity, stored, expected, rule, expectation)

    found = [violation(state, getattr(level, state), ledger.get((level.pk, state), 0), "the sum of its movements")
             for state in LEDGER_STATES if getattr(level, state) != ledger.get((level.pk, state), 0)]
    if level.reserved != open_reserved.get(level.pk, 0):
        found.append(violation("reserved", level.reserved, open_reserved.get(level.pk, 0),
                               "the sum of open reservations"))
    found.extend(violation(state, getattr(level, state), 0, "zero", "at_least")
                 for state in LEDGER_STATES if getattr(level, state) < 0)
    held = level.reserved + level.damaged + level.quality_control
    if level.on_hand < held:
        found.append(violation("on_hand", level.on_hand, held, "reserved + damaged + quality_control", "at_least"))
    in_transit = transit.get((level.location_id, level.sku_id), 0)
    if level.incoming < in_transit:
        found.append(violation("incoming", level.incoming, in_transit, "the units in transit on shipped transfers",
                               "at_least"))
    return found


# Checks other apps add (the warehouse: bins add up to on_hand); each returns readable violations.
EXTRA_CHECKS: list = []


def extra_violations() -> list:
    found = []
    for check in EXTRA_CHECKS:
        found.extend(check())
    return found


def inventory_violations() -> list[Violation]:
    ledger, open_reserved, transit = _ledger_sums(), _open_reserved(), _in_transit()
    violations: list[Violation] = []
    levels = StockLevel.objects.select_related("sku", "location").order_by("pk")
    for level in levels.iterator(chunk_size=2000):
        violations.extend(_level_violations(level, ledger, open_reserved, transit))
    return violations
