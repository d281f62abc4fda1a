"""Times of day typed by people: one parser (omnichannel.timeofday) behind the waves screen,
the waves API and the carrier service admin. "15.30" is half past three (Django's own parser
reads it as 15:00:00.3); "HH:MM", "HH.MM" and "HH:MM:SS" are taken, anything else is a 400
on the field."""

from __future__ import annotations

from datetime import time

import pytest
from django.core.exceptions import ValidationError
from django.test import Client

from omnichannel.timeofday import TimeOfDayInvalid, parse_time_of_day
from orders.models import Order
from tests import factories
from tests.warehouse.floor_setup import place
from transport.models import CarrierService
from warehouse.models import PickList, Wave

ACCEPTED = [
    ("15:30", time(15, 30)), ("15.30", time(15, 30)), ("9:05", time(9, 5)), ("09:05", time(9, 5)),
    ("9.05", time(9, 5)), ("15:30:45", time(15, 30, 45)), ("00:00", time(0, 0)), ("23:59:59", time(23, 59, 59)),
    (" 15.30 ", time(15, 30)),
]
REFUSED = [
    "15:00:00.3", "15:30:00,5", "15,30", "1530", "15", "15.3", "15:3", "9.5", "15.30.00", "15.30:00", "24:00",
    "23:60", "25.00", "23:59:60", "-1:00", "T15:30", "15:30+01:00", "15:30Z", "3pm", "soon", ":30", "15:", "",
    "１５:３０", "١٥:٣٠",
]


# --- the parser -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(("typed", "meant"), ACCEPTED)
def test_a_time_of_day_is_typed_with_a_colon_or_a_dot(typed, meant):
    assert parse_time_of_day(typed) == meant


@pytest.mark.parametrize("typed", REFUSED)
def test_anything_else_is_refused_rather_than_guessed(typed):
    with pytest.raises(TimeOfDayInvalid, match="is not a time of day .* HH:MM, HH.MM or HH:MM:SS"):
        parse_time_of_day(typed)


def test_a_long_input_is_not_quoted_whole():
    with pytest.raises(TimeOfDayInvalid) as error:
        parse_time_of_day("9" * 500)
    assert len(str(error.value)) < 150


# --- the waves screen -----------------------------------------------------------------------------------


def ops_on_the_floor() -> Client:
    member = factories.StaffFactory(user__username="ops-user", role="ops", location=None)
    client = Client()
    client.force_login(member.user)
    client.post("/wms/location/", {"code": "WH1"})
    return client


def an_express_order_waiting(floor) -> Order:
    order = place(floor, (floor.shirt, 1))
    Order.objects.filter(pk=order.pk).update(promise_option="ship:omnipost-express")  # cutoff 15:00
    return order


@pytest.mark.django_db
@pytest.mark.parametrize(("typed", "meant"), [("15.30", time(15, 30)), ("15:30", time(15, 30)),
                                              ("15:30:00", time(15, 30)), ("16.05", time(16, 5))])
def test_the_waves_screen_reads_the_cutoff_as_staff_type_it(floor, typed, meant):
    an_express_order_waiting(floor)

    response = ops_on_the_floor().post("/wms/waves/", {"cutoff_before": typed})

    assert response.status_code == 302, response.content
    assert Wave.objects.get().cutoff_before == meant


@pytest.mark.django_db
@pytest.mark.parametrize("typed", ["15:00:00.3", "1530", "24:00", "15.3", "15:30:60"])
def test_the_waves_screen_refuses_any_other_cutoff_and_releases_nothing(floor, typed):
    an_express_order_waiting(floor)

    response = ops_on_the_floor().post("/wms/waves/", {"cutoff_before": typed})

    assert response.status_code == 400, (typed, response.status_code)
    assert b'role="alert"' in response.content and b"is not a time of day" in response.content
    assert (Wave.objects.count(), PickList.objects.count()) == (0, 0)


# --- the waves API --------------------------------------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize(("typed", "answer"), [("15.30", "15:30:00"), ("9:05", "09:05:00"), ("15:30:10", "15:30:10")])
def test_the_waves_api_reads_the_cutoff_as_staff_type_it(floor, ops_client, typed, answer):
    order = an_express_order_waiting(floor)
    if typed == "9:05":  # before express's 15:00: only a service cutting off by 9:05 would be taken
        CarrierService.objects.filter(code="omnipost-express").update(cutoff_time=time(9))

    response = ops_client.post("/api/v1/warehouse/waves/", {"location": "WH1", "cutoff_before": typed},
                               format="json")

    assert response.status_code == 201, response.content
    assert response.json()["cutoff_before"] == answer
    assert Wave.objects.get().pick_lists.get().totes.get().fulfillment.order_id == order.pk


@pytest.mark.django_db
@pytest.mark.parametrize("typed", ["15:00:00.3", "1530", "15", "25:00", "15:30+01:00", 1530, ""])
def test_the_waves_api_refuses_any_other_cutoff_with_a_400_on_the_field(floor, ops_client, typed):
    an_express_order_waiting(floor)

    response = ops_client.post("/api/v1/warehouse/waves/", {"location": "WH1", "cutoff_before": typed},
                               format="json")

    assert response.status_code == 400, response.content
    assert (response.json()["code"], response.json()["field"]) == ("invalid", "cutoff_before")
    assert Wave.objects.count() == 0


@pytest.mark.django_db
def test_the_waves_api_still_takes_no_cutoff(floor, ops_client):
    an_express_order_waiting(floor)
    response = ops_client.post("/api/v1/warehouse/waves/", {"location": "WH1", "cutoff_before": None}, format="json")
    assert response.status_code == 201, response.content
    assert response.json()["cutoff_before"] is None


# --- the carrier service admin --------------------------------------------------------------------------


def service_form(carrier, cutoff: str) -> dict[str, object]:
    return {"carrier": carrier.pk, "code": "omnipost-late", "name": "Late", "transit_days": 1,
            "cutoff_time": cutoff, "is_active": "on", "rates-TOTAL_FORMS": 0, "rates-INITIAL_FORMS": 0,
            "rates-MIN_NUM_FORMS": 0, "rates-MAX_NUM_FORMS": 1000}


@pytest.mark.django_db
@pytest.mark.parametrize(("typed", "meant"), [("15.30", time(15, 30)), ("15:30", time(15, 30)),
                                              ("9:05", time(9, 5)), ("18:45:30", time(18, 45, 30))])
def test_the_carrier_service_admin_reads_the_cutoff_as_staff_type_it(admin_client, carrier, typed, meant):
    response = admin_client.post("/admin/transport/carrierservice/add/", service_form(carrier, typed))

    assert response.status_code == 302, response.content
    assert CarrierService.objects.get(code="omnipost-late").cutoff_time == meant


@pytest.mark.django_db
@pytest.mark.parametrize("typed", ["15:00:00.3", "1530", "24:00", "half past"])
def test_the_carrier_service_admin_refuses_any_other_cutoff(admin_client, carrier, typed):
    response = admin_client.post("/admin/transport/carrierservice/add/", service_form(carrier, typed))

    assert response.status_code == 200
    assert "is not a time of day" in response.context["adminform"].form.errors["cutoff_time"][0]
    assert not CarrierService.objects.filter(code="omnipost-late").exists()


@pytest.mark.django_db
def test_the_carriers_inline_services_read_the_cutoff_the_same_way(admin_client, carrier):
    page = admin_client.get(f"/admin/transport/carrier/{carrier.pk}/change/")
    [services] = [f.formset for f in page.context["inline_admin_formsets"] if f.formset.model is CarrierService]
    field = services.forms[0].fields["cutoff_time"]

    assert field.clean("15.45") == time(15, 45)
    with pytest.raises(ValidationError, match="is not a time of day"):
        field.clean("15:00:00.3")
