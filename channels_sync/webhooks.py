"""Signed webhooks to a channel: body, HMAC-SHA256 signature, delivery with retries.

One run at a time POSTs a delivery: it claims the row first (`webhook_claim`), and a run
that finds it claimed ends quietly. A run that crashed holding the claim leaves it to
expire; `webhook_sweep` (beat, every 2 minutes) then sends the delivery again. Receivers
still dedupe on `X-Omnichannel-Delivery`: a run that crashed after its POST and before
recording it is sent again (at least once, like every handler here).

Signature: hex HMAC-SHA256 of "<timestamp>.<body>" with the channel's webhook secret,
sent as `X-Omnichannel-Signature: t=<timestamp>,v1=<hex>`; the receiver recomputes it
and rejects old timestamps (replay)."""

from __future__ import annotations

import hashlib
import hmac
import http.client
import json
import time
import urllib.error
import urllib.request
from datetime import datetime, timedelta
from typing import cast

from django.conf import settings
from django.db.models import Case, DateTimeField, F, Q, Value, When
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
    """Whether `header` is our signature of `body`, made within `tolerance_s`. Never raises:
    any header (not ASCII, a timestamp too large for a float) is just not a signature."""
    try:
        parts = dict(item.split("=", 1) for item in header.split(","))
        timestamp = int(parts["t"])
        if abs((now or time.time()) - timestamp) > tolerance_s:
            return False
        # Bytes: compare_digest refuses a str with anything but ASCII (a TypeError).
        return hmac.compare_digest(sign(secret, timestamp, body).encode(), header.encode("utf-8", "surrogatepass"))
    except (ValueError, KeyError, OverflowError):  # UnicodeEncodeError is a ValueError
        return False


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


def claim_lease() -> timedelta:
    """How long a run's claim on a delivery holds. Well past the POST's timeout, so a live run
    keeps it to the end; a run that crashed mid-POST holds the delivery no longer than this."""
    return timedelta(seconds=max(60.0, 6 * cast(float, settings.OMNICHANNEL["WEBHOOK_TIMEOUT_S"])))


def webhook_claim(delivery_id: int) -> datetime | None:
    """Take the delivery for one POST: its claim (a time, the claim's token), or None when it is
    delivered or another run holds a live claim. One conditional UPDATE, so of two runs at once
    (a task retry and the sweep's redelivery) exactly one gets it. Meant for autocommit, as a
    worker runs the task: the claim is committed before the POST and no row lock is held while
    it waits on the network (docs/adr/0002)."""
    now = timezone.now()
    taken = (WebhookDelivery.objects.filter(pk=delivery_id)
             .exclude(status=WebhookDelivery.Status.DELIVERED)
             .filter(Q(claimed_at__isnull=True) | Q(claimed_at__lt=now - claim_lease()))
             .update(claimed_at=now))
    return now if taken else None


def webhook_deliver(delivery_id: int) -> bool:
    """POST it once, if this run can claim it. True when delivered (2xx) or already delivered;
    False when another run is POSTing it: that run counts its attempt and retries a failure,
    so this one ends without either. Raises to retry."""
    delivery = WebhookDelivery.objects.select_related("channel", "event").get(pk=delivery_id)
    if delivery.status == WebhookDelivery.Status.DELIVERED:
        return True
    if not delivery.url.lower().startswith(("https://", "http://")):
        raise WebhookFailed(f"Webhook URL must be http(s): {delivery.url!r}")
    claim = webhook_claim(delivery_id)
    if claim is None:
        return WebhookDelivery.objects.filter(pk=delivery_id, status=WebhookDelivery.Status.DELIVERED).exists()
    status_code, error = _post(delivery)
    delivered = status_code is not None and 200 <= status_code < 300
    _attempt_record(delivery_id, claim, status_code=status_code, error=error, delivered=delivered)
    if not delivered:
        raise WebhookFailed(f"Webhook {delivery_id} to {delivery.url} failed: {error or status_code}")
    return True


def _post(delivery: WebhookDelivery) -> tuple[int | None, str]:
    """The signed POST: (HTTP status or None, error text)."""
    timestamp = int(time.time())
    headers = {
        "Content-Type": "application/json", "User-Agent": "Omnichannel-Webhooks/1",
        "X-Omnichannel-Event": delivery.event.type, "X-Omnichannel-Delivery": str(delivery.pk),
        "X-Omnichannel-Signature": sign(delivery.channel.webhook_secret, timestamp, delivery.body)}
    request = urllib.request.Request(delivery.url, data=delivery.body.encode(), method="POST",  # noqa: S310
                                     headers=headers)
    try:
        with _OPENER.open(request, timeout=cast(float, settings.OMNICHANNEL["WEBHOOK_TIMEOUT_S"])) as response:
            return response.status, ""
    except urllib.error.HTTPError as exc:
        error = f"HTTP {exc.code}"
        if 300 <= exc.code < 400:
            error += f": redirected to {exc.headers.get('Location', '?')}; set the channel's webhook URL to it"
        return exc.code, error
    except (urllib.error.URLError, OSError, http.client.HTTPException) as exc:  # HTTPException: a garbled answer
        return None, repr(exc)


def _attempt_record(delivery_id: int, claim: datetime, *, status_code: int | None, error: str,
                    delivered: bool) -> None:
    """Count the attempt in the database and free the claim if it is still this run's (a run
    whose lease ran out leaves the claim of the run that took over alone). A delivery another
    run marked delivered stays delivered."""
    done = WebhookDelivery.Status.DELIVERED
    WebhookDelivery.objects.filter(pk=delivery_id).update(
        attempts=F("attempts") + 1, last_status_code=status_code, last_error=error,
        status=Value(done) if delivered else Case(When(status=done, then=Value(done)),
                                                  default=Value(WebhookDelivery.Status.PENDING)),
        delivered_at=timezone.now() if delivered else F("delivered_at"),
        claimed_at=Case(When(claimed_at=claim, then=Value(None, output_field=DateTimeField())),
                        default=F("claimed_at")))


class WebhookFailed(Exception):
    pass


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    """A redirect is an answer, not a delivery: urllib would follow a 301/302/303 to a POST
    with a GET without the body, and a 200 to that GET marked the webhook delivered."""

    def redirect_request(self, req, fp, code, msg, headers, newurl):
        return None  # urllib raises the 3xx as an HTTPError


_OPENER = urllib.request.build_opener(_NoRedirect)


def webhook_stale_claims() -> list[int]:
    """The events of deliveries whose run crashed mid-POST: still pending, claimed longer ago
    than the lease. A run that found the claim live ended without a retry of its own, so
    nothing else would send them (`channels_sync.tasks.webhook_sweep` does)."""
    cutoff = timezone.now() - claim_lease()
    return list(WebhookDelivery.objects.filter(status=WebhookDelivery.Status.PENDING, claimed_at__lt=cutoff)
                .order_by("pk").values_list("event_id", flat=True)[:500])


def webhook_give_up(delivery_id: int) -> None:
    WebhookDelivery.objects.filter(pk=delivery_id).exclude(status=WebhookDelivery.Status.DELIVERED).update(
        status=WebhookDelivery.Status.FAILED)
