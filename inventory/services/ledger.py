"""The one way a quantity changes: a conditional UPDATE through F() plus one movement per
changed state, written together. Every other service module builds on `apply`.

Callers hold a transaction. `guard` is the rule re-checked by the database on the row it
updates (e.g. `Q(available_units__gte=3)`), so no quantity is ever read, changed in Python
and written back.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from django.db.models import F, Q
from django.utils import timezone

from inventory.errors import ReasonInvalid
from inventory.models import AVAILABLE_UNITS, HELD_UNITS, StockLevel, StockMovement
from omnichannel.instances import new

State = StockMovement.State
LEDGER_STATES = tuple(State.values)

# Reason codes written by the services themselves (adjustments use models.AdjustmentReason).
RECEIVE = "receive"
RESERVE = "reserve"
COUNT = "count"
SET = "set"
IMPORT = "import"
POS_SALE = "pos_sale"
HOLD_EXPIRED = "hold_expired"
TRANSFER_OUT = "transfer_out"
TRANSFER_IN_TRANSIT = "transfer_in_transit"
TRANSFER_RECEIVE = "transfer_receive"
TRANSFER_SHORTFALL = "transfer_shortfall"

_REASON_CODE = re.compile(r"^[a-z][a-z0-9_]{0,31}$")


@dataclass(frozen=True)
class Ref:
    """What a movement is about: an order line, a transfer, a receipt, an import batch."""

    type: str = ""
    id: str = ""


NO_REF = Ref()


def reason_code(reason: str, *, field: str = "reason") -> str:
    """A reason is a short lowercase code (`damaged_in_store`, `qc_passed`)."""
    if not _REASON_CODE.match(reason or ""):
        raise ReasonInvalid("A reason is a lowercase code of letters, digits and _ (at most 32).", field=field)
    return reason


def levels_with_rules():
    """StockLevel rows with the aliases guards may use: `available_units` and `held_units`."""
    return StockLevel.objects.alias(available_units=AVAILABLE_UNITS, held_units=HELD_UNITS)


def movement(level_id: int, state: str, delta: int, reason: str, *, ref: Ref = NO_REF, actor: str = "",
             note: str = "") -> StockMovement:
    return new(StockMovement, stock_level_id=level_id, state=state, delta=delta, reason=reason,
                         reference_type=ref.type, reference_id=str(ref.id), actor=actor[:100], note=note[:255])


# Explicit hooks for apps that keep finer-grained stock (the warehouse's bins): called with
# every batch of movements written, in the same transaction. Registered in AppConfig.ready().
MOVEMENT_LISTENERS: list[Callable[[list[StockMovement]], object]] = []


def written(movements: list[StockMovement]) -> list[StockMovement]:
    """Tell the listeners about movements just written; returns them."""
    for listener in MOVEMENT_LISTENERS:
        listener(movements)
    return movements


def apply(level_id: int, deltas: Mapping[str, int], reason: str, *, guard: Q | None = None, ref: Ref = NO_REF,
          actor: str = "", note: str = "") -> bool:
    """Change the quantities of one stock level by `deltas` if `guard` holds on the row, and
    append one movement per changed state. False (and nothing written) when the guard failed."""
    changed = {state: delta for state, delta in deltas.items() if delta}
    if set(changed) - set(LEDGER_STATES):
        raise ValueError(f"not ledger states: {sorted(set(changed) - set(LEDGER_STATES))}")
    if not changed:
        return True
    qs = levels_with_rules().filter(pk=level_id)
    if guard is not None:
        qs = qs.filter(guard)
    if not qs.update(**{state: F(state) + delta for state, delta in changed.items()}, updated_at=timezone.now()):
        return False
    written(StockMovement.objects.bulk_create([movement(level_id, state, delta, reason, ref=ref, actor=actor,
                                                        note=note) for state, delta in changed.items()]))
    return True


def unchanged(level: StockLevel, *states: str) -> Q:
    """Guard: the given states still hold the values read under the row lock (belt and
    braces where the database has no row locks, i.e. SQLite)."""
    return Q(**{state: getattr(level, state) for state in states})
