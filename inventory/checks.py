"""The inventory invariants, as a query: every quantity equals the sum of its movements,
and `reserved` equals the sum of open reservations."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

from django.db.models import Sum

from inventory.models import Reservation, StockLevel, StockMovement

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

    def __str__(self) -> str:
        return (f"{self.sku} @ {self.location} (stock level {self.stock_level_id}): {self.quantity} is "
                f"{self.stored} but {self.rule} is {self.expected}")


def inventory_violations() -> list[Violation]:
    ledger: dict[tuple[int, str], int] = defaultdict(int)
    for level_id, state, total in (StockMovement.objects.values_list("stock_level_id", "state")
                                   .annotate(total=Sum("delta")).values_list("stock_level_id", "state", "total")):
        ledger[(level_id, state)] = total or 0
    open_reserved = dict(Reservation.objects.filter(status=Reservation.Status.OPEN)
                         .values_list("stock_level_id").annotate(total=Sum("quantity")).values_list("stock_level_id", "total"))
    violations: list[Violation] = []
    levels = StockLevel.objects.select_related("sku", "location").order_by("pk")
    for level in levels.iterator(chunk_size=2000):
        for state in LEDGER_STATES:
            stored = getattr(level, state)
            expected = ledger.get((level.pk, state), 0)
            if stored != expected:
                violations.append(Violation(level.pk, level.sku.code, level.location.code, state, stored,
                                            expected, "the sum of its movements"))
        expected_reserved = open_reserved.get(level.pk, 0)
        if level.reserved != expected_reserved:
            violations.append(Violation(level.pk, level.sku.code, level.location.code, "reserved",
                                        level.reserved, expected_reserved, "the sum of open reservations"))
    return violations
