"""The same problem as an OR-Tools CP-SAT model, kept as an independent cross-check.

It is exact in scaled integers: every cost coefficient is multiplied by SCALE and
rounded, so each coefficient is within 0.5 / SCALE (5e-5) of the float cost. It is much
slower than the branch and bound at network scale (see docs/benchmarks.md), so the
engine only uses it when asked (`RoutingOptions(backend="cpsat")`).
"""

from __future__ import annotations

from ortools.sat.python import cp_model

from orders.routing.optimal import SearchResult
from orders.routing.problem import Problem

SCALE = 10_000


def _scaled(value: float) -> int:
    return round(value * SCALE)


def solve_cpsat(p: Problem, time_limit_ms: float, workers: int = 2) -> SearchResult:
    """Minimise opening + unit + unfilled costs with at most `max_locations` locations."""
    model = cp_model.CpModel()
    open_ = [model.new_bool_var(f"open_{i}") for i in range(p.n)]
    objective = [_scaled(p.fixed[i]) * open_[i] for i in range(p.n)]
    for s in range(p.k):
        served = []
        for i in range(p.n):
            cap = int(p.cap[i, s])
            if cap <= 0:
                continue
            x = model.new_int_var(0, cap, f"x_{i}_{s}")
            model.add(x <= cap * open_[i])
            served.append(x)
            objective.append(_scaled(p.unit[i, s]) * x)
        short = model.new_int_var(0, int(p.qty[s]), f"short_{s}")
        model.add(sum(served) + short == int(p.qty[s]))
        objective.append(_scaled(p.penalty) * short)
    model.add(sum(open_) <= p.max_locations)
    if p.split_penalty and p.n:
        any_open = model.new_bool_var("any_open")
        model.add(any_open <= sum(open_))
        objective.append(-_scaled(p.split_penalty) * any_open)
    model.minimize(sum(objective))
    solver = cp_model.CpSolver()
    solver.parameters.max_time_in_seconds = max(0.001, time_limit_ms / 1000.0)
    solver.parameters.num_workers = workers
    code = solver.solve(model)
    status = {cp_model.OPTIMAL: "optimal", cp_model.FEASIBLE: "time_limit"}.get(code, "failed")
    if status == "failed":
        return SearchResult([], float("nan"), status, 0)
    chosen = [i for i in range(p.n) if solver.boolean_value(open_[i])]
    return SearchResult(chosen, solver.objective_value / SCALE, status, int(solver.num_branches))
