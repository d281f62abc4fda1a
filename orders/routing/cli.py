"""`python -m orders.routing solve INSTANCE.json --strategy optimal|rules|myopic`.

Routes the instance's orders in sequence (stock depletes as they go) and prints
{"orders": [{"id", "allocations": [{"location", "sku", "qty"}], "unfilled": {sku: qty},
"unfilled_units", "cost", "solve_ms"}], "total_cost"}. `--explain` adds the solver
status, the cost breakdown and the per-location reasons to each order.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from dataclasses import asdict
from typing import Any

from orders.routing.engine import STRATEGIES, route_orders
from orders.routing.instance import load_instance
from orders.routing.models import DEFAULT_RULES, RoutingOptions, RoutingResult


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m orders.routing", description="Order router")
    sub = parser.add_subparsers(dest="command", required=True)
    solve = sub.add_parser("solve", help="route every order of an instance file")
    solve.add_argument("instance", help="instance JSON file")
    solve.add_argument("--strategy", choices=STRATEGIES, default="optimal")
    solve.add_argument("--rules", default=",".join(DEFAULT_RULES), help="comma-separated rules, for --strategy rules")
    solve.add_argument("--ranking", default="", help="comma-separated location codes, best first (ranked rule)")
    solve.add_argument("--time-limit-ms", type=float, default=500.0)
    solve.add_argument("--explain", action="store_true", help="add status, cost breakdown and reasons")
    return parser


def _order_json(result: RoutingResult, explain: bool) -> dict[str, Any]:
    out: dict[str, Any] = {
        "id": result.order_id,
        "allocations": [{"location": a.location, "sku": a.sku, "qty": a.qty} for a in result.allocations],
        "unfilled": dict(result.unfilled),
        "unfilled_units": result.unfilled_units,
        "cost": round(result.total_cost, 6),
        "solve_ms": round(result.solve_ms, 3),
    }
    if explain:
        out["status"] = result.solver_status
        out["breakdown"] = {k: round(v, 6) for k, v in asdict(result.cost).items()}
        out["candidates"] = [asdict(c) for c in result.candidates]
    return out


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    cost_model, locations, orders = load_instance(args.instance)
    options = RoutingOptions(
        rules=tuple(r for r in args.rules.split(",") if r),
        ranking=tuple(c for c in args.ranking.split(",") if c),
        time_limit_ms=args.time_limit_ms,
        explain=args.explain,
    )
    results = route_orders(orders, locations, cost_model, args.strategy, options)
    payload = {
        "orders": [_order_json(r, args.explain) for r in results],
        "total_cost": round(sum(r.total_cost for r in results), 6),
    }
    json.dump(payload, sys.stdout, indent=2)
    sys.stdout.write("\n")
    return 0
