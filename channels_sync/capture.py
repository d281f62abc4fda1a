"""Capture of an order from a channel: archive the payload first, then place the order
with its idempotency record in one transaction."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone

from channels_sync.models import InboundMessage, SalesChannel
from omnichannel import rawsql
from omnichannel.errors import DomainError
from omnichannel.idempotency import idempotency_lookup, idempotency_store, request_hash
from omnichannel.inserts import insert_all
from orders import services as order_services
from orders.models import Order
from orders.services import ChannelContext, OrderInput


@dataclass
class CaptureResult:
    status: int
    body: Any
    order_number: str = ""


def inbound_archive(channel: SalesChannel, payload: Any, *, source: str, idempotency_key: str = "") -> InboundMessage:
    """Store the raw payload in its own transaction before anything else happens."""
    external_id = str(payload.get("external_id") or "")[:100] if isinstance(payload, dict) else ""
    (message,) = insert_all([InboundMessage(channel=channel, source=source, payload=payload, external_id=external_id,
                                            idempotency_key=idempotency_key[:255])])
    return message


def inbound_mark(message_id: int, status: str, *, result: Any = None, order_number: str = "") -> None:
    rawsql.update(InboundMessage, [message_id], {"status": status, "result": result or {}, "order_number": order_number,
                                                 "processed_at": timezone.now()})


def order_capture(channel: SalesChannel, data: OrderInput, *, raw: Any, key: str, message: InboundMessage,
                  actor: str, render) -> CaptureResult:
    """Place the order once per key and per external id. `render(order)` gives the response body.
    Opens its own transaction."""
    scope = f"channel:{channel.pk}"
    body_hash = request_hash(raw)
    if key and (replay := idempotency_lookup(scope, key, body_hash)):
        inbound_mark(message.pk, InboundMessage.Status.DUPLICATE, order_number=replay.response_body.get("number", ""))
        return CaptureResult(replay.response_status, replay.response_body)
    ctx = ChannelContext(channel_id=channel.pk, actor=actor,
                         allow_backorder=channel.short_stock_policy == SalesChannel.ShortStockPolicy.BACKORDER)
    try:
        with transaction.atomic():
            order, created = order_services.order_place(data, ctx)
            result = CaptureResult(201 if created else 200, render(order), order.number)
            if key:
                idempotency_store(scope, key, body_hash, result.status, result.body)
            inbound_mark(message.pk, InboundMessage.Status.PROCESSED if created else InboundMessage.Status.DUPLICATE,
                         order_number=order.number)
    except IntegrityError:
        # A concurrent twin with the same key committed first: answer as it did.
        if key and (replay := idempotency_lookup(scope, key, body_hash)):
            inbound_mark(message.pk, InboundMessage.Status.DUPLICATE)
            return CaptureResult(replay.response_status, replay.response_body)
        raise
    except DomainError as exc:
        inbound_mark(message.pk, InboundMessage.Status.REJECTED, result={"code": exc.code, "detail": exc.detail})
        raise
    return result


def order_for_channel(channel: SalesChannel, number: str) -> Order | None:
    return Order.objects.filter(channel=channel, number=number).first()
