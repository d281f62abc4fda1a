"""`orders.api.fast_input`: for the usual order body it answers exactly what `OrderIn` would
validate (values, their types, a price's exponent, key order), and for anything else it
answers None, leaving the body and its errors to DRF. No database: this is the serializer.

    FUZZ_EXAMPLES=30000 .venv/bin/python -m pytest tests/test_fast_input.py   # a deeper search"""

from __future__ import annotations

import contextlib
import copy
import os
import random
import sys
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from rest_framework import serializers

from orders.api import fast_input
from orders.api.serializers import OrderIn, order_input
from tests.payloads import json_paths, pickup_order, ship_order

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "bench"))
import ingest  # noqa: E402 - the bench's generator of realistic orders

BASES = [
    ship_order(("RUN-BLK-42", 1), ("TEE-WHT-M", 2), external_id="WEB-1001"),
    ship_order(("8712345000017", 1), method="same_day"),
    pickup_order("ST1", ("RUN-BLK-42", 1)),
    {"delivery_method": "ship", "customer": {"phone": "+31 6 12345678"},
     "address": {"line1": "Kalverstraat 1", "city": "Amsterdam"},
     "lines": [{"sku": "RUN-BLK-42", "quantity": 10000, "unit_price": 0}], "currency": "usd",
     "promise_option": "standard", "promised_by": None},
    {"customer": {"email": "zoe.orsted@example.com", "name": "Zoë Ørsted"},
     "address": {"line1": "Østergade 1", "city": "København", "country": " dk ", "latitude": 55.68, "longitude": 12},
     "lines": [{"sku": "TEE-WHT-M", "quantity": 1, "unit_price": "0.5"}], "external_id": ""},
    ship_order(("RUN-BLK-42", 1)) | {"promised_by": "2027-01-05T18:00:00Z", "promise_option": "next_day"},
]

NASTY_VALUES = [
    None, True, False, 0, 1, -1, 10000, 10001, 2 ** 70, 1.5, -0.0, 90, 90.0001, -180, 1e308, float("nan"), float("-inf"),
    "", " ", "  \t", "\x00", "a\x00b", "\ud800", "x\udfffy", "\u202e", "ß" * 201, "9" * 1001, "NaN", "Infinity",
    "-1", "1e3", "0x10", "12.345", "12.34", "-0.00", "0", "1" * 11 + ".00", "nl", "NL ", "XX", "eur", "EUR ",
    "ship", "pickup", "same_day", "SHIP", "ST1", "a@b", "eva@example.com", " eva@example.com ", "eva@@example.com",
    "2027-01-05T18:00:00Z", [], {}, ["x"], {"a": 1}]
NASTY = st.sampled_from(NASTY_VALUES)
SCALARS = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False), st.text(max_size=30))
JSON = st.recursive(SCALARS, lambda inner: st.one_of(
    st.lists(inner, max_size=3), st.dictionaries(st.text(max_size=8), inner, max_size=3)), max_leaves=6)


def _variants(value) -> list:
    """Values near `value` that DRF may read otherwise: padded, recased, lengthened, as text."""
    if isinstance(value, str):
        return [f" {value} ", value.upper(), value.lower(), value * 40, value + "\x00", value[:1], ""]
    if isinstance(value, bool):
        return [int(value), str(value)]
    if isinstance(value, int | float):
        near = []
        for make in (str, float, lambda v: v + 0.5, lambda v: -v, lambda v: int(v) * 10 ** 6, bool):
            with contextlib.suppress(OverflowError, ValueError):  # too large for a float, or for text
                near.append(make(value))
        return near
    return []


@st.composite
def bodies(draw):
    """A valid body, changed 0-4 times: a value replaced by a near or a nasty one, or any JSON;
    a key dropped; an unknown key added; a line duplicated."""
    body = copy.deepcopy(draw(st.sampled_from(BASES)))
    for _ in range(draw(st.integers(min_value=0, max_value=4))):
        path = draw(st.sampled_from(list(json_paths(body))))
        if not path:
            continue
        parent = body
        for step in path[:-1]:
            parent = parent[step]
        action = draw(st.sampled_from(["near", "near", "nasty", "json", "drop", "add", "more"]))
        current = parent[path[-1]]
        if action == "near" and _variants(current):
            parent[path[-1]] = draw(st.sampled_from(_variants(current)))
        elif action == "nasty":
            parent[path[-1]] = copy.deepcopy(draw(NASTY))
        elif action == "json":
            parent[path[-1]] = draw(JSON)
        elif action == "drop" and isinstance(parent, dict):
            del parent[path[-1]]
        elif action == "add" and isinstance(parent, dict):
            parent[draw(st.sampled_from(["extra", "email", "quantity", "notes"]))] = copy.deepcopy(draw(NASTY))
        elif action == "more" and isinstance(parent, list):
            parent.extend(copy.deepcopy(parent) * draw(st.integers(min_value=1, max_value=60)))
    return body


def _shape(value):
    """A value with every type spelled out: 1 and 1.0 and True differ, so do 2.5 and 2.50."""
    if isinstance(value, dict):
        return ("dict", tuple((key, _shape(item)) for key, item in value.items()))
    if isinstance(value, list):
        return ("list", tuple(_shape(item) for item in value))
    return (type(value).__name__, repr(value))


def _drf(body):
    parsed = OrderIn(data=body)
    return parsed.validated_data if parsed.is_valid() else None


def test_the_fast_path_is_on():
    """Every field of OrderIn is of a kind it compiles: were one added that is not, every body
    would go to DRF, correct but slower; this says so."""
    assert fast_input.ENABLED


@settings(max_examples=round(600 * float(os.environ.get("FUZZ_EXAMPLES", "300")) / 300), deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(bodies())
def test_whatever_it_accepts_drf_accepts_the_same(body):
    fast = fast_input.validated(body)
    event("fast" if fast is not None else "drf")
    if fast is None:
        return
    drf = _drf(body)
    assert drf is not None, body
    assert _shape(fast) == _shape(drf)
    assert repr(order_input(fast)) == repr(order_input(drf))


def _agrees(body) -> bool:
    """Whether the fast path answered (and then, that DRF answered the same)."""
    fast = fast_input.validated(body)
    if fast is None:
        return False
    drf = _drf(body)
    assert drf is not None, body
    assert _shape(fast) == _shape(drf), body
    return True


def test_every_single_change_of_every_field_agrees():
    """Each base body with one value changed, every value in turn: the nasty ones, and those
    near the value there (padded, recased, as text, negated, off by a half, a million times)."""
    taken = changed = 0
    for base in BASES:
        for path in list(json_paths(base))[1:]:
            parent = base
            for step in path[:-1]:
                parent = parent[step]
            for value in [*NASTY_VALUES, *_variants(parent[path[-1]])]:
                body = copy.deepcopy(base)
                target = body
                for step in path[:-1]:
                    target = target[step]
                target[path[-1]] = copy.deepcopy(value)
                changed += 1
                taken += _agrees(body)
    assert changed > 3000
    assert 0.1 < taken / changed < 0.9  # both ways are exercised


def test_usual_bodies_take_it_with_drfs_result():
    """The bench's orders (1-5 lines, many customers, coordinates) and the suite's payloads."""
    orders = ingest.Orders(n_skus=3000, n_customers=500, skew=1.0, seed=11)
    rng = random.Random(5)
    usual = [orders.body(rng, f"EXT-{i}") for i in range(300)] + BASES[:5]
    for body in usual:
        fast = fast_input.validated(body)
        assert fast is not None, body
        assert _shape(fast) == _shape(_drf(body))


@pytest.mark.parametrize("change", [
    lambda b: b["lines"][0].__setitem__("quantity", "2"),        # a number as text: DRF reads it
    lambda b: b["lines"][0].__setitem__("unit_price", 49.95),     # a JSON float price
    lambda b: b["lines"][0].__setitem__("unit_price", ""),        # DRF: blank is null
    lambda b: b["address"].__setitem__("latitude", True),         # DRF: 1.0
    lambda b: b.__setitem__("promised_by", "2027-01-05T18:00:00Z"),
    lambda b: b["customer"].__setitem__("email", "not-an-email"),
    lambda b: b["customer"].__setitem__("name", "x" * 201),
    lambda b: b["address"].__setitem__("longitude", None),        # half a coordinate
    lambda b: b.__setitem__("pickup_location", ""),
    lambda b: b.__setitem__("lines", []),
    lambda b: b.__setitem__("currency", "ECU"),
    lambda b: b["lines"][0].__setitem__("quantity", 0),
    lambda b: b["lines"][0].__setitem__("quantity", 10001),
    lambda b: b["lines"][0].__setitem__("unit_price", "-0.01"),
    lambda b: b["address"].__setitem__("latitude", 90.5),
    lambda b: b["customer"].__setitem__("phone", "06\x0012345678"),
    lambda b: b["address"].__setitem__("line1", "Damrak \udc00"),
])
def test_what_drf_reads_otherwise_or_refuses_goes_to_drf(change):
    body = ship_order(("RUN-BLK-42", 1))
    change(body)
    assert fast_input.validated(body) is None


def test_not_an_object_goes_to_drf():
    for body in (None, [], "order", 1, [ship_order(("RUN-BLK-42", 1))]):
        assert fast_input.validated(body) is None


def test_a_field_of_an_unknown_kind_switches_it_off():
    class NeedsField:
        requires_context = True

        def __call__(self, value, field):
            return None

    class WithUrl(serializers.Serializer):
        sku = serializers.CharField()
        link = serializers.URLField()

    class WithContext(serializers.Serializer):
        sku = serializers.CharField(validators=[NeedsField()])

    class ChoiceWithContext(serializers.Serializer):
        method = serializers.ChoiceField(choices=["ship"], validators=[NeedsField()])

    class PriceWithContext(serializers.Serializer):
        price = serializers.DecimalField(max_digits=6, decimal_places=2, validators=[NeedsField()])

    class WithReadOnlyDefault(serializers.Serializer):
        sku = serializers.CharField()
        source_system = serializers.CharField(read_only=True, default="web")

    class Plain(serializers.Serializer):
        sku = serializers.CharField(max_length=64)
        quantity = serializers.IntegerField(min_value=1)

    for unknown in (WithUrl(), WithContext(), ChoiceWithContext(), PriceWithContext(), WithReadOnlyDefault()):
        with pytest.raises(fast_input._Unsupported):
            fast_input._nested(unknown)
    assert fast_input._nested(Plain())({"sku": " A-1 ", "quantity": 3}) == {"sku": "A-1", "quantity": 3}


def test_a_price_keeps_drfs_exponent():
    body = ship_order(("RUN-BLK-42", 1))
    for given_price, stored in (("49.9", "49.90"), (12, "12.00"), ("-0.00", "0.00"), ("1E+1", "10.00")):
        body["lines"][0]["unit_price"] = given_price
        fast = fast_input.validated(body)
        assert fast is not None
        assert repr(fast["lines"][0]["unit_price"]) == repr(Decimal(stored))
