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


class ReasonInvalid(ValidationFailed):
    code = "invalid_reason"


class StateMoveInvalid(ValidationFailed):
    code = "invalid_state_move"


class QuantityChanged(Conflict):
    """Compare-and-set lost: the stored value is no longer what the caller expected."""

    code = "quantity_changed"

    def __init__(self, state: str, expected: int, current: int) -> None:
        super().__init__(f"{state} is {current}, not the expected {expected}; read it again and retry.",
                         field="expected", extra={"state": state, "expected": expected, "current": current})
        self.current = current


class ChangedConcurrently(Conflict):
    code = "changed_concurrently"


class TransferInvalid(ValidationFailed):
    code = "invalid_transfer"


class ReceiptReused(Conflict):
    code = "receipt_id_reused"


class NotAStore(BusinessRuleViolated):
    code = "not_a_store"


@dataclass(frozen=True)
class ImportRowError:
    line: int
    reason: str
    field: str = ""

    def as_dict(self) -> dict[str, object]:
        return {"line": self.line, "field": self.field, "reason": self.reason}


class ImportRejected(ValidationFailed):
    """A stock CSV with any bad row: nothing was changed; every bad row is listed."""

    code = "import_rejected"

    def __init__(self, errors: list[ImportRowError]) -> None:
        first = errors[0]
        more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
        super().__init__(f"Nothing imported. Line {first.line}: {first.reason}{more}", field="file",
                         extra={"errors": [e.as_dict() for e in errors]})
        self.errors = errors
