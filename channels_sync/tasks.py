from __future__ import annotations

from celery import shared_task
from django.conf import settings

from channels_sync import webhooks
from omnichannel.models import OutboxEvent


@shared_task(name="channels_sync.tasks.webhook_task", bind=True, max_retries=None)
def webhook_task(self, event_id: int) -> bool:
    """Send the event's webhook; a failed POST is retried with backoff. A run that finds the
    delivery being POSTed by another run ends at once (False): that run owns the retries."""
    event = OutboxEvent.objects.filter(pk=event_id).first()
    if event is None:
        return False
    delivery = webhooks.webhook_prepare(event)
    if delivery is None:
        return False
    try:
        return webhooks.webhook_deliver(delivery.pk)
    except webhooks.WebhookFailed as exc:
        if self.request.retries >= settings.OMNICHANNEL["WEBHOOK_MAX_RETRIES"]:
            webhooks.webhook_give_up(delivery.pk)
            return False
        raise self.retry(exc=exc, countdown=min(600, 2 ** self.request.retries)) from exc


@shared_task(name="channels_sync.tasks.webhook_sweep")
def webhook_sweep() -> int:
    """Send again the webhooks whose run crashed while it held the delivery (its claim has
    run out); a delivery that failed normally has its own retry and is left to it."""
    events = webhooks.webhook_stale_claims()
    for event_id in events:
        webhook_task.delay(event_id)
    return len(events)
