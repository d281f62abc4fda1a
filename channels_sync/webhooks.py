"""Signed webhooks to a channel: body, HMAC-SHA256 signature, delivery with retries.

Signature: hex HMAC-SHA256 of "<timestamp>.<body>" with the channel's webhook secret,
sent as `X-Omnichannel-Signature: t=<timestamp>,v1=<hex>`; the receiver recomputes it
and rejects old timestamps (replay)."""

from __future__ import annotations

import hashlib
import hmac
import json
import time
import urllib.error
import urllib.request
from typing import cast

from django.conf import settings
from django.db.models import Case, F, Value, When
from django.utils import timezone

from channels_sync.models import SalesChannel, WebhookDelivery
from omnichannel import rawsql
from omnichannel.inserts import insert_unless_conflict
from omnichannel.models import OutboxEvent

PUBLIC_EVENTS = {
    "order.confirmed", "order.cancelled", "order.backordered", "fulfillment.picking_started", "shipment.shipped",
    "fulfillment.ready_for_pickup", "fulfillment.picked_up", "shipment.delivered", "return.received",
}


def sign(secret: str, timestamp: int, body: str) -> str:
    mac = hmac.new(secret.encode(), f"{timestamp}.{body}".encode(), hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={mac}"


def verify(secret: str, header: str, body: str, *, tolerance_s: int = 300, now: float | None = None) -> bool:
    try:
        parts = dict(item.split("=", 1) for item in header.split(","))
        timestamp = int(parts["t"])
    except (ValueError, KeyError):
        return False
    if abs((now or time.time()) - timestamp) > tolerance_s:
        return False
    return hmac.compare_digest(sign(secret, timestamp, body), header)


def webhook_channels(channel_ids) -> dict[int, SalesChannel]:
    """Those of the channels that have a webhook URL, by id."""
    ids = sorted({int(pk) for pk in channel_ids if pk})
    if not ids:
        return {}
    # Written out (omnichannel.rawsql): every public event of every order asks, and most
    # channels have no webhook.
    params: list[object] = []
    where = (f"WHERE {rawsql.in_list('t.' + rawsql.column(SalesChannel, 'id'), ids, params)} "
             f"AND t.{rawsql.column(SalesChannel, 'webhook_url')} <> %s")
    found = rawsql.instances(SalesChannel, where, [*params, ""])
    return {channel.pk: channel for channel in found}


def webhook_prepare(event: OutboxEvent, channels: dict[int, SalesChannel] | None = None) -> WebhookDelivery | None:
    """The delivery row for this event and the order's channel, written once. `channels`:
    `webhook_channels` already read for this event's channel (a batch of events)."""
    channel_id = event.payload.get("channel_id")
    if event.type not in PUBLIC_EVENTS or not channel_id:
        return None
    if channels is None:
        channels = webhook_channels([channel_id])
    channel = channels.get(int(channel_id))
    if channel is None:
        return None
    payload = {k: v for k, v in event.payload.items() if k not in {"pickup_code", "channel_id"}}
    body = json.dumps({"id": event.pk, "type": event.type, "created_at": event.created_at.isoformat(),
                       "data": payload}, sort_keys=True, default=str)
    delivery = WebhookDelivery(event=event, channel=channel, url=channel.webhook_url, body=body)
    if insert_unless_conflict(delivery):
        return delivery
    return WebhookDelivery.objects.filter(event=event, channel=channel).first()


def webhook_deliver(delivery_id: int) -> bool:
    """POST it once. True when delivered (2xx) or already delivered; raises to retry."""
    delivery = WebhookDelivery.objects.select_related("channel", "event").get(pk=delivery_id)
    if delivery.status == WebhookDelivery.Status.DELIVERED:
        return True
    if not delivery.url.lower().startswith(("https://", "http://")):
        raise WebhookFailed(f"Webhook URL must be http(s): {delivery.url!r}")
    timestamp = int(time.time())
    headers = {
        "Content-Type": "application/json", "User-Agent": "Omnichannel-Webhooks/1",
        "X-Omnichannel-Event": delivery.event.type, "X-Omnichannel-Delivery": str(delivery.pk),
        "X-Omnichannel-Signature": sign(delivery.channel.webhook_secret, timestamp, delivery.body)}
    request = urllib.request.Request(delivery.url, data=delivery.body.encode(), method="POST",  # noqa: S310
                                     headers=headers)
    status_code, error = None, ""
    try:
        with _OPENER.open(request, timeout=cast(float, settings.OMNICHANNEL["WEBHOOK_TIMEOUT_S"])) as response:
            status_code = response.status
    except urllib.error.HTTPError as exc:
        status_code, error = exc.code, f"HTTP {exc.code}"
        if 300 <= exc.code < 400:
            error += f": redirected to {exc.headers.get('Location', '?')}; set the channel's webhook URL to it"
    except (urllib.error.URLError, OSError) as exc:
        error = repr(exc)
    delivered = status_code is not None and 200 <= status_code < 300
    # Counted in the database, and a delivery another run marked delivered meanwhile stays so.
    done = WebhookDelivery.Status.DELIVERED
    WebhookDelivery.objects.filter(pk=delivery_id).update(
        attempts=F("attempts") + 1, last_status_code=status_code, last_error=error,
        status=Value(done) if delivered else Case(When(status=done, then=Value(done)),
                                                  default=Value(WebhookDelivery.Status.PENDING)),
        delivered_at=timezone.now() if delivered else F("delivered_at"))
    if not delivered:
        raise WebhookFailed(f"Webhook {delivery_id} to {delivery.url} failed: {error or status_code}")
    return True


class WebhookFailed(Exception):
    pass


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    """A redirect is an answer, not a delivery: urllib would follow a 301/302/303 to a POST
    with a GET without the body, and a 200 to that GET marked the webhook delivered."""

    def redirect_request(self, req, fp, code, msg, headers, newurl):
        return None  # urllib raises the 3xx as an HTTPError


_OPENER = urllib.request.build_opener(_NoRedirect)


def webhook_give_up(delivery_id: int) -> None:
    WebhookDelivery.objects.filter(pk=delivery_id).exclude(status=WebhookDelivery.Status.DELIVERED).update(
        status=WebhookDelivery.Status.FAILED)
