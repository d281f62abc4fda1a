"""The floor's domain errors, each with a stable code (mapped to HTTP by omnichannel.api,
shown as the red banner by warehouse.web)."""

from __future__ import annotations

from omnichannel.errors import BusinessRuleViolated, Conflict, NotFound, ValidationFailed


class UnknownCode(NotFound):
    code = "unknown_code"


class WrongBin(ValidationFailed):
    code = "wrong_bin"


class WrongItem(ValidationFailed):
    code = "wrong_item"


class TooMany(ValidationFailed):
    code = "too_many"


class BinShort(BusinessRuleViolated):
    code = "bin_short"


class NoBins(BusinessRuleViolated):
    code = "no_bins"


class NothingToPick(BusinessRuleViolated):
    code = "nothing_to_pick"


class NotReady(Conflict):
    code = "not_ready"


class ReturnsNotAccepted(BusinessRuleViolated):
    code = "returns_not_accepted"


class CountMismatch(BusinessRuleViolated):
    code = "count_mismatch"
