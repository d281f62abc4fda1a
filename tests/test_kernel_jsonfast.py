"""`omnichannel.jsonfast`: orjson where it writes what the standard library writes, the
standard library where it would not; either way the same document, or the same TypeError."""

from __future__ import annotations

import dataclasses
import json
import uuid
from datetime import UTC, datetime
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from channels_sync.models import InboundMessage
from omnichannel import jsonfast
from omnichannel.inserts import insert_all
from tests.conftest import requires_postgres

scalars = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | st.text()
keys = st.text() | st.integers(min_value=-10**6, max_value=10**6) | st.booleans() | st.none()
documents = st.recursive(scalars, lambda inner: st.lists(inner, max_size=4) | st.dictionaries(keys, inner, max_size=4),
                         max_leaves=20)


@settings(max_examples=300, deadline=None)
@given(documents)
def test_any_document_reads_back_as_the_standard_librarys(value):
    assert json.loads(jsonfast.dumps(value)) == json.loads(json.dumps(value))


@settings(max_examples=200, deadline=None)
@given(documents)
def test_the_round_trip_is_the_standard_librarys(value):
    assert jsonfast.round_trip(value) == json.loads(json.dumps(value, default=str))


def test_what_orjson_writes_otherwise_goes_the_standard_librarys_way():
    huge = {"n": 10**30, "m": [-(10**25)]}  # beyond 64 bits: orjson refuses, json writes it
    assert json.loads(jsonfast.dumps(huge)) == huge
    assert jsonfast.dumps({"s": "\ud800"}) == json.dumps({"s": "\ud800"})  # a lone surrogate: json's escape
    keyed = {1: "a", None: "b", False: "c", 2.5: "d"}
    assert json.loads(jsonfast.dumps(keyed)) == json.loads(json.dumps(keyed)) == {
        "1": "a", "null": "b", "false": "c", "2.5": "d"}


@dataclasses.dataclass
class Point:
    x: int


@pytest.mark.parametrize("value", [datetime(2026, 12, 1, tzinfo=UTC), Decimal("1.50"), Point(1), {1, 2}])
def test_what_the_standard_library_refuses_is_still_refused(value):
    with pytest.raises(TypeError):
        json.dumps({"v": value})
    with pytest.raises(TypeError):
        jsonfast.dumps({"v": value})


def test_the_round_trip_writes_other_types_as_text_as_before():
    value = {"at": datetime(2026, 12, 1, 12, 30, tzinfo=UTC), "amount": Decimal("49.95"), "id": uuid.UUID(int=7),
             "n": 10**30}
    assert jsonfast.round_trip(value) == json.loads(json.dumps(value, default=str))
    assert jsonfast.round_trip(value)["at"] == "2026-12-01 12:30:00+00:00"  # str(), not an ISO 'T'


@requires_postgres
@pytest.mark.django_db
def test_a_stored_payload_reads_back_whole(web_channel):
    payload = {"lines": [{"sku": "RUN-1", "quantity": 2, "unit_price": "49.95"}], "customer": {"name": "Zoë ✓"},
               "big": 10**30, "nested": {"1": [None, True, 1.5]}}
    (message,) = insert_all([InboundMessage(channel=web_channel, source="api", payload=payload)])
    assert InboundMessage.objects.get(pk=message.pk).payload == payload
