"""Realistic order payloads as storefronts send them."""

from __future__ import annotations

import copy

DAMRAK = {"name": "Eva de Vries", "line1": "Damrak 70", "city": "Amsterdam", "postal_code": "1012LM",
          "country": "NL", "phone": "+31 20 555 0101", "latitude": 52.3760, "longitude": 4.8970}


def ship_order(*lines: tuple[str, int], external_id: str | None = None, email: str = "eva@example.com",
               method: str = "ship") -> dict:
    body = {"delivery_method": method,
            "customer": {"email": email, "phone": "06 12345678", "name": "Eva de Vries"},
            "address": copy.deepcopy(DAMRAK),
            "lines": [{"sku": sku, "quantity": qty, "unit_price": "49.95"} for sku, qty in lines]}
    if external_id:
        body["external_id"] = external_id
    return body


def pickup_order(location: str, *lines: tuple[str, int], email: str = "sam@example.com") -> dict:
    return {"delivery_method": "pickup", "pickup_location": location,
            "customer": {"email": email, "name": "Sam Jansen"},
            "lines": [{"sku": sku, "quantity": qty} for sku, qty in lines]}


def json_paths(value, prefix=()):
    """Every path (keys and indexes) into a JSON value, the value itself (()) first."""
    yield prefix
    if isinstance(value, dict):
        for key, item in value.items():
            yield from json_paths(item, (*prefix, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from json_paths(item, (*prefix, index))
