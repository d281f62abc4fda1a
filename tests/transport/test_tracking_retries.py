"""A carrier scan sent again (a retry after a timeout) is the same scan: one tracking event,
the same 201 answer, nothing published twice. A genuinely new scan of the same status is
still recorded: a later delivery attempt, another time, another place, another scan id."""

from __future__ import annotations

import json
from datetime import timedelta
from urllib.parse import quote

import pytest
from django.db import transaction
from django.utils import timezone

from omnichannel.models import OutboxEvent
from tests.conftest import requires_postgres, run_jobs_together
from transport import services
from transport.models import Shipment, TrackingEvent

ORIGIN = {"name": "Westpoort DC", "line1": "Dock 1", "city": "Amsterdam", "postal_code": "1000AA", "country": "NL",
          "lat": 52.408, "lng": 4.780}
DESTINATION = {"name": "Ann", "line1": "Damrak 70", "city": "Amsterdam", "postal_code": "1012LM", "country": "NL",
               "lat": 52.376, "lng": 4.897}


def book() -> Shipment:
    with transaction.atomic():
        return services.shipment_book(reference="F-1", origin=ORIGIN, destination=DESTINATION,
                                      parcels=[services.ParcelInput(900)])


@pytest.fixture
def shipment(carrier) -> Shipment:
    return book()


def scan(client, tracking_number: str, body: dict, **headers) -> object:
    return client.post(f"/api/v1/shipments/{quote(tracking_number, safe='')}/events/", data=json.dumps(body),
                       content_type="application/json", **headers)


def published() -> list[str]:
    return list(OutboxEvent.objects.filter(type="shipment.tracking_updated").values_list("payload__status", flat=True))


def received_hours_ago(hours: int) -> None:
    """Given: the scans recorded so far came in `hours` ago."""
    TrackingEvent.objects.update(received_at=timezone.now() - timedelta(hours=hours))


@pytest.mark.django_db
def test_a_scan_without_a_time_sent_again_is_recorded_once(shipment, ops_client):
    body = {"status": "delivered", "location": "Damrak 70", "description": "Handed to resident"}
    first = scan(ops_client, shipment.tracking_number, body)
    retry = scan(ops_client, shipment.tracking_number, body)  # the carrier timed out waiting and sends it again

    assert (first.status_code, retry.status_code) == (201, 201), retry.content
    assert retry.json() == first.json()
    event = TrackingEvent.objects.get()
    assert (event.status, event.location) == ("delivered", "Damrak 70")
    assert published() == ["delivered"]  # shipment.delivered, emails, webhooks: told once
    shipment.refresh_from_db()
    assert (shipment.status, shipment.delivered_at) == ("delivered", event.occurred_at)


@pytest.mark.django_db
def test_the_same_status_hours_later_is_a_new_scan(shipment, ops_client):
    body = {"status": "out_for_delivery", "location": "Amsterdam depot"}
    assert scan(ops_client, shipment.tracking_number, body).status_code == 201
    received_hours_ago(3)  # nobody home; the van goes out again in the afternoon

    again = scan(ops_client, shipment.tracking_number, body)

    assert again.status_code == 201
    assert TrackingEvent.objects.filter(status="out_for_delivery").count() == 2
    assert published() == ["out_for_delivery", "out_for_delivery"]


@pytest.mark.django_db
def test_scans_at_other_times_or_places_are_recorded_even_within_minutes(shipment, ops_client):
    scan(ops_client, shipment.tracking_number, {"status": "in_transit", "location": "Hub"})
    scan(ops_client, shipment.tracking_number, {"status": "in_transit", "location": "Hub",
                                                "occurred_at": "2025-03-03T09:00:00Z"})
    scan(ops_client, shipment.tracking_number, {"status": "in_transit", "location": "Utrecht sorting centre"})

    assert sorted(TrackingEvent.objects.values_list("location", flat=True)) == [
        "Hub", "Hub", "Utrecht sorting centre"]
    assert len(published()) == 3


@pytest.mark.django_db
@pytest.mark.parametrize("how", ["event_id", "idempotency_key"])
def test_a_scan_sent_again_with_its_id_is_the_same_scan_however_late(shipment, ops_client, how):
    body = {"status": "in_transit", "location": "Hub"}
    body, headers = ({**body, "event_id": "evt-1"}, {}) if how == "event_id" else (body, {"HTTP_IDEMPOTENCY_KEY": "k-1"})
    first = scan(ops_client, shipment.tracking_number, body, **headers)
    received_hours_ago(3)  # a carrier's retry queue drained late
    retry = scan(ops_client, shipment.tracking_number, body, **headers)

    assert (first.status_code, retry.status_code) == (201, 201), retry.content
    assert TrackingEvent.objects.count() == 1
    assert published() == ["in_transit"]


@pytest.mark.django_db
def test_scans_with_their_own_ids_are_distinct_scans_even_within_minutes(shipment, ops_client):
    body = {"status": "exception", "location": "Hub", "description": "Address unreadable"}
    scan(ops_client, shipment.tracking_number, {**body, "event_id": "evt-1"})
    scan(ops_client, shipment.tracking_number, {**body, "event_id": "evt-2"})

    assert TrackingEvent.objects.count() == 2
    assert sorted(TrackingEvent.objects.values_list("external_id", flat=True)) == ["evt-1", "evt-2"]


@pytest.mark.django_db
def test_a_scan_id_sent_again_with_another_status_is_a_conflict(shipment, ops_client):
    scan(ops_client, shipment.tracking_number, {"status": "in_transit", "event_id": "evt-1"})

    response = scan(ops_client, shipment.tracking_number, {"status": "delivered", "event_id": "evt-1"})

    assert response.status_code == 409, response.content
    assert (response.json()["code"], response.json()["field"]) == ("tracking_event_id_reused", "event_id")
    assert list(TrackingEvent.objects.values_list("status", flat=True)) == ["in_transit"]
    assert Shipment.objects.get().status == Shipment.Status.IN_TRANSIT


@pytest.mark.django_db
def test_an_idempotency_key_too_long_is_a_400_on_the_header(shipment, ops_client):
    response = scan(ops_client, shipment.tracking_number, {"status": "in_transit"}, HTTP_IDEMPOTENCY_KEY="k" * 256)

    assert response.status_code == 400, response.content
    assert response.json()["field"] == "Idempotency-Key"
    assert not TrackingEvent.objects.exists()


@requires_postgres
@pytest.mark.django_db(transaction=True)
def test_two_identical_scans_without_a_time_at_once_are_recorded_once(carrier):
    shipment = book()

    def record():
        return services.tracking_event_record(tracking_number=shipment.tracking_number, status="delivered",
                                              location="Damrak 70")

    results = run_jobs_together([record, record])

    assert not [r for r in results if isinstance(r, Exception)], results
    assert TrackingEvent.objects.count() == 1
    assert published() == ["delivered"]
