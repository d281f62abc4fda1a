"""Postgres: a floor action locks its order and fulfillment, not the location they are at.

Two pickers at one warehouse work on different orders at the same moment, and a delivery is
booked in there meanwhile: none of them waits for the other's transaction."""

from __future__ import annotations

import threading

import pytest
from django.db import connection, transaction

from inventory.services import stock_receive
from orders.models import Fulfillment
from orders.services import fulfillment_lock
from tests.conftest import requires_postgres
from tests.warehouse.floor_flow import fulfillment_at
from tests.warehouse.floor_setup import build_floor, level, place

pytestmark = [requires_postgres, pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def _holding_a_floor_lock(fulfillment_id: int, held: threading.Event, release: threading.Event, out: list):
    """A picker's transaction at its first step, kept open until `release`."""
    try:
        with transaction.atomic():
            out.append(fulfillment_lock(fulfillment_id).pk)
            held.set()
            release.wait(15)
    except Exception as exc:  # noqa: BLE001 - the test asserts on it
        out.append(exc)
        held.set()
    finally:
        connection.close()


def test_a_floor_action_does_not_make_other_work_at_its_location_wait():
    floor = build_floor()
    first = fulfillment_at(place(floor, (floor.cap, 1)), floor.wh)
    second = fulfillment_at(place(floor, (floor.shirt, 1), email="noor@example.com", name="Noor"), floor.wh)
    assert first.location_id == second.location_id == floor.wh.pk
    held, release, out = threading.Event(), threading.Event(), []
    picker = threading.Thread(target=_holding_a_floor_lock, args=(first.pk, held, release, out))
    picker.start()
    try:
        assert held.wait(10)
        assert out == [first.pk]
        with transaction.atomic():
            with connection.cursor() as cursor:
                cursor.execute("SET LOCAL lock_timeout = '3s'")  # a wait fails the test, not hangs it
            # another picker, on another order at the same warehouse
            assert fulfillment_lock(second.pk).location_id == floor.wh.pk
            # and a delivery booked in there
            before = level(floor.cap, floor.wh).on_hand
            stock_receive(sku=floor.cap, location=floor.wh, quantity=2, actor="ops:receive")
        assert not release.is_set()  # all of it while the first picker's transaction was open
    finally:
        release.set()
        picker.join(15)
    assert level(floor.cap, floor.wh).on_hand == before + 2
    assert Fulfillment.objects.get(pk=first.pk).status == first.status
