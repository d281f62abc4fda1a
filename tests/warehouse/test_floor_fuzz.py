"""The floor screens forgive any scan: whatever a handheld posts (wrong codes, odd
quantities, a field missing or doubled, control characters), a picker gets a page or a
banner, never a 500, and the ledger stays whole."""

from __future__ import annotations

import pytest
from django.db import transaction
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from inventory.checks import inventory_violations
from tests.test_orders_api_fuzz import NASTY_TEXT, SCALE
from tests.warehouse.floor_setup import fulfillment_at, place
from tests.warehouse.test_floor_web import logged_in
from warehouse.services import picking

pytestmark = pytest.mark.django_db

FIELDS = ["step", "code", "bin", "quantity", "reason", "weight_grams", "box_type", "carrier", "fulfillment",
          "counted", "disposition", "transfer", "batch_size", "cutoff_before", "delivery_method"]
STEPS = ["bin", "item", "short", "box", "new_box", "ship", "close", "receive", "start", "", "ITEM", "x"]
VALUES = st.one_of(
    NASTY_TEXT, st.text(max_size=20), st.integers(-10 ** 12, 10 ** 12).map(str), st.sampled_from(STEPS),
    st.sampled_from(["8712345000017", "8712345000024", "8712345000031", "WH1-A-01-1", "WH1-A-03-2", "A-01-1",
                     "RUN-BLK-42", "TEE-WHT-M", "S", "M", "L", "damaged", "restock", "1", "0", "-1", "999999"]),
).map(lambda value: value.encode("utf-8", "replace").decode())  # a form cannot carry a lone surrogate
FORMS = st.dictionaries(st.sampled_from(FIELDS), st.lists(VALUES, min_size=1, max_size=2), max_size=5)


@pytest.fixture
def floor_pages(floor):
    order = place(floor, (floor.shirt, 1), (floor.cap, 1))
    with transaction.atomic():
        pick_list = picking.pick_list_create(floor.wh, [fulfillment_at(order, floor.wh)], kind="single",
                                             actor="picker:p")
    fulfillment = fulfillment_at(order, floor.wh)
    paths = ["/wms/", "/wms/waves/", "/wms/pick/", f"/wms/pick/{pick_list.pk}/", "/wms/pack/",
             f"/wms/pack/{fulfillment.pk}/", "/wms/manifest/", "/wms/pickup/", "/wms/returns/", "/wms/receiving/",
             "/wms/location/"]
    return {"client": logged_in(floor.wh, "picker-wh1"), "paths": paths}


@settings(max_examples=round(300 * SCALE), deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(data=st.data())
def test_no_floor_screen_answers_500_to_any_form(floor_pages, data):
    path = data.draw(st.sampled_from(floor_pages["paths"]))
    form = data.draw(FORMS)
    response = floor_pages["client"].post(path, form)
    event(f"{response.status_code}")
    assert response.status_code < 500, (path, form, response.status_code)
    assert inventory_violations() == []
