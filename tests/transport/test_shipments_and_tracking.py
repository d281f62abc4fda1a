"""Booking shipments through the rate-card carrier and recording carrier scans (the tracking
event endpoint): bad input is a 4xx naming the field, a half-configured service or carrier
never stops the others from shipping, and scans only move a shipment forward."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from urllib.parse import quote

import pytest
from django.db import transaction

from tests import factories
from tests.conftest import requires_postgres, run_jobs_together
from transport import services
from transport.errors import NoCarrierService
from transport.models import CarrierService, RateCardEntry, Shipment, TrackingEvent

ORIGIN = {"name": "Westpoort DC", "line1": "Dock 1", "city": "Amsterdam", "postal_code": "1000AA", "country": "NL",
          "lat": 52.408, "lng": 4.780}
DESTINATION = {"name": "Ann", "line1": "Damrak 70", "city": "Amsterdam", "postal_code": "1012LM", "country": "NL",
               "lat": 52.376, "lng": 4.897}


def book(**kwargs) -> Shipment:
    with transaction.atomic():
        return services.shipment_book(reference=kwargs.pop("reference", "F-1"), origin=ORIGIN,
                                      destination=DESTINATION, parcels=[services.ParcelInput(900)], **kwargs)


@pytest.fixture
def shipment(carrier) -> Shipment:
    return book()


def scan(client, tracking_number: str, body) -> object:
    return client.post(f"/api/v1/shipments/{quote(tracking_number, safe='')}/events/", data=json.dumps(body),
                       content_type="application/json")


# --- bad input on the tracking event endpoint -----------------------------------------------------------


@pytest.mark.django_db
def test_a_tracking_number_with_a_nul_character_is_not_found(shipment, ops_client):
    """Postgres refuses a NUL in any text comparison: it was a 500 there."""
    from transport.errors import ShipmentNotFound
    from transport.services import tracking_event_record

    response = scan(ops_client, shipment.tracking_number + "\x00", {"status": "delivered"})

    assert response.status_code == 404, response.content  # the path names nothing (omnichannel.middleware)
    assert response.json()["code"] == "not_found"
    assert Shipment.objects.get().status == Shipment.Status.BOOKED
    with pytest.raises(ShipmentNotFound) as raised:  # a caller other than the API (a carrier feed) too
        tracking_event_record(tracking_number=shipment.tracking_number + "\x00", status="delivered")
    assert raised.value.field == "tracking_number"


@pytest.mark.django_db
@pytest.mark.parametrize("occurred_at", ["0001-01-01T00:00:00", "0001-01-01T00:10", "9999-12-31T23:59:59-05:00"])
def test_a_scan_time_the_calendar_cannot_hold_is_a_400_on_the_field(shipment, ops_client, occurred_at):
    """A naive time is local (Europe/Amsterdam: UTC+0:19:32 in year 1): 0001-01-01 00:00 there is
    before year 1 in UTC, and DRF let the OverflowError through (a 500)."""
    response = scan(ops_client, shipment.tracking_number, {"status": "delivered", "occurred_at": occurred_at})

    assert response.status_code == 400, response.content
    assert (response.json()["code"], response.json()["field"]) == ("invalid", "occurred_at")
    assert not TrackingEvent.objects.exists()
    assert Shipment.objects.get().status == Shipment.Status.BOOKED


# --- the state machine ----------------------------------------------------------------------------------


@pytest.mark.django_db
def test_a_late_scan_never_moves_a_delivered_shipment_back(shipment, ops_client):
    delivered = scan(ops_client, shipment.tracking_number, {"status": "delivered",
                                                            "occurred_at": "2025-03-03T15:00:00Z"})
    late = scan(ops_client, shipment.tracking_number, {"status": "in_transit", "occurred_at": "2025-03-03T09:00:00Z"})
    exception = scan(ops_client, shipment.tracking_number, {"status": "exception",
                                                            "occurred_at": "2025-03-03T16:00:00Z"})

    assert (delivered.status_code, late.status_code, exception.status_code) == (201, 201, 201)
    assert late.json()["shipment_status"] == exception.json()["shipment_status"] == "delivered"
    shipment.refresh_from_db()
    assert shipment.status == Shipment.Status.DELIVERED
    assert shipment.delivered_at == datetime(2025, 3, 3, 15, tzinfo=UTC)


@pytest.mark.django_db
def test_a_carrier_retry_is_recorded_once(shipment, ops_client):
    body = {"status": "in_transit", "occurred_at": "2025-03-03T09:00:00+01:00", "location": "Hub"}
    first = scan(ops_client, shipment.tracking_number, body)
    again = scan(ops_client, shipment.tracking_number, {**body, "occurred_at": "2025-03-03T08:00:00Z"})

    assert (first.status_code, again.status_code) == (201, 201)
    assert TrackingEvent.objects.count() == 1


@requires_postgres
@pytest.mark.django_db(transaction=True)
def test_two_identical_scans_at_once_are_recorded_once(carrier):
    shipment = book()

    def record():
        return services.tracking_event_record(tracking_number=shipment.tracking_number, status="delivered",
                                              occurred_at=datetime(2025, 3, 3, 15, tzinfo=UTC))

    results = run_jobs_together([record, record])

    assert not [r for r in results if isinstance(r, Exception)], results
    assert TrackingEvent.objects.count() == 1
    assert Shipment.objects.get().status == Shipment.Status.DELIVERED


# --- carrier choice with services and carriers still being set up ----------------------------------------


@pytest.mark.django_db
def test_a_new_service_without_a_rate_card_does_not_stop_the_carrier_shipping(carrier, admin_client):
    """Ops add a service in the admin and its rates later: until then the carrier's other services
    still ship (rate shopping asked the carrier for the new one too and dropped the whole carrier)."""
    response = admin_client.post("/admin/transport/carrierservice/add/", {
        "carrier": carrier.pk, "code": "omnipost-eco", "name": "Eco", "transit_days": 4, "cutoff_time": "12:00",
        "is_active": "on", "rates-TOTAL_FORMS": 0, "rates-INITIAL_FORMS": 0, "rates-MIN_NUM_FORMS": 0,
        "rates-MAX_NUM_FORMS": 1000})
    assert response.status_code == 302, response.content

    assert book().service.code == "omnipost-standard"


@pytest.mark.django_db
def test_asking_for_a_service_without_a_rate_card_names_it(carrier):
    CarrierService.objects.create(carrier=carrier, code="omnipost-eco", name="Eco", transit_days=4,
                                  cutoff_time="12:00")

    with pytest.raises(NoCarrierService, match="omnipost-eco") as caught:
        book(service_code="omnipost-eco")
    assert caught.value.field == "service_code"


@pytest.mark.django_db
def test_a_new_carrier_without_rates_does_not_stop_the_others_shipping(carrier):
    courier = factories.CarrierFactory(code="bikes", name="Bike couriers")
    CarrierService.objects.create(carrier=courier, code="bikes-standard", name="Bike", transit_days=1,
                                  cutoff_time="12:00")

    assert book().service.code == "omnipost-standard"


@pytest.mark.django_db
def test_a_misconfigured_service_does_not_stop_its_carriers_other_services(carrier):
    """Saved before the admin checked it: a same-day service with 1 transit day made the adapter
    refuse the whole carrier, so even standard parcels could not ship."""
    broken = CarrierService.objects.create(carrier=carrier, code="omnipost-sd2", name="Same day 2", transit_days=1,
                                           cutoff_time="12:00", is_same_day=True)
    RateCardEntry.objects.create(service=broken, max_weight_grams=2000, max_km=50, price=3)
    zero = CarrierService.objects.create(carrier=carrier, code="omnipost-zero", name="Zero", transit_days=1,
                                         cutoff_time="12:00")
    RateCardEntry.objects.create(service=zero, max_weight_grams=0, max_km=50, price=1)

    assert book().service.code == "omnipost-standard"
    assert book(same_day=True, reference="F-2").service.code == "omnipost-sameday"


# --- the admin refuses what the carrier cannot load ------------------------------------------------------


@pytest.mark.django_db
def test_the_admin_refuses_a_same_day_service_with_transit_days(carrier, admin_client):
    response = admin_client.post("/admin/transport/carrierservice/add/", {
        "carrier": carrier.pk, "code": "omnipost-sd2", "name": "Same day 2", "transit_days": 1,
        "cutoff_time": "12:00", "is_same_day": "on", "is_active": "on", "rates-TOTAL_FORMS": 0,
        "rates-INITIAL_FORMS": 0, "rates-MIN_NUM_FORMS": 0, "rates-MAX_NUM_FORMS": 1000})

    assert response.status_code == 200
    assert "0 transit days" in response.context["adminform"].form.errors["transit_days"][0]
    assert not CarrierService.objects.filter(code="omnipost-sd2").exists()


@pytest.mark.django_db
@pytest.mark.parametrize(("field", "weight", "km"), [("max_weight_grams", 0, 50), ("max_km", 2000, -5)])
def test_the_admin_refuses_a_rate_card_cell_the_carrier_cannot_use(carrier, admin_client, field, weight, km):
    service = CarrierService.objects.get(code="omnipost-express")
    response = admin_client.post("/admin/transport/ratecardentry/add/", {
        "service": service.pk, "max_weight_grams": weight, "max_km": km, "price": "1.00", "currency": "EUR"})

    assert response.status_code == 200
    assert field in response.context["adminform"].form.errors
    assert not RateCardEntry.objects.filter(service=service, price=1).exists()
