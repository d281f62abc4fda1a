"""Which locations may sell for a sales channel.

A channel's feeding locations (`channels_sync`: `SalesChannel.feeding_locations`) are the
locations whose stock it may sell. The availability and promise APIs show a channel only their
stock; an order from the channel is placed against it and routed among them too, so it never
takes stock the channel was not shown. No feeding locations: every active location.

The channel's buffer is not applied here: it is what the channel is *shown* (held back against
a feed's lag), and an order it sent is one the channel already sold.

`channels_sync` knows a channel's feeds and registers how to read them when its app loads;
dependencies point channels_sync -> orders, so orders asks through this hook. Unregistered
(orders alone), every location may sell.
"""

from __future__ import annotations

from collections.abc import Callable

Reader = Callable[[int], "frozenset[int] | None"]
_reader: Reader | None = None


def selling_locations_register(reader: Reader) -> None:
    global _reader
    _reader = reader


def selling_locations(channel_id: int) -> frozenset[int] | None:
    """The ids of the locations that may sell for the channel; None: every location."""
    return None if _reader is None else _reader(channel_id)


def sells_at(channel_id: int, location_id: int) -> bool:
    selling = selling_locations(channel_id)
    return selling is None or location_id in selling
