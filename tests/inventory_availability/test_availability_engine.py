"""The availability maths (inventory.engine.availability), without a database."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from inventory.engine.availability import (
    ChannelBuffer,
    ChannelFeed,
    available_from,
    channel_totals,
    nearest_within,
    sku_view,
)
from omnichannel.geo import haversine_km


@pytest.mark.parametrize(("quantities", "expected"), [
    ((10, 0, 0, 0, 0), 10),
    ((10, 3, 2, 1, 1), 3),
    ((10, 4, 6, 0, 0), 0),
    ((5, 2, 10, 0, 0), 0),  # safety stock above what is left: never below zero
    ((0, 0, 0, 0, 0), 0),
])
def test_available_is_on_hand_minus_held_states_never_negative(quantities, expected):
    assert available_from(*quantities) == expected


@pytest.mark.parametrize(("available", "units", "percent", "sellable"), [
    (10, 0, "0", 10),
    (10, 2, "0", 8),
    (10, 0, "25", 7),       # 7.5 rounds down
    (10, 2, "25", 6),       # units first (8 left), then 25 % of those (6.0)
    (7, 0, "15", 5),        # 5.95 rounds down
    (1, 0, "10", 0),        # any percent holds back a lone unit
    (3, 5, "0", 0),         # more buffer units than stock
    (100, 0, "12.5", 87),   # 87.5
    (100, 0, "33.33", 66),  # 66.67, hundredths of a percent are exact
    (100, 0, "100", 0),
    (100, 0, "150", 0),     # clamped to 100 %
    (0, 0, "0", 0),
])
def test_buffer_takes_units_then_percent_and_rounds_down(available, units, percent, sellable):
    assert ChannelBuffer.of(units, Decimal(percent)).apply(available) == sellable


def test_buffer_percent_is_kept_in_hundredths():
    assert ChannelBuffer.of(2, Decimal("12.34")) == ChannelBuffer(units=2, hundredths=1234)
    assert ChannelBuffer.of(0, Decimal("-5")) == ChannelBuffer(units=0, hundredths=0)


def test_a_feed_without_locations_sees_every_location_and_one_with_locations_only_those():
    everywhere = ChannelFeed("web")
    two = ChannelFeed("app", location_ids=frozenset({1, 2}))
    assert [everywhere.sellable(loc, 5) for loc in (1, 2, 3)] == [5, 5, 5]
    assert [two.sellable(loc, 5) for loc in (1, 2, 3)] == [5, 5, 0]


def test_network_view_is_raw_and_channel_view_is_fed_and_buffered_per_location():
    raw = {1: 10, 2: 3, 3: 8}
    feed = ChannelFeed("web", ChannelBuffer.of(1, Decimal("50")), frozenset({1, 2}))
    assert sku_view(raw, None) == {1: 10, 2: 3, 3: 8}
    assert sku_view(raw, feed) == {1: 4, 2: 1}  # (10-1)*0.5=4.5 -> 4, (3-1)*0.5 = 1; 3 does not feed it


def test_channel_totals_sum_buffered_locations_not_a_buffered_total():
    raw = {1: 10, 2: 10}
    feeds = [ChannelFeed("units", ChannelBuffer.of(3, 0)), ChannelFeed("percent", ChannelBuffer.of(0, 20)),
             ChannelFeed("only2", location_ids=frozenset({2}))]
    # per location: 7 + 7 = 14 (a buffer of 3 on the total would give 17); 8 + 8 = 16; 10
    assert channel_totals(raw, feeds) == {"units": 14, "percent": 16, "only2": 10}


def test_nearest_within_sorts_by_distance_and_drops_what_is_outside_the_radius():
    origin = (52.3731, 4.8926)  # Dam square
    places = [(3, 52.408, 4.780), (1, 52.3702, 4.8910), (2, 52.3530, 4.8950), (4, 50.8514, 5.6910)]
    found = nearest_within(places, origin, 10.0)
    assert [d.location_id for d in found] == [1, 2, 3]
    assert found[0].distance_km == haversine_km(52.3731, 4.8926, 52.3702, 4.8910)
    assert [d.location_id for d in nearest_within(places, origin, 1.0)] == [1]


def test_nearest_within_breaks_distance_ties_by_location_id():
    same = [(9, 52.0, 5.0), (4, 52.0, 5.0)]
    assert [d.location_id for d in nearest_within(same, (52.0, 5.0), 1)] == [4, 9]


@given(raw=st.dictionaries(st.integers(1, 40), st.integers(-5, 80), max_size=40),
       units=st.integers(0, 10), percent=st.decimals(0, 100, places=2),
       feeding=st.none() | st.frozensets(st.integers(1, 40)))
def test_a_channel_total_is_the_sum_of_its_view(raw, units, percent, feeding):
    feed = ChannelFeed("web", ChannelBuffer.of(units, percent), feeding)
    assert feed.total(raw) == sum(feed.view(raw).values())
