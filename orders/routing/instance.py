"""Instance files for the CLI and the benchmark (JSON).

    {"cost_model": {"per_shipment": 8.759, "per_unit": 0.423, "per_unit_km": 0.000336,
                    "unfilled_unit_penalty": 50.0},
     "locations": [{"code": "A", "lat": 52.1, "lng": 4.3, "stock": {"SKU1": 3}}],
     "orders": [{"id": "o1", "lat": 52.0, "lng": 4.9, "lines": [{"sku": "SKU1", "qty": 2}],
                 "max_shipments": 2}]}

Every location loaded from a file can ship. Optional extras, read when present:
cost_model split_penalty / per_kg / per_kg_km / late_penalty; location
remaining_capacity, handling_per_order, handling_per_unit, can_pickup, can_same_day,
ready_at / delivery_at (ISO 8601); order method, pickup_location, deadline (ISO 8601);
line unit_weight_g.
"""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import Any

from orders.routing.models import CandidateLocation, CostModel, OrderLine, RoutingOrder

COST_FIELDS = ("per_shipment", "per_unit", "per_unit_km", "per_kg", "per_kg_km", "unfilled_unit_penalty",
               "split_penalty", "late_penalty")
LOCATION_EXTRAS = ("remaining_capacity", "handling_per_order", "handling_per_unit", "can_pickup", "can_same_day",
                   "processing_hours")


def _when(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


def load_cost_model(data: dict[str, Any]) -> CostModel:
    return CostModel(**{k: data[k] for k in COST_FIELDS if k in data})


def load_location(data: dict[str, Any]) -> CandidateLocation:
    return CandidateLocation(
        code=str(data["code"]),
        lat=float(data["lat"]),
        lng=float(data["lng"]),
        stock={str(sku): int(qty) for sku, qty in data.get("stock", {}).items()},
        can_ship=True,
        ready_at=_when(data.get("ready_at")),
        delivery_at=_when(data.get("delivery_at")),
        **{k: data[k] for k in LOCATION_EXTRAS if k in data},
    )


def load_order(data: dict[str, Any]) -> RoutingOrder:
    lines = tuple(
        OrderLine(str(line["sku"]), int(line["qty"]), line.get("unit_weight_g")) for line in data["lines"]
    )
    return RoutingOrder(
        id=str(data["id"]),
        lines=lines,
        method=data.get("method", "ship"),
        lat=data.get("lat"),
        lng=data.get("lng"),
        pickup_location=data.get("pickup_location"),
        deadline=_when(data.get("deadline")),
        max_shipments=data.get("max_shipments"),
    )


def load_instance(path: str | Path) -> tuple[CostModel, list[CandidateLocation], list[RoutingOrder]]:
    """Read an instance file into the engine's dataclasses."""
    data = json.loads(Path(path).read_text())
    return (
        load_cost_model(data.get("cost_model", {})),
        [load_location(loc) for loc in data["locations"]],
        [load_order(order) for order in data["orders"]],
    )
