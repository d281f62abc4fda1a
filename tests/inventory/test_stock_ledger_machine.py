"""A Hypothesis state machine over the inventory services: random sequences of receive,
adjust, safety stock (compare-and-set), reserve, release, ship (commit), checkout holds and
their expiry, damage/QC moves and write-offs, transfers (request + ship, partial receipts,
close), cycle counts and POS sales, on 2 SKUs x 3 locations.

A plain-Python model predicts every quantity and whether each call must succeed. After
every step: the invariants hold (`inventory_violations()` is empty), nothing is negative,
nothing promised exceeds what is there, and the database equals the model. Each example
runs in a savepoint that is rolled back, and each step in its own savepoint, as an API
request would (a refused call leaves nothing behind).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta

import pytest
from django.db import transaction
from django.utils import timezone
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)

from inventory import services
from inventory.checks import inventory_violations
from inventory.errors import QuantityChanged
from inventory.models import Location, Reservation, StockLevel, Transfer
from inventory.services import ReserveRequest, TransferLineInput
from omnichannel.errors import DomainError
from tests import factories

pytestmark = pytest.mark.django_db

STATES = ("on_hand", "reserved", "safety_stock", "incoming", "damaged", "quality_control")
SKUS = 2
LOCATIONS = 3  # location 0 is a warehouse, 1 and 2 are stores
HOT = (0, 1)  # half the draws hit one stock level (at a store), so operations collide there
LEVEL = st.one_of(st.just(HOT), st.tuples(st.integers(0, SKUS - 1), st.integers(0, LOCATIONS - 1)))
SMALL = st.integers(1, 6)


@dataclass
class LevelModel:
    on_hand: int = 0
    reserved: int = 0
    safety_stock: int = 0
    incoming: int = 0
    damaged: int = 0
    quality_control: int = 0

    @property
    def available(self) -> int:
        return self.on_hand - self.reserved - self.safety_stock - self.damaged - self.quality_control

    def values(self) -> tuple[int, ...]:
        return tuple(getattr(self, s) for s in STATES)


@dataclass
class TransferModel:
    sku: int
    destination: int
    shipped: int
    received: int = 0
    is_open: bool = True

    @property
    def outstanding(self) -> int:
        return max(0, self.shipped - self.received)


@dataclass
class World:
    skus: list
    locations: list[Location]
    level_ids: dict[tuple[int, int], int] = field(default_factory=dict)


class InventoryMachine(RuleBasedStateMachine):
    world: World  # set by the test

    def __init__(self) -> None:
        super().__init__()
        self._example = transaction.atomic()
        self._example.__enter__()
        self.levels = {key: LevelModel() for key in self.world.level_ids}
        self.reservations: dict[int, tuple[tuple[int, int], int, str]] = {}  # open: id -> (level, qty, kind)
        self.transfers: dict[int, TransferModel] = {}
        self.receipts: dict[str, tuple[int, int, int]] = {}  # receipt id -> (store, sku, qty)

    def teardown(self) -> None:
        transaction.set_rollback(True)
        self._example.__exit__(None, None, None)

    # --- helpers -------------------------------------------------------------------------------------------

    def level(self, key: tuple[int, int]) -> StockLevel:
        return StockLevel.objects.select_related("sku", "location").get(pk=self.world.level_ids[key])

    def attempt(self, call, *, should_succeed: bool):
        """Run `call` in a savepoint; a DomainError rolls it back. Its outcome must be the model's."""
        try:
            with transaction.atomic():
                result = call()
        except DomainError as exc:
            assert not should_succeed, f"refused although the model allows it: {exc.detail}"
            return None
        assert should_succeed, "accepted although the model forbids it"
        return result

    def open_ids(self, kind: str | None = None) -> list[int]:
        return sorted(pk for pk, (_, _, k) in self.reservations.items() if kind in (None, k))

    # --- rules -----------------------------------------------------------------------------------------------

    @initialize(quantity=st.integers(0, 8))
    def stock_every_level(self, quantity):
        if quantity:
            for key in self.levels:
                self.receive(key, quantity)

    @rule(key=LEVEL, quantity=st.integers(1, 15))
    def receive(self, key, quantity):
        sku, loc = key
        self.attempt(lambda: services.stock_receive(sku=self.world.skus[sku], location=self.world.locations[loc],
                                                    quantity=quantity), should_succeed=True)
        self.levels[key].on_hand += quantity

    @rule(key=LEVEL, delta=st.integers(-8, 8).filter(bool), reason=st.sampled_from(["lost", "found", "correction"]))
    def adjust(self, key, delta, reason):
        model = self.levels[key]
        ok = delta > 0 or model.available >= -delta
        self.attempt(lambda: services.stock_adjust(stock_level=self.level(key), delta=delta, reason=reason),
                     should_succeed=ok)
        if ok:
            model.on_hand += delta

    @rule(key=LEVEL, value=st.integers(0, 5), stale=st.booleans())
    def set_safety_stock(self, key, value, stale):
        model = self.levels[key]
        expected = model.safety_stock + (1 if stale else 0)
        try:
            with transaction.atomic():
                services.stock_set(self.level(key), "safety_stock", expected=expected, value=value)
        except QuantityChanged as exc:
            assert stale and exc.current == model.safety_stock
            return
        assert not stale
        model.safety_stock = value

    @rule(key=LEVEL, quantity=SMALL)
    def reserve_for_an_order(self, key, quantity):
        model = self.levels[key]
        ok = model.available >= quantity
        made = self.attempt(lambda: services.stock_reserve([ReserveRequest(self.world.level_ids[key], quantity, "1")],
                                                           reference_type="order_line"), should_succeed=ok)
        if ok:
            self.reservations[made[0].pk] = (key, quantity, "order")
            model.reserved += quantity

    @rule(key=LEVEL, quantity=st.integers(1, 4))
    def hold_for_a_cart(self, key, quantity):
        model = self.levels[key]
        ok = model.available >= quantity
        made = self.attempt(lambda: services.hold_create(stock_level=self.level(key), quantity=quantity, minutes=60,
                                                         reference_id="cart", channel_code="web"), should_succeed=ok)
        if ok:
            self.reservations[made.pk] = (key, quantity, "hold")
            model.reserved += quantity

    @precondition(lambda self: self.reservations)
    @rule(data=st.data())
    def release(self, data):
        pk = data.draw(st.sampled_from(self.open_ids()))
        self.attempt(lambda: services.reservations_release([pk]), should_succeed=True)
        key, quantity, _ = self.reservations.pop(pk)
        self.levels[key].reserved -= quantity

    @precondition(lambda self: self.open_ids("order"))
    @rule(data=st.data())
    def ship_an_order(self, data):
        pk = data.draw(st.sampled_from(self.open_ids("order")))
        self.attempt(lambda: services.reservations_commit([pk]), should_succeed=True)
        key, quantity, _ = self.reservations.pop(pk)
        self.levels[key].reserved -= quantity
        self.levels[key].on_hand -= quantity

    @precondition(lambda self: self.open_ids("hold"))
    @rule()
    def holds_expire(self):
        later = timezone.now() + timedelta(hours=2)
        released = self.attempt(lambda: services.holds_release_expired(now=later), should_succeed=True)
        assert sorted(r.pk for r in released) == self.open_ids("hold")
        for pk in self.open_ids("hold"):
            key, quantity, _ = self.reservations.pop(pk)
            self.levels[key].reserved -= quantity

    @rule(key=LEVEL, move=st.sampled_from([("available", "damaged"), ("damaged", "available"),
                                           ("damaged", "written_off"), ("available", "quality_control"),
                                           ("quality_control", "available"), ("quality_control", "damaged")]),
          quantity=st.integers(1, 4))
    def move_between_states(self, key, move, quantity):
        model = self.levels[key]
        source, target = move
        ok = (model.available if source == "available" else getattr(model, source)) >= quantity
        self.attempt(lambda: services.stock_move_state(self.level(key), source, target, quantity, "test"),
                     should_succeed=ok)
        if not ok:
            return
        if source != "available":
            setattr(model, source, getattr(model, source) - quantity)
        if target == "written_off":
            model.on_hand -= quantity
        elif target != "available":
            setattr(model, target, getattr(model, target) + quantity)

    @rule(key=LEVEL, counted=st.integers(0, 25))
    def cycle_count(self, key, counted):
        model = self.levels[key]
        result = self.attempt(lambda: services.stock_count(self.level(key), counted), should_succeed=True)
        excess = max(0, model.damaged + model.quality_control - counted)
        damaged_cut = min(model.damaged, excess)
        model.damaged -= damaged_cut
        model.quality_control -= excess - damaged_cut
        room = counted - model.damaged - model.quality_control
        expected_released = []
        for pk in sorted((pk for pk, (k, _, _) in self.reservations.items() if k == key), reverse=True):
            if model.reserved <= room:
                break
            expected_released.append(pk)
            model.reserved -= self.reservations.pop(pk)[1]
        assert [r.pk for r in result.released] == expected_released
        model.on_hand = counted

    @rule(sku=st.integers(0, SKUS - 1), source=st.integers(0, LOCATIONS - 1), step=st.integers(1, LOCATIONS - 1),
          quantity=SMALL)
    def transfer_and_ship(self, sku, source, step, quantity):
        destination = (source + step) % LOCATIONS
        model = self.levels[(sku, source)]
        ok = model.available >= quantity
        world = self.world

        def request_and_ship():
            transfer = services.transfer_request(world.locations[source], world.locations[destination],
                                                 [TransferLineInput(world.skus[sku], quantity)])
            return services.transfer_ship(transfer)

        transfer = self.attempt(request_and_ship, should_succeed=ok)
        if ok:
            self.transfers[transfer.pk] = TransferModel(sku, destination, quantity)
            model.on_hand -= quantity
            self.levels[(sku, destination)].incoming += quantity

    @precondition(lambda self: any(t.is_open for t in self.transfers.values()))
    @rule(data=st.data(), quantity=st.integers(0, 8), close=st.booleans())
    def transfer_receive(self, data, quantity, close):
        pk = data.draw(st.sampled_from(sorted(pk for pk, t in self.transfers.items() if t.is_open)))
        transfer = self.transfers[pk]
        ok = bool(quantity) or close
        sku_code = self.world.skus[transfer.sku].code
        self.attempt(lambda: services.transfer_receive(self.transfer(pk), {sku_code: quantity}, close=close),
                     should_succeed=ok)
        if not ok:
            return
        level = self.levels[(transfer.sku, transfer.destination)]
        level.incoming -= min(quantity, transfer.outstanding)
        level.on_hand += quantity
        transfer.received += quantity
        if close or transfer.outstanding == 0:
            level.incoming -= transfer.outstanding
            transfer.is_open = False

    def transfer(self, pk: int) -> Transfer:
        return Transfer.objects.get(pk=pk)

    @rule(store=st.one_of(st.just(HOT[1]), st.integers(1, LOCATIONS - 1)),
          sku=st.one_of(st.just(HOT[0]), st.integers(0, SKUS - 1)), quantity=st.integers(1, 3),
          repeat=st.booleans())
    def pos_sale(self, store, sku, quantity, repeat):
        if repeat and self.receipts:
            receipt_id = sorted(self.receipts)[-1]
            store, sku, quantity = self.receipts[receipt_id]
            result = self.attempt(lambda: services.pos_sale(self.world.locations[store], [(self.world.skus[sku],
                                                                                          quantity)], receipt_id),
                                  should_succeed=True)
            assert not result.created
            return
        model = self.levels[(sku, store)]
        ok = model.available >= quantity
        receipt_id = f"R{len(self.receipts) + 1:04d}"
        self.attempt(lambda: services.pos_sale(self.world.locations[store], [(self.world.skus[sku], quantity)],
                                               receipt_id), should_succeed=ok)
        if ok:
            self.receipts[receipt_id] = (store, sku, quantity)
            model.on_hand -= quantity

    # --- after every step ------------------------------------------------------------------------------------

    @invariant()
    def the_ledger_proves_every_quantity(self):
        assert inventory_violations() == []

    @invariant()
    def the_database_is_the_model_and_nothing_is_oversold(self):
        rows = StockLevel.objects.filter(pk__in=self.world.level_ids.values())
        stored = {row.pk: row for row in rows}
        for key, pk in self.world.level_ids.items():
            row = stored[pk]
            assert tuple(getattr(row, s) for s in STATES) == self.levels[key].values(), key
            assert min(getattr(row, s) for s in STATES) >= 0
            assert row.available >= 0
            assert row.reserved + row.damaged + row.quality_control <= row.on_hand
        open_rows = Reservation.objects.filter(status="open", stock_level_id__in=self.world.level_ids.values())
        assert sorted(open_rows.values_list("pk", flat=True)) == self.open_ids()


def test_random_operation_sequences_keep_every_invariant():
    skus = [factories.SkuFactory(code=f"HYP-{i}") for i in range(SKUS)]
    locations = [factories.LocationFactory(code="HWH"), factories.StoreFactory(code="HS1"),
                 factories.StoreFactory(code="HS2")]
    world = World(skus, locations)
    with transaction.atomic():
        for sku_index, sku in enumerate(skus):
            for loc_index, location in enumerate(locations):
                world.level_ids[(sku_index, loc_index)] = services.stock_level_ensure(sku, location).pk
    InventoryMachine.world = world

    run_state_machine_as_test(InventoryMachine, settings=settings(
        max_examples=40, stateful_step_count=30, deadline=None, database=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much]))
