"""No oversell at any concurrency, proven on Postgres: many clients race for fewer units than
they ask for, through the service the API uses (`orders.services.order_place` inside
`transaction.atomic()`, as channels_sync.capture does) and through the HTTP API itself.

Each client is a thread with its own database connection (Django connections are per
thread), started together by a Barrier, closing its connection when done. Routing runs
eagerly after each commit in the client's thread, so placements also race with routing.
"""

from __future__ import annotations

import random
import threading
from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass

import pytest
from django.db import connection, transaction
from django.db.models import F, Sum

from channels_sync.tokens import token_issue
from inventory.checks import inventory_violations
from inventory.errors import InsufficientStock
from inventory.models import Reservation, StockLevel
from inventory.services import stock_receive
from omnichannel.models import OutboxEvent
from orders.models import Order, OrderLine
from orders.services import AddressInput, ChannelContext, LineInput, OrderInput, order_place
from tests import factories
from tests.conftest import client_with_token, requires_postgres
from tests.payloads import ship_order

pytestmark = [requires_postgres, pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

AMSTERDAM = AddressInput(name="Race", line1="Damrak 70", city="Amsterdam", postal_code="1012LM", country="NL",
                         latitude=52.376, longitude=4.897)


@dataclass(frozen=True)
class Outcome:
    client: int
    kind: str  # "placed", "short" or "error"
    detail: str = ""


def race(clients: int, attempt: Callable[[int], Outcome]) -> list[Outcome]:
    """Run `attempt(i)` in `clients` threads released together; every thread closes its connection."""
    barrier = threading.Barrier(clients)
    outcomes: list[Outcome] = []
    lock = threading.Lock()

    def run(index: int) -> None:
        try:
            barrier.wait(timeout=30)
            outcome = attempt(index)
        except Exception as exc:  # noqa: BLE001 - any other error is what the test looks for
            outcome = Outcome(index, "error", repr(exc))
        finally:
            connection.close()
        with lock:
            outcomes.append(outcome)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not any(t.is_alive() for t in threads), "a client hung (lock wait?)"
    return sorted(outcomes, key=lambda o: o.client)


def place_through_service(channel_id: int, lines_of: Callable[[int], list[LineInput]]) -> Callable[[int], Outcome]:
    def attempt(index: int) -> Outcome:
        data = OrderInput(delivery_method="ship", lines=lines_of(index), email=f"racer{index}@example.com",
                          customer_name=f"Racer {index}", external_id=f"race-{index}", address=AMSTERDAM)
        try:
            with transaction.atomic():
                order, created = order_place(data, ChannelContext(channel_id=channel_id, actor=f"client:{index}"))
        except InsufficientStock as exc:
            return Outcome(index, "short", exc.code)
        return Outcome(index, "placed" if created else "duplicate", order.number)
    return attempt


def open_reserved_by_line() -> dict[int, int]:
    rows = (Reservation.objects.filter(status=Reservation.Status.OPEN, reference_type="order_line")
            .values_list("reference_id").annotate(units=Sum("quantity")).values_list("reference_id", "units"))
    return {int(line_id): units for line_id, units in rows}


def assert_nothing_else_went_wrong(outcomes: list[Outcome]) -> None:
    assert [o for o in outcomes if o.kind not in {"placed", "short"}] == []
    assert {o.detail for o in outcomes if o.kind == "short"} <= {"insufficient_stock"}
    assert inventory_violations() == []
    # routing ran after each commit in the same threads: no handler failed (no deadlock there either)
    assert list(OutboxEvent.objects.exclude(last_error="").values_list("type", "last_error")) == []
    assert not StockLevel.objects.filter(on_hand__lt=F("reserved") + F("safety_stock") + F("damaged")
                                         + F("quality_control")).exists()


def test_sixty_clients_race_for_25_units_of_one_sku_and_exactly_25_are_reserved(network, web_channel):
    # given 25 units of the shoe that can ship (WH1 20, ST1 3, ST2 2) and 60 one-unit orders
    shoe = network["shoe"]
    on_hand = dict(StockLevel.objects.filter(sku=shoe).values_list("pk", "on_hand"))
    # when they all place at once through the placement service
    outcomes = race(60, place_through_service(web_channel.pk, lambda i: [LineInput("RUN-BLK-42", 1)]))
    # then exactly 25 orders hold a unit each, the 35 others were told "insufficient stock"
    assert Counter(o.kind for o in outcomes) == {"placed": 25, "short": 35}
    assert_nothing_else_went_wrong(outcomes)
    assert Order.objects.count() == 25
    assert sum(StockLevel.objects.filter(sku=shoe).values_list("reserved", flat=True)) == 25
    assert dict(StockLevel.objects.filter(sku=shoe).values_list("pk", "on_hand")) == on_hand
    assert set(open_reserved_by_line().values()) == {1}
    assert len(open_reserved_by_line()) == 25
    placed = {o.detail for o in outcomes if o.kind == "placed"}
    assert set(Order.objects.values_list("number", flat=True)) == placed


def test_fifty_http_clients_race_for_25_units_and_the_losers_get_409_insufficient_stock(network, web_channel):
    token = token_issue(name="race", channel=web_channel)[1]

    def attempt(index: int) -> Outcome:
        client = client_with_token(token)
        response = client.post("/api/v1/orders/", ship_order(("RUN-BLK-42", 1), external_id=f"http-{index}",
                                                             email=f"http{index}@example.com"),
                               format="json", HTTP_IDEMPOTENCY_KEY=f"race-{index}")
        if response.status_code == 201:
            return Outcome(index, "placed", response.json()["number"])
        if response.status_code == 409:
            return Outcome(index, "short", response.json()["code"])
        return Outcome(index, "error", f"{response.status_code} {response.content[:300]!r}")

    outcomes = race(50, attempt)
    assert Counter(o.kind for o in outcomes) == {"placed": 25, "short": 25}
    assert_nothing_else_went_wrong(outcomes)
    assert sum(StockLevel.objects.filter(sku=network["shoe"]).values_list("reserved", flat=True)) == 25
    assert Order.objects.count() == 25


@pytest.fixture
def overlapping_stock(db, web_channel):
    """4 SKUs at 3 locations, 2 to 5 units per stock level (38 units in all)."""
    locations = [factories.LocationFactory(code="M-WH", latitude=52.40, longitude=4.78),
                 factories.StoreFactory(code="M-S1", latitude=52.37, longitude=4.89),
                 factories.StoreFactory(code="M-S2", latitude=52.35, longitude=4.90)]
    skus = [factories.SkuFactory(code=f"M-SKU-{n}") for n in range(4)]
    quantities = [[5, 2, 3], [4, 3, 2], [3, 3, 3], [2, 4, 4]]  # per SKU, per location
    for sku, row in zip(skus, quantities, strict=True):
        for location, quantity in zip(locations, row, strict=True):
            stock_receive(sku=sku, location=location, quantity=quantity, actor="test")
    return {"skus": [s.code for s in skus], "channel": web_channel}


def place_through_api(channel, lines_of: Callable[[int], list[LineInput]]) -> Callable[[int], Outcome]:
    token = token_issue(name="race", channel=channel)[1]

    def attempt(index: int) -> Outcome:
        body = ship_order(*[(line.sku, line.quantity) for line in lines_of(index)], external_id=f"race-{index}",
                          email=f"racer{index}@example.com")
        response = client_with_token(token).post("/api/v1/orders/", body, format="json",
                                                 HTTP_IDEMPOTENCY_KEY=f"race-{index}")
        if response.status_code in (201, 409):
            return Outcome(index, "placed" if response.status_code == 201 else "short", response.json().get(
                "number") or response.json()["code"])
        return Outcome(index, "error", f"{response.status_code} {response.content[:300]!r}")
    return attempt


@pytest.mark.parametrize(("seed", "through"), [(20260503, "service"), (7, "service"), (20260503, "api"), (7, "api")])
def test_multi_line_orders_over_overlapping_skus_never_oversell_and_are_all_or_nothing(overlapping_stock, seed,
                                                                                      through):
    # given 60 orders of 1 to 4 lines of random SKUs (random quantities, random line order),
    # asking for about three times the 38 units there are
    rng = random.Random(seed)
    codes = overlapping_stock["skus"]
    carts = [[LineInput(code, rng.randint(1, 3)) for code in rng.sample(codes, rng.randint(1, 4))]
             for _ in range(60)]
    on_hand = dict(StockLevel.objects.values_list("pk", "on_hand"))
    # when they all place at once, through the service (a savepoint per attempt) or the API
    # (an optimistic first attempt; a lost race places again in a new transaction)
    place = place_through_service if through == "service" else place_through_api
    channel = overlapping_stock["channel"]
    outcomes = race(60, place(channel.pk if through == "service" else channel, lambda i: carts[i]))
    kinds = Counter(o.kind for o in outcomes)
    assert kinds["placed"] > 0 and kinds["short"] > 0
    assert_nothing_else_went_wrong(outcomes)
    assert dict(StockLevel.objects.values_list("pk", "on_hand")) == on_hand
    # every accepted order holds every unit of every line; rejected ones left nothing behind
    placed = [o for o in outcomes if o.kind == "placed"]
    assert Order.objects.count() == len(placed)
    reserved_by_line = open_reserved_by_line()
    lines = list(OrderLine.objects.values_list("pk", "quantity"))
    assert {pk: reserved_by_line.get(pk, 0) for pk, _ in lines} == dict(lines)
    assert set(reserved_by_line) == {pk for pk, _ in lines}
    # the units reserved per SKU are exactly the accepted orders' units, within the stock
    accepted_units: dict[str, int] = defaultdict(int)
    for outcome in placed:
        for line in carts[outcome.client]:
            accepted_units[line.sku] += line.quantity
    reserved_per_sku = dict(StockLevel.objects.values_list("sku__code").annotate(r=Sum("reserved"))
                            .values_list("sku__code", "r"))
    assert reserved_per_sku == {code: accepted_units.get(code, 0) for code in codes}
    # stock only fell during the race, so each refusal must still be justified now: some line
    # of a refused cart wants more than the whole network has left (no refusal from a lost race)
    left = dict(StockLevel.objects.values_list("sku__code").annotate(
        a=Sum(F("on_hand") - F("reserved"))).values_list("sku__code", "a"))
    for outcome in outcomes:
        if outcome.kind == "short":
            assert any(line.quantity > left[line.sku] for line in carts[outcome.client]), carts[outcome.client]
