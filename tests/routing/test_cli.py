"""`python -m orders.routing solve INSTANCE.json --strategy ...` end to end."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from omnichannel.geo import haversine_km

ROOT = Path(__file__).resolve().parents[2]
COSTS = {"per_shipment": 8.759, "per_unit": 0.423, "per_unit_km": 0.000336, "unfilled_unit_penalty": 50.0}
INSTANCE = {
    "cost_model": COSTS,
    "locations": [
        {"code": "NEAR", "lat": 0.0, "lng": 0.1, "stock": {"A": 1}},
        {"code": "FAR", "lat": 0.0, "lng": 2.0, "stock": {"A": 5}},
    ],
    "orders": [
        {"id": "o1", "lat": 0.0, "lng": 0.0, "lines": [{"sku": "A", "qty": 1}]},
        {"id": "o2", "lat": 0.0, "lng": 0.0, "lines": [{"sku": "A", "qty": 1}]},
        {"id": "o3", "lat": 0.0, "lng": 0.0, "lines": [{"sku": "A", "qty": 5}], "max_shipments": 1},
        {"id": "o4", "lat": 0.0, "lng": 0.0, "lines": [{"sku": "B", "qty": 1}]},
    ],
}


def solve(tmp_path: Path, strategy: str, *extra: str) -> dict:
    path = tmp_path / "instance.json"
    path.write_text(json.dumps(INSTANCE))
    out = subprocess.run(
        [sys.executable, "-m", "orders.routing", "solve", str(path), "--strategy", strategy, *extra],
        cwd=ROOT, capture_output=True, text=True, check=True, timeout=120,
    )
    return json.loads(out.stdout)


@pytest.mark.parametrize("strategy", ["optimal", "rules", "myopic"])
def test_solve_prints_the_plan_and_stock_depletes_in_sequence(tmp_path, strategy):
    result = solve(tmp_path, strategy)
    assert set(result) == {"orders", "total_cost"}
    for entry in result["orders"]:
        assert set(entry) == {"id", "allocations", "unfilled", "unfilled_units", "cost", "solve_ms"}
        assert entry["solve_ms"] >= 0
    near, far = haversine_km(0, 0.1, 0, 0), haversine_km(0, 2.0, 0, 0)
    o1, o2, o3, o4 = result["orders"]
    assert [o["id"] for o in result["orders"]] == ["o1", "o2", "o3", "o4"]
    assert o1["allocations"] == [{"location": "NEAR", "sku": "A", "qty": 1}]
    assert o2["allocations"] == [{"location": "FAR", "sku": "A", "qty": 1}]  # NEAR is empty now
    assert o3["allocations"] == [{"location": "FAR", "sku": "A", "qty": 4}]  # FAR has 4 left
    assert (o3["unfilled"], o3["unfilled_units"]) == ({"A": 1}, 1)
    assert (o4["allocations"], o4["unfilled"], o4["unfilled_units"]) == ([], {"B": 1}, 1)
    assert o1["cost"] == pytest.approx(8.759 + 0.423 + 0.000336 * near, abs=1e-6)
    assert o2["cost"] == pytest.approx(8.759 + 0.423 + 0.000336 * far, abs=1e-6)
    assert o3["cost"] == pytest.approx(8.759 + 4 * (0.423 + 0.000336 * far) + 50.0, abs=1e-6)
    assert o4["cost"] == pytest.approx(50.0)
    assert result["total_cost"] == pytest.approx(sum(o["cost"] for o in result["orders"]), abs=1e-5)


def test_explain_adds_status_breakdown_and_reasons(tmp_path):
    result = solve(tmp_path, "optimal", "--explain")
    o1 = result["orders"][0]
    assert o1["status"] == "optimal"
    assert o1["breakdown"]["unfilled_penalty"] == 0
    assert [(c["location"], c["reason"]) for c in o1["candidates"]] == [("NEAR", "chosen"), ("FAR", "costlier")]
    o2 = result["orders"][1]
    assert [(c["location"], c["reason"]) for c in o2["candidates"]] == [("FAR", "chosen"), ("NEAR", "no_stock")]
