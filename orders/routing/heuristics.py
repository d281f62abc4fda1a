"""The two non-exact strategies: `myopic` (baseline) and `rules` (Shopify-style).

`rules` compares whole plans lexicographically: first by units filled (always fill as
much as possible), then by each configured rule in order, each one only breaking the
ties the previous ones left, and finally by location codes so results are stable.

Per plan, the rules read:
  ranked      sorted ranks of the locations used (position in `ranking`; unlisted after);
              prefers plans built from the top of the list
  min_splits  number of locations used
  closest     units x km, summed over the plan
  cheapest    plan cost under the cost model
  most_stock  minus the on-hand units (of the ordered SKUs) at the locations used

Plans compared (the pool):
  * every minimum-size set of locations that fills all fillable units, when min_splits
    is configured (exact set cover by depth-first search on the line with the fewest
    holders; capped at COVER_CAP sets and COVER_NODE_BUDGET nodes, found in rule order,
    so the cap keeps the preferred ones);
  * for each location-level rule, and for all rules combined, the greedy plan taking
    locations in that order while they add units;
  * the greedy max-coverage plan (location adding the most units first).
Within a plan every line is filled in the combined rule order of its locations.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from orders.routing.problem import Problem, fill

COVER_CAP = 100
COVER_NODE_BUDGET = 5_000


@dataclass(frozen=True)
class RulePlan:
    chosen: tuple[int, ...]
    alloc: np.ndarray
    key: tuple


def solve_myopic(p: Problem) -> np.ndarray:
    """Each line from the nearest location holding it, spilling to the next nearest.

    Respects max_shipments by not opening a new location once the limit is reached.
    """
    order = [int(i) for i in np.argsort(p.km, kind="stable")]
    x = np.zeros((p.n, p.k), dtype=np.int64)
    used: set[int] = set()
    for s in range(p.k):
        need = int(p.qty[s])
        for i in order:
            if need == 0:
                break
            if p.cap[i, s] == 0 or (i not in used and len(used) >= p.max_locations):
                continue
            take = min(need, int(p.cap[i, s]))
            x[i, s] = take
            need -= take
            used.add(i)
    return x


def location_keys(p: Problem, rule: str, ranking: Sequence[str]) -> list:
    """Per-location sort key for one rule (lower is preferred)."""
    if rule == "ranked":
        pos = {code: r for r, code in enumerate(ranking)}
        return [pos.get(loc.code, len(ranking)) for loc in p.locations]
    if rule == "closest":
        return [round(float(v), 6) for v in p.km]
    if rule == "cheapest":
        units = np.maximum(p.cap.sum(axis=1), 1)
        per_unit = (p.fixed + (p.unit * p.cap).sum(axis=1)) / units
        return [round(float(v), 6) for v in per_unit]
    if rule == "most_stock":
        return [-int(v) for v in p.on_hand.sum(axis=1)]
    return [0] * p.n


def greedy_in_order(p: Problem, order: Sequence[int]) -> tuple[int, ...]:
    """Take locations in `order` while they add units, up to max_locations."""
    residual = p.qty.copy()
    chosen: list[int] = []
    for i in order:
        if len(chosen) >= p.max_locations or not residual.any():
            break
        got = np.minimum(p.cap[i], residual)
        if got.any():
            chosen.append(i)
            residual -= got
    return tuple(chosen)


def greedy_coverage(p: Problem, rank: dict[int, int]) -> tuple[int, ...]:
    """Classic greedy set cover: the location adding the most units first."""
    residual = p.qty.copy()
    chosen: list[int] = []
    while len(chosen) < p.max_locations and residual.any():
        gains = np.minimum(p.cap, residual[None, :]).sum(axis=1)
        gains[chosen] = 0
        best = max(range(p.n), key=lambda i: (gains[i], -rank[i]), default=None)
        if best is None or gains[best] == 0:
            break
        chosen.append(best)
        residual -= np.minimum(p.cap[best], residual)
    return tuple(chosen)


class CoverSearch:
    """All minimum-size sets that fill every fillable unit (bounded enumeration)."""

    def __init__(self, p: Problem, rank: dict[int, int]) -> None:
        self.p = p
        self.target = np.minimum(p.qty, p.cap.sum(axis=0)) if p.n else p.qty * 0
        self.holders = [sorted(np.flatnonzero(p.cap[:, s] > 0).tolist(), key=rank.__getitem__) for s in range(p.k)]
        self.rank = rank
        self.found: list[tuple[int, ...]] = []
        self.nodes = 0

    def run(self) -> list[tuple[int, ...]]:
        if not self.target.any():
            return []
        for size in range(1, self.p.max_locations + 1):
            self.walk([], self.target.copy(), set(), size)
            if self.found or self.nodes > COVER_NODE_BUDGET:
                break
        return self.found

    def walk(self, chosen: list[int], residual: np.ndarray, banned: set[int], size: int) -> None:
        self.nodes += 1
        if len(self.found) >= COVER_CAP or self.nodes > COVER_NODE_BUDGET:
            return
        if not residual.any():
            self.found.append(tuple(chosen))
            return
        slots = size - len(chosen)
        open_ = [i for i in range(self.p.n) if i not in banned and i not in chosen]
        gains = np.minimum(self.p.cap[open_], residual[None, :]).sum(axis=1) if open_ else np.zeros(0)
        if not open_ or gains.max() * slots < residual.sum():
            return
        if slots == 1:
            full = sorted((open_[j] for j in np.flatnonzero(gains == residual.sum())), key=self.rank.__getitem__)
            self.found.extend((*chosen, i) for i in full[: COVER_CAP - len(self.found)])
            return
        self.branch(chosen, residual, banned, size)

    def branch(self, chosen: list[int], residual: np.ndarray, banned: set[int], size: int) -> None:
        lines = np.flatnonzero(residual > 0)
        options = {int(s): [i for i in self.holders[s] if i not in banned and i not in chosen] for s in lines}
        s = min(options, key=lambda line: (len(options[line]), line))
        added: list[int] = []
        for h in options[s]:
            self.walk([*chosen, h], residual - np.minimum(self.p.cap[h], residual), banned, size)
            banned.add(h)
            added.append(h)
        banned.difference_update(added)


def plan_key(p: Problem, rules: Sequence[str], chosen: Sequence[int], x: np.ndarray, rank_pos: list) -> tuple:
    """Lexicographic key of a plan: filled units first, then the rules, then codes."""
    parts: list = [-int(x.sum())]
    for rule in rules:
        if rule == "ranked":
            parts.append(tuple(sorted(rank_pos[i] for i in chosen)))
        elif rule == "min_splits":
            parts.append(len(chosen))
        elif rule == "closest":
            parts.append(round(float((x.sum(axis=1) * p.km).sum()), 6))
        elif rule == "cheapest":
            parts.append(round(plan_cost(p, x), 6))
        elif rule == "most_stock":
            parts.append(-int(p.on_hand[list(chosen)].sum()))
    parts.append(tuple(sorted(p.locations[i].code for i in chosen)))
    return tuple(parts)


def plan_cost(p: Problem, x: np.ndarray) -> float:
    """Array-priced cost of an allocation (same as breakdown() for linear models)."""
    used = np.flatnonzero(x.sum(axis=1) > 0)
    unfilled = float((p.qty - x.sum(axis=0)).sum()) * p.penalty
    opened = float(p.fixed[used].sum()) - (p.split_penalty if len(used) else 0.0)
    return opened + float((x * p.unit).sum()) + unfilled


def rule_pool(p: Problem, rules: Sequence[str], ranking: Sequence[str]) -> list[RulePlan]:
    """Build and rank the candidate plans; the first one is the winner."""
    level = [r for r in rules if r != "min_splits"]
    keys = {r: location_keys(p, r, ranking) for r in level}
    combined = sorted(range(p.n), key=lambda i: (*[keys[r][i] for r in level], p.locations[i].code))
    rank = {i: pos for pos, i in enumerate(combined)}
    sets: set[tuple[int, ...]] = {greedy_in_order(p, combined), greedy_coverage(p, rank)}
    for r in level:
        own = keys[r]
        sets.add(greedy_in_order(p, sorted(range(p.n), key=lambda i: (own[i], rank[i]))))
    if "min_splits" in rules:
        sets.update(CoverSearch(p, rank).run())
    rank_pos = location_keys(p, "ranked", ranking)
    plans = []
    for chosen in sets:
        ordered = sorted(chosen, key=rank.__getitem__)
        x = fill(p, ordered, order=ordered)
        used = tuple(i for i in ordered if x[i].any())
        plans.append(RulePlan(used, x, plan_key(p, rules, used, x, rank_pos)))
    plans.sort(key=lambda plan: plan.key)
    return plans
