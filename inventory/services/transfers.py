"""Transfers between locations: request -> ship -> receive (partial receipts allowed).

Shipping takes the units out of the source's on_hand (only available units) and books
them as `incoming` at the destination; receiving turns incoming into on_hand there. When a
receipt closes, each line's shortfall or overage is recorded as its discrepancy and the
incoming still booked for it is cleared. Lock order: the transfer row, then stock levels in
pk order. Callers hold a transaction."""

from __future__ import annotations

import secrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from django.db.models import F, Q
from django.utils import timezone

from inventory import locks
from inventory.errors import (
    InsufficientStock,
    QuantityInvalid,
    Shortage,
    StockWouldGoNegative,
    TransferInvalid,
)
from inventory.models import Location, Sku, StockLevel, Transfer, TransferLine
from inventory.services import ledger
from inventory.services.ledger import Ref, State
from inventory.services.stock import apply_releasing_expired_holds, arrival_deltas, stock_level_ensure
from omnichannel.errors import InvalidTransition

S = Transfer.Status
_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"


@dataclass(frozen=True)
class TransferLineInput:
    sku: Sku
    quantity: int


def _new_number() -> str:
    return "TR-" + "".join(secrets.choice(_ALPHABET) for _ in range(8))


def transfer_request(source: Location, destination: Location, lines: Sequence[TransferLineInput], *,
                     actor: str = "", note: str = "") -> Transfer:
    """Record a request to move units; no stock moves until it ships. Caller holds a transaction."""
    if source.pk == destination.pk:
        raise TransferInvalid("A transfer goes between two different locations.", field="destination")
    if not lines:
        raise TransferInvalid("A transfer needs at least one line.", field="lines")
    seen: set[int] = set()
    for index, line in enumerate(lines):
        if line.quantity <= 0:
            raise QuantityInvalid("Quantity must be a positive whole number.", field=f"lines[{index}].quantity")
        if line.sku.pk in seen:
            raise TransferInvalid(f"{line.sku.code} is on the transfer twice.", field=f"lines[{index}].sku")
        seen.add(line.sku.pk)
    transfer = Transfer.objects.create(number=_new_number(), source=source, destination=destination,
                                       created_by=actor[:100], note=note[:255])
    TransferLine.objects.bulk_create([TransferLine(transfer=transfer, sku=line.sku, quantity_requested=line.quantity)
                                      for line in lines])
    return transfer


def _locked(transfer: Transfer, allowed: set[str], action: str) -> Transfer:
    locked = locks.transfer_lock(transfer.pk)
    if locked.status not in allowed:
        raise InvalidTransition("transfer", locked.status, action)
    return locked


def _lines_by_code(transfer: Transfer) -> dict[str, TransferLine]:
    return {line.sku.code: line for line in transfer.lines.select_related("sku").order_by("pk")}


def _quantities(transfer: Transfer, given: Mapping[str, int], lines: dict[str, TransferLine]) -> dict[str, int]:
    unknown = sorted(set(given) - set(lines))
    if unknown:
        raise TransferInvalid(f"Not on transfer {transfer.number}: {', '.join(unknown)}.", field="lines")
    for code, qty in given.items():
        if qty < 0:
            raise QuantityInvalid(f"Quantity for {code} is negative.", field="lines")
    return dict(given)


def transfer_ship(transfer: Transfer, *, actor: str = "", shipped: Mapping[str, int] | None = None) -> Transfer:
    """Ship a requested transfer: per line, `shipped[sku_code]` units (default: all requested,
    never more) leave the source's on_hand and become incoming at the destination. Only
    available units ship (expired checkout holds at the source are released for them). Every
    line ships or none: InsufficientStock lists the short lines (the caller rolls back)."""
    transfer = _locked(transfer, {S.REQUESTED}, "ship")
    lines = _lines_by_code(transfer)
    quantities = {code: line.quantity_requested for code, line in lines.items()}
    quantities.update(_quantities(transfer, shipped or {}, lines))
    for code, qty in quantities.items():
        if qty > lines[code].quantity_requested:
            raise QuantityInvalid(f"{code}: cannot ship {qty}, {lines[code].quantity_requested} were requested.",
                                  field="lines")
    if not any(quantities.values()):
        raise TransferInvalid("Nothing to ship; cancel the transfer instead.", field="lines")
    _move_to_transit(transfer, [(lines[code], qty) for code, qty in quantities.items() if qty], actor)
    for code, qty in quantities.items():
        TransferLine.objects.filter(pk=lines[code].pk).update(quantity_shipped=qty)
    Transfer.objects.filter(pk=transfer.pk).update(status=S.SHIPPED, shipped_at=timezone.now())
    transfer.refresh_from_db()
    return transfer


def _move_to_transit(transfer: Transfer, lines: list[tuple[TransferLine, int]], actor: str) -> None:
    source_levels = {level.sku_id: level for level in
                     StockLevel.objects.filter(location=transfer.source, sku__in=[line.sku_id for line, _ in lines])}
    destination_levels = {line.sku_id: stock_level_ensure(line.sku, transfer.destination) for line, _ in lines}
    ref = Ref("transfer", transfer.number)
    steps: list[tuple[int, dict[str, int], str, Q | None, TransferLine]] = []
    for line, qty in lines:
        source = source_levels.get(line.sku_id)
        if source is not None:
            steps.append((source.pk, {State.ON_HAND: -qty}, ledger.TRANSFER_OUT, Q(available_units__gte=qty), line))
        steps.append((destination_levels[line.sku_id].pk, {State.INCOMING: qty}, ledger.TRANSFER_IN_TRANSIT, None,
                      line))
    short = [line for line, _ in lines if line.sku_id not in source_levels]
    for level_id, deltas, reason, guard, line in sorted(steps, key=lambda step: step[0]):
        if not apply_releasing_expired_holds(level_id, deltas, reason, guard=guard, ref=ref, actor=actor):
            short.append(line)
    if short:
        wanted = {line.pk: qty for line, qty in lines}
        available = {level.sku_id: level.available for level in
                     StockLevel.objects.filter(pk__in=[level.pk for level in source_levels.values()])}
        raise InsufficientStock([Shortage(line.sku.code, wanted[line.pk], available.get(line.sku_id, 0))
                                 for line in short])


def transfer_receive(transfer: Transfer, received: Mapping[str, int], *, close: bool = False,
                     actor: str = "", note: str = "", into: str = "available") -> Transfer:
    """Book units that arrived (`received[sku_code]`, partial receipts allowed, more than
    shipped too): incoming falls by at most what is still outstanding for the line and
    on_hand rises by what arrived (into quality_control or damaged too, per `into`). The
    receipt closes when `close` is set or every line has arrived in full; then each line's
    discrepancy (received - shipped) is recorded and any incoming still booked for it is
    cleared ("transfer_shortfall")."""
    arrival_deltas(1, into)  # validate before locking
    transfer = _locked(transfer, {S.SHIPPED, S.PARTIALLY_RECEIVED}, "receive")
    lines = _lines_by_code(transfer)
    quantities = {code: qty for code, qty in _quantities(transfer, received, lines).items() if qty}
    if not quantities and not close:
        raise TransferInvalid("Give the units received, or close the receipt.", field="lines")
    levels = {line.sku_id: stock_level_ensure(line.sku, transfer.destination) for line in lines.values()}
    ref = Ref("transfer", transfer.number)
    for code in sorted(quantities, key=lambda c: levels[lines[c].sku_id].pk):
        line, qty = lines[code], quantities[code]
        _book(levels[line.sku_id].pk, {State.INCOMING: -min(qty, line.outstanding), **arrival_deltas(qty, into)},
              ledger.TRANSFER_RECEIVE, ref, actor, note)
        TransferLine.objects.filter(pk=line.pk).update(quantity_received=F("quantity_received") + qty)
        line.quantity_received += qty
    if close or all(line.outstanding == 0 for line in lines.values()):
        _close_receipt(transfer, lines, levels, ref, actor)
        Transfer.objects.filter(pk=transfer.pk).update(status=S.RECEIVED, received_at=timezone.now())
    else:
        Transfer.objects.filter(pk=transfer.pk).update(status=S.PARTIALLY_RECEIVED)
    transfer.refresh_from_db()
    return transfer


def _book(level_id: int, deltas: dict[str, int], reason: str, ref: Ref, actor: str, note: str = "") -> None:
    taken = -deltas.get(State.INCOMING, 0)
    guard = Q(incoming__gte=taken) if taken > 0 else None
    if not ledger.apply(level_id, deltas, reason, guard=guard, ref=ref, actor=actor, note=note):
        raise StockWouldGoNegative("The destination's incoming no longer covers this transfer; run check_inventory.",
                                   field="lines")


def _close_receipt(transfer: Transfer, lines: dict[str, TransferLine], levels: dict[int, StockLevel], ref: Ref,
                   actor: str) -> None:
    for line in sorted(lines.values(), key=lambda ln: levels[ln.sku_id].pk):
        if line.outstanding:
            _book(levels[line.sku_id].pk, {State.INCOMING: -line.outstanding}, ledger.TRANSFER_SHORTFALL, ref, actor)
        discrepancy = line.quantity_received - line.quantity_shipped
        TransferLine.objects.filter(pk=line.pk).update(discrepancy=discrepancy,
                                                       discrepancy_note=_discrepancy_note(line, discrepancy))


def _discrepancy_note(line: TransferLine, discrepancy: int) -> str:
    parts = []
    if line.quantity_shipped < line.quantity_requested:
        parts.append(f"shipped {line.quantity_shipped} of {line.quantity_requested} requested")
    if discrepancy < 0:
        parts.append(f"short {-discrepancy}: received {line.quantity_received} of {line.quantity_shipped} shipped")
    elif discrepancy > 0:
        parts.append(f"over {discrepancy}: received {line.quantity_received} of {line.quantity_shipped} shipped")
    return "; ".join(parts)


def transfer_cancel(transfer: Transfer, *, actor: str = "", reason: str = "") -> Transfer:
    """Cancel a transfer that has not shipped (no stock has moved yet)."""
    transfer = _locked(transfer, {S.REQUESTED}, "cancel")
    note = f"cancelled by {actor}: {reason}" if reason else f"cancelled by {actor}"
    Transfer.objects.filter(pk=transfer.pk).update(status=S.CANCELLED, cancelled_at=timezone.now(),
                                                   note=(f"{transfer.note}; {note}" if transfer.note else note)[:255])
    transfer.refresh_from_db()
    return transfer
