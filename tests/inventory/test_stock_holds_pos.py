"""Checkout holds (expiry, release, the periodic task) and POS sales (idempotent per receipt)."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from django.db import connection, transaction
from django.utils import timezone

from inventory import services
from inventory.checks import inventory_violations
from inventory.errors import InsufficientStock, NotAStore, QuantityInvalid, ReceiptReused
from inventory.models import PosReceipt, Reservation, StockLevel, StockMovement
from inventory.services import ReserveRequest
from inventory.tasks import release_expired_holds
from omnichannel.errors import NotFound, ValidationFailed
from tests.conftest import requires_postgres

pytestmark = pytest.mark.django_db


def level_of(network, sku: str = "shoe", location: str = "ST1") -> StockLevel:
    return StockLevel.objects.get(sku=network[sku], location=network[location])


def snapshot():
    return (StockMovement.objects.count(), Reservation.objects.count(), PosReceipt.objects.count(),
            list(StockLevel.objects.order_by("pk").values_list("on_hand", "reserved")))


def hold(level: StockLevel, quantity: int, *, minutes: int = 15, ago: int = 0, cart: str = "cart-1",
         channel: str = "web") -> Reservation:
    return services.hold_create(stock_level=level, quantity=quantity, minutes=minutes, reference_id=cart,
                                channel_code=channel, actor=f"channel:{channel}",
                                now=timezone.now() - timedelta(minutes=ago))


# --- holds ---------------------------------------------------------------------------------------------


def test_a_hold_reserves_available_units_until_it_expires(network):
    level = level_of(network)

    held = hold(level, 2, minutes=10)

    level.refresh_from_db()
    assert (level.reserved, level.available) == (2, 1)
    assert (held.reference_type, held.reference_id, held.channel_code, held.status) == ("cart", "cart-1", "web", "open")
    assert timedelta(minutes=9) < held.expires_at - timezone.now() <= timedelta(minutes=10)
    assert StockMovement.objects.filter(stock_level=level).last().reason == "reserve"


def test_a_hold_cannot_take_more_than_is_available(network):
    level = level_of(network)
    hold(level, 2)
    before = snapshot()

    with pytest.raises(InsufficientStock), transaction.atomic():
        hold(level, 2, cart="cart-2")

    assert snapshot() == before


@pytest.mark.parametrize(("minutes", "cart"), [(0, "c"), (121, "c"), (10, "")])
def test_hold_duration_and_cart_are_checked(network, minutes, cart):
    with pytest.raises(ValidationFailed):
        hold(level_of(network), 1, minutes=minutes, cart=cart)


def test_hold_of_zero_units_is_refused(network):
    with pytest.raises(QuantityInvalid):
        hold(level_of(network), 0)


def test_release_is_idempotent_and_scoped_to_the_channel(network):
    level = level_of(network)
    held = hold(level, 2)

    with pytest.raises(NotFound):
        services.hold_release(held.pk, channel_code="app")
    assert services.hold_release(held.pk, channel_code="web") == 2
    assert services.hold_release(held.pk, channel_code="web") == 0

    level.refresh_from_db()
    assert level.reserved == 0
    assert list(StockMovement.objects.filter(stock_level=level).order_by("pk").values_list("delta", "reason"))[-2:] == [
        (2, "reserve"), (-2, "hold_release")]


def test_an_order_reservation_is_not_a_hold(network):
    level = level_of(network)
    [reservation] = services.stock_reserve([ReserveRequest(level.pk, 1, "7")], reference_type="order_line")
    with pytest.raises(NotFound):
        services.hold_release(reservation.pk)


def test_the_task_releases_expired_holds_only_and_once(network):
    level = level_of(network)
    fresh = hold(level, 1, minutes=5, cart="new")
    expired = hold(level, 1, minutes=5, ago=6, cart="old")  # made "6 minutes ago": expired a minute ago

    assert release_expired_holds.delay().get() == 1
    assert release_expired_holds.delay().get() == 0

    assert dict(Reservation.objects.filter(pk__in=[expired.pk, fresh.pk]).values_list("pk", "status")) == {
        expired.pk: "released", fresh.pk: "open"}
    level.refresh_from_db()
    assert level.reserved == 1
    assert StockMovement.objects.filter(stock_level=level, reason="hold_expired").get().delta == -1
    assert inventory_violations() == []


def test_a_new_hold_first_releases_expired_holds_of_its_stock_level(network):
    level = level_of(network)  # 3 on hand
    stale = hold(level, 3, minutes=5, ago=10, cart="abandoned")

    hold(level, 2, cart="buyer")

    stale.refresh_from_db()
    level.refresh_from_db()
    assert (stale.status, level.reserved) == ("released", 2)


def test_an_order_reservation_gets_units_an_expired_hold_still_blocks(network):
    level = level_of(network)
    stale = hold(level, 3, minutes=5, ago=10, cart="abandoned")

    services.stock_reserve([ReserveRequest(level.pk, 2, "42")], reference_type="order_line")

    stale.refresh_from_db()
    level.refresh_from_db()
    assert (stale.status, level.reserved) == ("released", 2)
    assert inventory_violations() == []


def test_the_beat_schedule_runs_the_task_every_30_seconds(settings):
    entry = settings.CELERY_BEAT_SCHEDULE["inventory-release-expired-holds"]
    assert (entry["task"], entry["schedule"]) == ("inventory.tasks.release_expired_holds", 30.0)


# --- POS sales ----------------------------------------------------------------------------------------------


def test_a_pos_sale_takes_the_stores_on_hand_at_once(network):
    result = services.pos_sale(network["ST2"], [(network["shoe"], 1), (network["shirt"], 2), (network["shoe"], 1)],
                               "R-1001", actor="channel:pos", channel_code="pos")

    assert result.created
    assert result.receipt.lines == [{"sku": "RUN-BLK-42", "quantity": 2}, {"sku": "TEE-WHT-M", "quantity": 2}]
    assert (level_of(network, "shoe", "ST2").on_hand, level_of(network, "shirt", "ST2").on_hand) == (0, 3)
    assert set(StockMovement.objects.filter(reference_type="pos_receipt", reference_id="R-1001")
               .values_list("stock_level__sku__code", "state", "delta", "reason")) == {
        ("RUN-BLK-42", "on_hand", -2, "pos_sale"), ("TEE-WHT-M", "on_hand", -2, "pos_sale")}


def test_the_same_receipt_twice_sells_once(network):
    lines = [(network["shoe"], 1)]
    services.pos_sale(network["ST2"], lines, "R-1", channel_code="pos")
    before = snapshot()

    again = services.pos_sale(network["ST2"], lines, "R-1", channel_code="pos")

    assert not again.created
    assert snapshot() == before
    assert level_of(network, "shoe", "ST2").on_hand == 1


def test_the_same_receipt_id_with_other_lines_is_a_conflict(network):
    services.pos_sale(network["ST2"], [(network["shoe"], 1)], "R-1")
    before = snapshot()
    with pytest.raises(ReceiptReused):
        services.pos_sale(network["ST2"], [(network["shoe"], 2)], "R-1")
    assert snapshot() == before


def test_the_same_receipt_id_at_another_store_is_another_sale(network):
    services.pos_sale(network["ST2"], [(network["shoe"], 1)], "R-1")
    assert services.pos_sale(network["ST1"], [(network["shoe"], 1)], "R-1").created


def test_a_pos_sale_never_takes_units_promised_to_orders(network):
    level = level_of(network, "shoe", "ST2")
    services.stock_reserve([ReserveRequest(level.pk, 2, "5")], reference_type="order_line")
    before = snapshot()

    with pytest.raises(InsufficientStock) as error, transaction.atomic():
        services.pos_sale(network["ST2"], [(network["shirt"], 1), (network["shoe"], 1)], "R-9")

    assert [s.as_dict() for s in error.value.shortages] == [{"sku": "RUN-BLK-42", "requested": 1, "available": 0}]
    assert snapshot() == before  # the shirt line and the receipt rolled back with it


def test_a_pos_sale_gets_units_an_expired_hold_still_blocks(network):
    level = level_of(network, "shoe", "ST2")  # 2 on hand, both held by a cart abandoned 5 minutes ago
    stale = hold(level, 2, minutes=5, ago=10, cart="abandoned")

    result = services.pos_sale(network["ST2"], [(network["shoe"], 1)], "R-8")

    assert result.created
    stale.refresh_from_db()
    level.refresh_from_db()
    assert (stale.status, level.on_hand, level.reserved) == ("released", 1, 0)
    assert inventory_violations() == []


def test_a_pos_sale_never_takes_units_of_a_hold_that_has_not_expired(network):
    level = level_of(network, "shoe", "ST2")
    hold(level, 2, minutes=5, ago=4, cart="buyer")
    before = snapshot()

    with pytest.raises(InsufficientStock), transaction.atomic():
        services.pos_sale(network["ST2"], [(network["shoe"], 1)], "R-9")

    assert snapshot() == before


def test_a_pos_sale_of_a_sku_the_store_never_had_is_short(network):
    with pytest.raises(InsufficientStock), transaction.atomic():
        services.pos_sale(network["ST1"], [(network["shirt"], 1)], "R-2")
    assert not PosReceipt.objects.exists()


def test_pos_sales_happen_at_stores_only(network):
    with pytest.raises(NotAStore):
        services.pos_sale(network["WH1"], [(network["shoe"], 1)], "R-3")


@pytest.mark.parametrize("lines", [[], [("shoe", 0)]])
def test_a_pos_sale_needs_lines_with_units(network, lines):
    with pytest.raises(ValidationFailed):
        services.pos_sale(network["ST2"], [(network[sku], qty) for sku, qty in lines], "R-4")


# --- concurrency (Postgres) -------------------------------------------------------------------------------


def run_together(count: int, work) -> list[object]:
    """Run `work(i)` in `count` threads with their own connections, started at once."""
    barrier = threading.Barrier(count)
    results: list[object] = [None] * count

    def worker(i: int) -> None:
        try:
            barrier.wait()
            results[i] = work(i)
        except Exception as exc:  # noqa: BLE001 - returned to the test, which asserts on it
            results[i] = exc
        finally:
            connection.close()

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results


@requires_postgres
@pytest.mark.django_db(transaction=True)
def test_the_same_receipt_sent_by_many_tills_at_once_sells_once(network):
    def sell(_: int) -> bool:
        with transaction.atomic():
            return services.pos_sale(network["ST2"], [(network["shirt"], 1)], "R-RACE").created

    results = run_together(12, sell)

    assert sorted(results, key=str) == [False] * 11 + [True]
    assert level_of(network, "shirt", "ST2").on_hand == 4
    assert inventory_violations() == []


@requires_postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_expiry_runs_release_each_hold_once(network):
    level = level_of(network, "shirt", "WH1")
    with transaction.atomic():
        for i in range(30):
            hold(level, 1, minutes=1, ago=5, cart=f"c{i}")

    results = run_together(6, lambda _: release_expired_holds())

    assert sum(results) == 30  # type: ignore[arg-type]
    level.refresh_from_db()
    assert level.reserved == 0
    assert StockMovement.objects.filter(stock_level=level, reason="hold_expired").count() == 30
    assert inventory_violations() == []
