"""Why each location was or was not used, in words ops staff can act on.

Screened-out locations carry the screening reason. For eligible locations that were
not used we give a price: `cost_delta` is the cost of the cheapest plan we can build
with that location (the chosen plan plus it, or the chosen plan with one location
swapped for it, each allocated cheapest-units-first) minus the cost of the chosen plan.
It is cheap (one numpy pass per chosen location) and an upper bound on the true extra
cost of forcing the location in; with a proven `optimal` plan it is never negative.
With `rules` or `myopic` it can be negative: the strategy preferred something else
although it was dearer. With a rate card (shipping_fn) deltas use its linear proxy.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from orders.routing.heuristics import RulePlan, plan_cost
from orders.routing.models import RULE_NAMES, CandidateReport
from orders.routing.optimal import extension_costs
from orders.routing.problem import Problem
from orders.routing.small import cost_deltas_small, fits

RULE_WORDS = {
    "fill": "plans with it fill fewer units",
    "ranked": "plans with it use lower-ranked locations",
    "min_splits": "plans with it need more shipments",
    "closest": "plans with it travel more unit-km",
    "cheapest": "plans with it cost more",
    "most_stock": "plans with it draw on less stocked locations",
    "code": "tie broken by location code",
}


def cost_deltas(p: Problem, x: np.ndarray) -> np.ndarray:
    """Per eligible location: cheapest add-or-swap plan with it, minus the chosen plan."""
    base = plan_cost(p, x)
    return cost_deltas_small(p, x, base) if fits(p) else cost_deltas_batched(p, x, base)


def cost_deltas_batched(p: Problem, x: np.ndarray, base: float) -> np.ndarray:
    """`cost_deltas` priced in numpy batches (for problems too large for `small.py`)."""
    chosen = [int(i) for i in np.flatnonzero(x.sum(axis=1) > 0)]
    free = np.array([i for i in range(p.n) if i not in chosen], dtype=np.int64)
    best = np.full(p.n, np.inf)
    if len(free) == 0:
        return best - base
    if len(chosen) < p.max_locations:
        best[free] = extension_costs(p, chosen, free)
    for j in chosen:
        rest = [i for i in chosen if i != j]
        best[free] = np.minimum(best[free], extension_costs(p, rest, free))
    return best - base


def _units_text(p: Problem, row: list[int]) -> str:
    parts = [f"{sku} x{units}" for sku, units in zip(p.skus, row, strict=True) if units > 0]
    return "ships " + ", ".join(parts)


# Said of the chosen locations when the address has no coordinates: why distance did not decide.
UNKNOWN_DISTANCE = "distance unknown (the address has no coordinates): no distance cost, distance did not decide"


def _loser_text(strategy: str, delta: float, rule_detail: str | None, distance_known: bool) -> tuple[str, str]:
    if strategy == "optimal":
        return "costlier", f"using it costs {delta:.2f} more (added to the plan or swapped in)"
    if strategy == "rules":
        return "not_selected", rule_detail or "not in any plan the rules compared"
    if not distance_known:
        return "not_selected", "distance unknown: locations earlier in the list were used first"
    return "not_selected", "nearer locations were used first"


def rule_details(p: Problem, pool: Sequence[RulePlan], rules: Sequence[str]) -> dict[int, str]:
    """For each location in some compared plan: the first rule on which its best plan lost."""
    if not pool:
        return {}
    names = ["fill", *[r for r in rules if r in RULE_NAMES], "code"]
    winner = pool[0].key
    out: dict[int, str] = {}
    for plan in pool[1:]:
        for i in plan.chosen:
            if i in out or i in pool[0].chosen:
                continue
            pos = next((j for j, (a, b) in enumerate(zip(plan.key, winner, strict=True)) if a != b), len(names) - 1)
            out[i] = f"lost on {names[pos]}: {RULE_WORDS[names[pos]]}"
    return out


def explain(
    p: Problem, x: np.ndarray, strategy: str, pool: Sequence[RulePlan] = (), rules: Sequence[str] = ()
) -> tuple[CandidateReport, ...]:
    """Reports for every candidate: chosen first, then eligible by delta, then screened out."""
    deltas = cost_deltas(p, x).tolist() if p.n else []
    details = rule_details(p, pool, rules) if strategy == "rules" else {}
    chosen, losers = [], []
    rows, kms = x.tolist(), p.km.tolist()
    for i, loc in enumerate(p.locations):
        km = round(kms[i], 3) if p.distance_known else None
        if any(rows[i]):
            text = _units_text(p, rows[i]) if p.distance_known else f"{_units_text(p, rows[i])}; {UNKNOWN_DISTANCE}"
            chosen.append(CandidateReport(loc.code, "chosen", text, km=km))
            continue
        delta = deltas[i] if math.isfinite(deltas[i]) else None
        reason, text = _loser_text(strategy, delta or 0.0, details.get(i), p.distance_known)
        if delta is None:
            text = "cannot be added: the plan already uses the maximum number of shipments"
        losers.append(CandidateReport(loc.code, reason, text, km=km, cost_delta=None if delta is None else round(delta, 4)))
    losers.sort(key=lambda r: (r.cost_delta is None, r.cost_delta or 0.0, r.location))
    rejected = sorted(p.rejected, key=lambda r: (r.km is None, r.km or 0.0, r.location))
    return (*chosen, *losers, *rejected)
