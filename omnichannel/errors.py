"""Domain errors: each has a stable code, an HTTP status, a human detail and the field at fault."""

from __future__ import annotations

from typing import Any


class DomainError(Exception):
    code = "domain_error"
    status = 422

    def __init__(self, detail: str, *, field: str | None = None, code: str | None = None,
                 extra: dict[str, Any] | None = None) -> None:
        super().__init__(detail)
        self.detail = detail
        self.field = field
        if code:
            self.code = code
        self.extra = extra or {}


class ValidationFailed(DomainError):
    code = "invalid"
    status = 400


class NotFound(DomainError):
    code = "not_found"
    status = 404


class Conflict(DomainError):
    code = "conflict"
    status = 409


class InvalidTransition(Conflict):
    code = "invalid_transition"

    def __init__(self, entity: str, current: str, action: str) -> None:
        super().__init__(
            f"Cannot {action} a {entity} that is {current}.",
            extra={"current_status": current, "action": action},
        )


class BusinessRuleViolated(DomainError):
    code = "business_rule"
    status = 422
