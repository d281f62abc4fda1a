from __future__ import annotations

from dataclasses import dataclass

from omnichannel.errors import BusinessRuleViolated, Conflict, NotFound, ValidationFailed


@dataclass(frozen=True)
class Shortage:
    sku: str
    requested: int
    available: int

    def as_dict(self) -> dict[str, object]:
        return {"sku": self.sku, "requested": self.requested, "available": self.available}


class InsufficientStock(Conflict):
    code = "insufficient_stock"

    def __init__(self, shortages: list[Shortage]) -> None:
        names = ", ".join(f"{s.sku} (requested {s.requested}, available {s.available})" for s in shortages)
        super().__init__(f"Not enough stock for: {names}.", field="lines",
                         extra={"short_lines": [s.as_dict() for s in shortages]})
        self.shortages = shortages


class UnknownSku(ValidationFailed):
    code = "unknown_sku"


class UnknownLocation(NotFound):
    code = "unknown_location"


class QuantityInvalid(ValidationFailed):
    code = "invalid_quantity"


class StockWouldGoNegative(BusinessRuleViolated):
    code = "stock_would_go_negative"


class ReservationNotOpen(Conflict):
    code = "reservation_not_open"
