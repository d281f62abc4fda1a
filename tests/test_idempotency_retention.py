"""An Idempotency-Key's answer is replayed for IDEMPOTENCY_KEY_TTL_HOURS, then forgotten by
the hourly purge; the channel's external id still keeps a late retry from making a second order."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db.models import F
from django.utils import timezone

from omnichannel import idempotency, tasks
from omnichannel.models import IdempotencyRecord
from orders.models import Order
from tests.payloads import ship_order

pytestmark = pytest.mark.django_db(transaction=True)


def _age(key: str, hours: float) -> None:
    IdempotencyRecord.objects.filter(key=key).update(created_at=F("created_at") - timedelta(hours=hours))


def _records(n: int, *, hours_old: float, prefix: str) -> None:
    IdempotencyRecord.objects.bulk_create([
        IdempotencyRecord(scope="channel:1", key=f"{prefix}-{i}", request_hash="h", response_status=201,
                          response_body={}) for i in range(n)])
    IdempotencyRecord.objects.filter(key__startswith=prefix).update(
        created_at=timezone.now() - timedelta(hours=hours_old))


def test_answers_older_than_the_retention_are_forgotten_and_younger_ones_kept():
    _records(7, hours_old=100, prefix="old")
    _records(3, hours_old=1, prefix="new")
    assert idempotency.idempotency_purge(older_than=timedelta(hours=72), chunk=3) == 7  # in chunks of 3
    assert sorted(IdempotencyRecord.objects.values_list("key", flat=True)) == ["new-0", "new-1", "new-2"]
    assert idempotency.idempotency_purge(older_than=timedelta(hours=72)) == 0


def test_the_hourly_task_uses_the_setting_and_zero_keeps_everything(settings):
    _records(2, hours_old=30, prefix="day")
    settings.OMNICHANNEL = {**settings.OMNICHANNEL, "IDEMPOTENCY_KEY_TTL_HOURS": 0}
    assert tasks.idempotency_purge() == 0
    settings.OMNICHANNEL = {**settings.OMNICHANNEL, "IDEMPOTENCY_KEY_TTL_HOURS": 24}
    assert tasks.idempotency_purge() == 2
    assert settings.CELERY_BEAT_SCHEDULE["idempotency-purge"] == {
        "task": "omnichannel.tasks.idempotency_purge", "schedule": 3600.0}


def test_a_retry_within_the_retention_replays_and_after_it_the_external_id_still_finds_the_order(
        network, channel_client):
    body = ship_order(("RUN-BLK-42", 1), external_id="W-77")
    first = channel_client.post("/api/v1/orders/", body, format="json", HTTP_IDEMPOTENCY_KEY="k-77")
    _age("k-77", 71)
    assert tasks.idempotency_purge() == 0
    again = channel_client.post("/api/v1/orders/", body, format="json", HTTP_IDEMPOTENCY_KEY="k-77")
    assert (first.status_code, again.status_code) == (201, 201)  # the stored answer, replayed
    assert again.json() == first.json()
    _age("k-77", 2)
    assert tasks.idempotency_purge() == 1
    late = channel_client.post("/api/v1/orders/", body, format="json", HTTP_IDEMPOTENCY_KEY="k-77")
    assert late.status_code == 200 and late.json()["number"] == first.json()["number"]  # found by external id
    assert Order.objects.count() == 1
