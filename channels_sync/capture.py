"""Capture of an order from a channel: archive the payload first, then place the order
with its idempotency record in one transaction."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any, cast

from django.db import IntegrityError, OperationalError, connection, transaction
from django.utils import timezone

from channels_sync.models import InboundMessage, SalesChannel
from omnichannel import rawsql
from omnichannel.errors import DomainError
from omnichannel.idempotency import idempotency_lookup, idempotency_record, request_hash
from omnichannel.inserts import Extra, insert_all, insert_sql, mark_saved
from omnichannel.instances import new
from omnichannel.models import IdempotencyRecord
from orders import services as order_services
from orders.models import Order
from orders.services import ChannelContext, OrderInput

logger = logging.getLogger(__name__)


@dataclass
class CaptureResult:
    status: int
    body: Any
    order_number: str = ""


def inbound_archive(channel: SalesChannel, payload: Any, *, source: str, idempotency_key: str = "") -> InboundMessage:
    """Store the raw payload in its own transaction before anything else happens."""
    (message,) = insert_all([_inbound(channel, payload, source, idempotency_key)])
    return message


def _inbound(channel: SalesChannel, payload: Any, source: str, idempotency_key: str) -> InboundMessage:
    external_id = str(payload.get("external_id") or "")[:100] if isinstance(payload, dict) else ""
    return new(InboundMessage, channel=channel, source=source, payload=payload, external_id=external_id,
                          idempotency_key=idempotency_key[:255])


@dataclass
class Arrival:
    """An archived payload, with what its capture will ask first when it was read along:
    the stored answer to its `Idempotency-Key` (id and request hash) and the order the
    channel already has under its external id."""

    message: InboundMessage
    key: str = ""
    external_id: str | None = None
    idempotency: tuple[int, str] | None = None
    order_id: int | None = None
    looked_up: bool = False


# The archive's own transaction (the statement alone, in autocommit) commits without waiting for
# its WAL to reach the disk. It is visible to every reader at once, and no caller answers
# before a later commit of its own (the order, or the message's mark: every path writes one)
# has waited for the disk, which flushes the log in order, the archive's commit record first.
# So a payload whose sender was answered is on disk; one fsync per order instead of two.
# docs/adr/0007-archive-commit.md.
_ARCHIVE_COMMIT = ", set_config('synchronous_commit', 'off', true)"


def inbound_arrive(channel: SalesChannel, payload: Any, *, source: str, key: str) -> Arrival:
    """`inbound_archive`, and on Postgres in the same statement (still its own transaction)
    the two lookups `order_capture` starts with. Elsewhere just the archive; the capture
    looks them up itself."""
    message = _inbound(channel, payload, source, key)
    if connection.vendor != "postgresql":
        insert_all([message])
        return Arrival(message)
    external_id = payload.get("external_id") if isinstance(payload, dict) else None
    external_id = external_id if isinstance(external_id, str) and external_id else None
    insert, params = insert_sql([message])
    col, record, order = rawsql.column, IdempotencyRecord, Order
    sql = (f"WITH m AS ({insert} RETURNING {col(InboundMessage, 'id')}) "  # noqa: S608 - identifiers from the models
           f"SELECT m.{col(InboundMessage, 'id')}, k.{col(record, 'id')}, k.{col(record, 'request_hash')}, "
           f"(SELECT o.{col(order, 'id')} FROM {rawsql.table(order)} o WHERE o.{col(order, 'channel')} = %s "
           f"AND o.{col(order, 'external_id')} = %s){_ARCHIVE_COMMIT if not connection.in_atomic_block else ''} "
           f"FROM m LEFT JOIN {rawsql.table(record)} k ON k.{col(record, 'scope')} = %s AND k.{col(record, 'key')} = %s")
    ((message_id, record_id, record_hash, order_id, *_),) = rawsql.fetch(
        sql, [*params, channel.pk, external_id, idempotency_scope(channel), key])
    mark_saved([message], [message_id])
    return Arrival(message, key=key, external_id=external_id, looked_up=True, order_id=order_id,
                   idempotency=(record_id, record_hash) if record_id is not None else None)


def idempotency_scope(channel: SalesChannel) -> str:
    return f"channel:{channel.pk}"


def inbound_mark(message_id: int, status: str, *, result: Any = None, order_number: str = "") -> None:
    rawsql.update(InboundMessage, [message_id], _mark_values(status, result, order_number))


def order_capture(channel: SalesChannel, data: OrderInput, *, raw: Any, key: str, message: InboundMessage,
                  actor: str, render, arrival: Arrival | None = None) -> CaptureResult:
    """Place the order once per key and per external id. `render(order)` gives the response body.
    `arrival`: the lookups read with the archive (`inbound_arrive`), if any. Opens its own
    transaction."""
    scope = idempotency_scope(channel)
    body_hash = request_hash(raw)
    known = arrival is not None and arrival.looked_up
    if key and (replay := idempotency_lookup(scope, key, body_hash,
                                             **({"found": cast(Arrival, arrival).idempotency}
                                                if known and cast(Arrival, arrival).key == key else {}))):
        inbound_mark(message.pk, InboundMessage.Status.DUPLICATE, order_number=replay.response_body.get("number", ""))
        return CaptureResult(replay.response_status, replay.response_body)
    ctx = ChannelContext(channel_id=channel.pk, actor=actor,
                         allow_backorder=channel.short_stock_policy == SalesChannel.ShortStockPolicy.BACKORDER)
    try:
        result = _place_until_settled(data, ctx, message, scope, key, body_hash, render, arrival)
    except IntegrityError:
        # A concurrent twin with the same key committed first: answer as it did.
        if key and (replay := idempotency_lookup(scope, key, body_hash)):
            inbound_mark(message.pk, InboundMessage.Status.DUPLICATE)
            return CaptureResult(replay.response_status, replay.response_body)
        raise
    except DomainError as exc:  # refused input (a 400), short stock (409), ...: the order rolled back whole
        inbound_mark(message.pk, InboundMessage.Status.REJECTED,
                     result={"code": exc.code, "detail": exc.detail, "field": exc.field})
        raise
    except Exception as exc:  # a bug or an outage (a 500): the order rolled back whole; say so on the message
        _mark_failed(message.pk, exc)
        raise
    return result


def _mark_failed(message_id: int, error: Exception) -> None:
    """Mark a message whose capture failed unexpectedly, so ops find it (admin: status failed)
    rather than a message left `received` as if still in progress. Best effort: if the
    database itself is what failed, the original error is what matters."""
    try:
        inbound_mark(message_id, InboundMessage.Status.FAILED,
                     result={"code": "server_error", "detail": f"{type(error).__name__}: {error}"[:500]})
    except Exception:  # noqa: BLE001 - never hide the error that got us here
        logger.exception("could not mark inbound message %s failed", message_id)


PLACE_ATTEMPTS = 3
DEADLOCK_DETECTED = "40P01"  # Postgres SQLSTATE


def _place_until_settled(data: OrderInput, ctx: ChannelContext, message: InboundMessage, scope: str, key: str,
                         body_hash: str, render, arrival: Arrival | None) -> CaptureResult:
    """`_place`, optimistic first. Its transaction rolled back whole, it runs again the
    careful way (a savepoint per attempt): after a lost stock race (PlacementRaced), or when
    Postgres chose it as the victim of a lock cycle with another transaction (one this code
    does not foresee: every stock lock is taken in pk order), rather than answer 500 to a
    storefront for an order that can still be placed."""
    for attempt in range(1, PLACE_ATTEMPTS):
        try:
            return _place(data, ctx, message, scope, key, body_hash, render, arrival, optimistic=attempt == 1)
        except order_services.PlacementRaced:
            pass
        except OperationalError as exc:
            if getattr(exc.__cause__, "sqlstate", None) != DEADLOCK_DETECTED:
                raise
    return _place(data, ctx, message, scope, key, body_hash, render, arrival, optimistic=False)


def _place(data: OrderInput, ctx: ChannelContext, message: InboundMessage, scope: str, key: str, body_hash: str,
           render, arrival: Arrival | None, *, optimistic: bool) -> CaptureResult:
    """The capture's transaction: the order placed, its answer stored under the key, the
    message marked."""
    # Optimistic on Postgres: the order's last writes wait for the answer, and go in one statement with it.
    deferred = order_services.DeferredWrites() if optimistic and connection.vendor == "postgresql" else None
    with transaction.atomic():
        if arrival is not None and arrival.looked_up and arrival.external_id == data.external_id:  # as validated
            order, created = order_services.order_place(data, ctx, existing_id=arrival.order_id, optimistic=optimistic,
                                                        deferred=deferred)
        else:
            order, created = order_services.order_place(data, ctx, optimistic=optimistic, deferred=deferred)
        result = CaptureResult(201 if created else 200, render(order), order.number)
        status = InboundMessage.Status.PROCESSED if created else InboundMessage.Status.DUPLICATE
        record = idempotency_record(scope, key, body_hash, result.status, result.body) if key else None
        if deferred is not None and deferred.pending:
            deferred.write([_settle_sql(message.pk, status, order.number, record)])
        else:
            _settle(message.pk, status, order.number, record)
    return result


def _settle(message_id: int, status: str, order_number: str, record: IdempotencyRecord | None) -> None:
    """Store the answer under its key (if any) and mark the message: one statement on
    Postgres. Caller holds the capture's transaction."""
    if record is None or connection.vendor != "postgresql":
        if record is not None:
            insert_all([record])
        inbound_mark(message_id, status, order_number=order_number)
        return
    before, update, params = _settle_sql(message_id, status, order_number, record)
    rawsql.fetch(f"WITH {', '.join(before)} {update}" if before else update, params)


def _settle_sql(message_id: int, status: str, order_number: str, record: IdempotencyRecord | None) -> Extra:
    """Postgres: `_settle`'s statement, for `inserts.Together.run` (the record's INSERT
    as a CTE `k`, the message's UPDATE returning 1)."""
    update, params = rawsql.update_sql(InboundMessage, [message_id], _mark_values(status, None, order_number))
    if record is None:
        return [], f"{update} RETURNING 1", params
    insert, insert_params = insert_sql([record])
    return [f"k AS ({insert})"], f"{update} RETURNING 1", [*insert_params, *params]


def _mark_values(status: str, result: Any, order_number: str) -> dict[str, Any]:
    return {"status": status, "result": result or {}, "order_number": order_number, "processed_at": timezone.now()}


def order_for_channel(channel: SalesChannel, number: str) -> Order | None:
    return Order.objects.filter(channel=channel, number=number).first()
