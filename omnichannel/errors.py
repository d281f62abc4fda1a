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


# Words whose first letter misleads: a vowel letter read as "you"/"wun", a silent "h".
_CONSONANT_SOUND = ("uni", "use", "usu", "uti", "eu", "one", "once")
_VOWEL_SOUND = ("hour", "honest", "honour", "heir")


def with_article(noun: str) -> str:
    """"an order", "a fulfillment", "a unit", "an hour": the article goes by the sound."""
    word = noun.lower()
    vowel = word[:1] in ("a", "e", "i", "o", "u") and not word.startswith(_CONSONANT_SOUND)
    return f"{'an' if vowel or word.startswith(_VOWEL_SOUND) else 'a'} {noun}"


class InvalidTransition(Conflict):
    code = "invalid_transition"

    def __init__(self, entity: str, current: str, action: str) -> None:
        super().__init__(
            f"Cannot {action} {with_article(entity)} that is {current}.",
            extra={"current_status": current, "action": action},
        )


class BusinessRuleViolated(DomainError):
    code = "business_rule"
    status = 422
