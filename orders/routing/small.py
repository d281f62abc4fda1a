"""Small problems in plain Python: the exact search's root, and the explanations' prices.

A store network's order usually has a handful of eligible locations and a few lines. At
that size the branch and bound (`optimal.py`) spends its time in numpy's per-call
overhead, not in arithmetic: on the orders of `bench/ingest.py` (2-10 eligible locations,
1-5 lines) it took 0.53 ms an order where the loops below take 0.05.

`solve_small` does what the search does first, with the same ties: price every one-location
plan, then every two-location plan (in index order, a later plan replacing the incumbent
only when cheaper by more than EPS), and stop as soon as the root bound proves that no
plan with more locations can be cheaper. The bound is the branch and bound's, taken over
every eligible location. When it cannot prove the optimum after two locations it returns
None and the caller runs the full search. The prices are the same greedy fill as
`problem.set_cost` (each line from the set's cheapest units), so a plan's cost is exact.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from typing import cast

import numpy as np

from orders.routing.problem import EPS, Problem

MAX_LOCATIONS = 12  # eligible locations at most: 66 pairs to price
MAX_LINES = 12


def fits(p: Problem) -> bool:
    return p.n <= MAX_LOCATIONS and p.k <= MAX_LINES


class SmallProblem:
    """The problem's arrays as Python lists, with plan prices."""

    def __init__(self, p: Problem) -> None:
        self.n, self.k, self.max_locations = p.n, p.k, p.max_locations
        self.q: list[int] = p.qty.tolist()
        self.fixed: list[float] = p.fixed.tolist()
        self.unit: list[list[float]] = p.unit.tolist()
        self.cap: list[list[int]] = p.cap.tolist()
        self.penalty = p.penalty
        self.split = p.split_penalty

    def single(self, a: int) -> float:
        ua, ca, penalty = self.unit[a], self.cap[a], self.penalty
        total = self.fixed[a] - self.split
        for s, need in enumerate(self.q):
            take = ca[s] if ca[s] < need else need
            total += take * ua[s] + (need - take) * penalty
        return total

    def pair(self, a: int, b: int) -> float:
        """a < b: on a line where both cost the same, a's units go first."""
        ua, ca, ub, cb, penalty = self.unit[a], self.cap[a], self.unit[b], self.cap[b], self.penalty
        total = self.fixed[a] + self.fixed[b] - self.split
        for s, need in enumerate(self.q):
            if ub[s] < ua[s]:
                u1, c1, u2, c2 = ub[s], cb[s], ua[s], ca[s]
            else:
                u1, c1, u2, c2 = ua[s], ca[s], ub[s], cb[s]
            take = c1 if c1 < need else need
            total += take * u1
            need -= take
            take = c2 if c2 < need else need
            total += take * u2 + (need - take) * penalty
        return total

    def price(self, chosen: Sequence[int]) -> float:
        """Cost of a set: every line from its cheapest units (ties by index), the rest unfilled."""
        if not chosen:
            return float(sum(self.q)) * self.penalty
        if len(chosen) == 1:
            return self.single(chosen[0])
        if len(chosen) == 2:
            return self.pair(*sorted(chosen))
        unit, cap = self.unit, self.cap
        total = sum(self.fixed[i] for i in chosen) - self.split
        for s, need in enumerate(self.q):
            for i in sorted(chosen, key=lambda i: (unit[i][s], i)):
                take = min(need, cap[i][s])
                total += take * unit[i][s]
                need -= take
                if need == 0:
                    break
            total += need * self.penalty
        return total

    def bound(self, size: int) -> float:
        """Lower bound on the cost of any plan of `size` or more locations (inf: none allowed).

        The branch and bound's root bound: the cheapest filling of every line from all
        locations, plus the `t` cheapest openings, plus, since `t` locations cover at most
        their `t` largest gains, the fillable units beyond that left unfilled, each at
        least (penalty - dearest unit cost) above the fill."""
        n, penalty = self.n, self.penalty
        room = min(self.max_locations, n)
        if room < size:
            return float("inf")
        fill = 0.0
        fillable: list[int] = []
        dearest = None
        for s, need in enumerate(self.q):
            holders = sorted((i for i in range(n) if self.cap[i][s] > 0), key=lambda i: (self.unit[i][s], i))
            left = need
            for i in holders:
                u = self.unit[i][s]
                dearest = u if dearest is None or u > dearest else dearest
                take = min(left, self.cap[i][s])
                fill += take * u
                left -= take
            fill += left * penalty
            fillable.append(need - left)
        per_unfilled = penalty - (penalty if dearest is None else dearest)
        gains = sorted((sum(min(c, f) for c, f in zip(self.cap[i], fillable, strict=True)) for i in range(n)),
                       reverse=True)
        openings = sorted(self.fixed)
        total_fillable = sum(fillable)
        best = float("inf")
        gained = opened = 0.0
        for t in range(1, room + 1):
            gained += gains[t - 1]
            opened += openings[t - 1]
            if t >= size:
                best = min(best, opened + max(total_fillable - gained, 0.0) * per_unfilled)
        return -self.split + fill + best


def solve_small(p: Problem) -> tuple[list[int], float] | None:
    """The optimal set and its cost when one or two locations can be proven to suffice,
    else None."""
    sp = SmallProblem(p)
    best: list[int] = []
    best_cost = sp.price([])
    most = min(p.max_locations, p.n)
    if most >= 1:
        for a in range(p.n):
            cost = sp.single(a)
            if cost < best_cost - EPS:
                best, best_cost = [a], cost
    if sp.bound(2) >= best_cost - EPS:
        return best, best_cost
    for a, b in itertools.combinations(range(p.n), 2):
        cost = sp.pair(a, b)
        if cost < best_cost - EPS:
            best, best_cost = [a, b], cost
    if sp.bound(3) >= best_cost - EPS:
        return best, best_cost
    return None


def cost_deltas_small(p: Problem, x: np.ndarray, base: float) -> np.ndarray:
    """`explain.cost_deltas` in plain Python: per location not used by `x`, the cheapest plan
    that adds it to the used set or swaps it for one of them, minus `base` (inf where no
    such plan is allowed, and for the used locations)."""
    sp = SmallProblem(p)
    used = cast(list[bool], x.any(axis=1).tolist())
    chosen = [i for i in range(p.n) if used[i]]
    bases = [chosen] if len(chosen) < p.max_locations else []
    bases += [[i for i in chosen if i != j] for j in chosen]
    inf = float("inf")
    out = [inf] * p.n
    if bases:
        for u in range(p.n):
            if not used[u]:
                out[u] = min(sp.price([*b, u]) for b in bases)
    return np.array(out, dtype=float) - base
