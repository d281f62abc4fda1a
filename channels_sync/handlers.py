from __future__ import annotations

import logging

from channels_sync.webhooks import PUBLIC_EVENTS
from omnichannel import outbox
from omnichannel.models import OutboxEvent

logger = logging.getLogger(__name__)


def webhooks_on_events(events: list[OutboxEvent]) -> dict[int, str]:
    """`webhook_on_event` for a batch, reading the channels once for all its events."""
    from channels_sync import webhooks

    channels = webhooks.webhook_channels(event.payload.get("channel_id") for event in events)
    failed = {}
    for event in events:
        try:
            webhook_on_event(event, channels)
        except Exception as exc:
            logger.exception("webhook of event %s failed", event.pk)
            failed[event.pk] = repr(exc)
    return failed


@outbox.batched(webhooks_on_events)
def webhook_on_event(event: OutboxEvent, channels=None) -> None:
    """Write the event's delivery row (once) and send it from its own task, with retries.
    A channel without a webhook URL gets no row and costs no task."""
    if not event.payload.get("channel_id"):
        return
    from channels_sync import webhooks
    from channels_sync.tasks import webhook_task

    if webhooks.webhook_prepare(event, channels) is None:
        return
    webhook_task.delay(event.pk)


def register_all() -> None:
    for event_type in PUBLIC_EVENTS:
        outbox.register(event_type, webhook_on_event)
