from __future__ import annotations

from channels_sync.webhooks import PUBLIC_EVENTS
from omnichannel import outbox
from omnichannel.models import OutboxEvent


def webhook_on_event(event: OutboxEvent) -> None:
    """Write the event's delivery row (once) and send it from its own task, with retries.
    A channel without a webhook URL gets no row and costs no task."""
    if not event.payload.get("channel_id"):
        return
    from channels_sync import webhooks
    from channels_sync.tasks import webhook_task

    if webhooks.webhook_prepare(event) is None:
        return
    webhook_task.delay(event.pk)


def register_all() -> None:
    for event_type in PUBLIC_EVENTS:
        outbox.register(event_type, webhook_on_event)
