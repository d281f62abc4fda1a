"""Exact minimum-cost routing: a custom branch and bound over sets of locations.

Why not a MIP: the fixed cost of a parcel dwarfs the distance term, so many location
sets cost nearly the same and a solver must close a wide gap by branching. On 10-line
orders over 200 locations with thin, evenly spread stock, CP-SAT (1 worker) did not
prove the optimum within 1 s, and HiGHS / SCIP / CBC (OR-Tools linear solver) took
0.4-0.7 s at the median, 4-9 s at p99. This search exploits the structure instead:

* For a fixed set of locations the best allocation is greedy per line (cheapest units
  first), so only the set is searched; costs are exact floats (no scaling).
* Dominated locations are dropped: b is dominated by a when a costs no more to open,
  holds the full quantity of every line where b could still help, and is no dearer per
  unit there; moving b's units to a never costs more. At the root "could help" means
  "holds stock"; deeper, lines the chosen locations already serve more cheaply drop out,
  so most locations go. A fixed rank order keeps these exclusions acyclic.
* Every one- and two-location plan is priced in one numpy batch, which usually proves
  the optimum at once: three or more locations cost at least the three cheapest
  openings plus the cheapest possible filling of every line, plus a coverage term
  (t locations cover at most their t largest gains; the rest stays unfilled).
* Otherwise: a local search (add / drop / swap one or two) improves the incumbent,
  then iterative deepening on the number of locations runs a depth-first search that
  branches on the uncovered line with the fewest holders (siblings exclude the earlier
  holders, so every set is visited once). Each node prices all its one- and
  two-location extensions in numpy batches and prunes with the bounds above.

* A small problem (at most 12 eligible locations and 12 lines, a store network's usual
  order) first gets the root in plain Python (`small.py`): at that size numpy's per-call
  overhead is most of the time. When one or two locations are proven to suffice, that is
  the answer; otherwise the search below runs as usual.

The answer is optimal to ~1e-9 cost units when the search completes (status
"optimal"). On the time limit the best plan found so far is returned (status
"time_limit"): at worst the local optimum that seeded the search.
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from orders.routing.problem import EPS, Problem
from orders.routing.small import fits, solve_small

PAIR_LIMIT = 4_000_000  # pairs x lines x price levels priced in one numpy batch


@dataclass
class SearchResult:
    chosen: list[int]
    cost: float
    status: str
    nodes: int


def preference_rank(p: Problem) -> np.ndarray:
    """A fixed total order (opening cost, mean unit cost, index) over locations.

    A location is only ever excluded in favour of one earlier in this order, so chains
    of "replace b by its dominator" always end and an optimal plan survives.
    """
    mean_unit = p.unit.mean(axis=1) if p.k else np.zeros(p.n)
    order = np.lexsort((np.arange(p.n), mean_unit, p.fixed))
    rank = np.empty(p.n, dtype=np.int64)
    rank[order] = np.arange(p.n)
    return rank


def dominated_among(
    p: Problem, useful: np.ndarray, dominators: np.ndarray, targets: np.ndarray, rank: np.ndarray
) -> np.ndarray:
    """Targets that can be dropped: useless ones, and those another location dominates.

    `useful[b, s]` says b's units could still matter on line s. b is dominated by a
    when a is earlier in `rank`, costs no more to open, holds the full quantity of
    every line useful to b and is no dearer per unit there: moving b's units to a never
    costs more. Line bitmasks find the candidate pairs, so this stays cheap.
    """
    bits = np.int64(1) << np.arange(p.k, dtype=np.int64)
    need = (useful[targets] * bits).sum(axis=1)
    full = ((p.cap[dominators] >= p.qty[None, :]) * bits).sum(axis=1)
    pair = ((full[:, None] & need[None, :]) == need[None, :]) & (rank[dominators][:, None] < rank[targets][None, :])
    pair &= p.fixed[dominators][:, None] <= p.fixed[targets][None, :]
    a, b = np.nonzero(pair)
    ok = (~useful[targets[b]] | (p.unit[dominators[a]] <= p.unit[targets[b]])).all(axis=1)
    hit = np.zeros(len(targets), dtype=bool)
    hit[b[ok]] = True
    hit |= (need == 0) & (p.fixed[targets] >= 0)
    return targets[hit]


def segments(p: Problem, chosen: Sequence[int]) -> tuple[float, np.ndarray, np.ndarray]:
    """Cost of `chosen` and, per line, its used unit prices (dearest first) with amounts.

    Row 0 is the unfilled units at the penalty (the dearest price), then the chosen
    locations' units from dearest to cheapest; rows may hold 0 units.
    """
    q = p.qty.astype(float)
    if not chosen:
        return float(q.sum()) * p.penalty, np.full((1, p.k), p.penalty), q[None, :].copy()
    idx = np.asarray(chosen, dtype=np.int64)
    order = np.argsort(p.unit[idx], axis=0, kind="stable")
    unit = np.take_along_axis(p.unit[idx], order, axis=0)
    cap = np.take_along_axis(p.cap[idx].astype(float), order, axis=0)
    take = np.clip(q[None, :] - (np.cumsum(cap, axis=0) - cap), 0.0, cap)
    price = np.vstack([np.full((1, p.k), p.penalty), unit[::-1]])
    amount = np.vstack([(q - take.sum(axis=0))[None, :], take[::-1]])
    cost = float(p.fixed[idx].sum()) - p.split_penalty + float((price * amount).sum())
    return cost, price, amount


def dearest_used(segs: tuple[float, np.ndarray, np.ndarray]) -> np.ndarray:
    """Per line, the dearest unit price a plan actually pays (penalty if anything is unfilled)."""
    _, price, amount = segs
    return np.where(amount > 0, price, -np.inf).max(axis=0)


def extension_costs(
    p: Problem,
    chosen: Sequence[int],
    free: np.ndarray,
    capf: np.ndarray | None = None,
    segs: tuple[float, np.ndarray, np.ndarray] | None = None,
) -> np.ndarray:
    """Exact cost of chosen + {u} for every u in `free`, in one numpy pass.

    Adding u can only displace the dearest used units (unfilled ones first) that cost
    more than u's own units, up to u's stock per line.
    """
    capf = p.cap.astype(float) if capf is None else capf
    cost, price, amount = segs if segs is not None else segments(p, chosen)
    unit_u = p.unit[free]
    left = capf[free].copy()
    saving = np.zeros(len(free))
    for j in range(price.shape[0]):
        gain = price[j][None, :] - unit_u
        take = np.where(gain > 0, np.minimum(left, amount[j][None, :]), 0.0)
        saving += (take * gain).sum(axis=1)
        left -= take
    opening = p.fixed[free] - (0.0 if chosen else p.split_penalty)
    return cost + opening - saving



def pair_extension_costs(
    p: Problem, chosen: Sequence[int], free: np.ndarray, capf: np.ndarray, segs: tuple[float, np.ndarray, np.ndarray]
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Exact cost of chosen + {a, b} for every pair of `free` locations, in one batch.

    Per line the cheaper of a and b displaces the dearest used units first, then the
    other one displaces the dearest of what is left: the greedy fill of the larger set.
    """
    cost, price, amount = segs
    ia, ib = np.triu_indices(len(free), 1)
    a, b = free[ia], free[ib]
    ua, ub, ca, cb = p.unit[a], p.unit[b], capf[a], capf[b]
    first = ua <= ub
    blocks = ((np.where(first, ua, ub), np.where(first, ca, cb)), (np.where(first, ub, ua), np.where(first, cb, ca)))
    remaining = np.repeat(amount[:, None, :], len(a), axis=1)
    saving = np.zeros(len(a))
    for unit, cap in blocks:
        left = cap.copy()
        for j in range(price.shape[0]):
            gain = price[j][None, :] - unit
            take = np.where(gain > 0, np.minimum(left, remaining[j]), 0.0)
            saving += (take * gain).sum(axis=1)
            left -= take
            remaining[j] -= take
    opening = p.fixed[a] + p.fixed[b] - (0.0 if chosen else p.split_penalty)
    return cost + opening - saving, a, b


class BranchAndBound:
    """Depth-first search over location sets; see the module docstring for the method."""

    def __init__(self, p: Problem, time_limit_ms: float) -> None:
        self.p = p
        self.stop_at = time.perf_counter() + time_limit_ms / 1000.0
        self.q = [int(v) for v in p.qty]
        self.cap = p.cap.tolist()
        self.unit = p.unit.tolist()
        self.fixed = p.fixed.tolist()
        self.capf = p.cap.astype(float)
        self.by_cost: list[list[int]] = []
        usable = p.unit[p.cap > 0]
        self.dearest = float(usable.max()) if usable.size else p.penalty
        self.excl = bytearray(p.n)
        self.excl_np = np.zeros(p.n, dtype=bool)
        self.chosen_np = np.zeros(p.n, dtype=bool)
        self.best: list[int] = []
        self.best_cost = float(sum(self.q)) * p.penalty
        self.nodes = 0
        self.timed_out = False
        self.depth = p.max_locations

    # -- bounds -------------------------------------------------------------------------
    def fill_bound(self) -> float:
        """Cheapest possible filling of every line from all non-excluded locations."""
        total = 0.0
        for s, need in enumerate(self.q):
            for i in self.by_cost[s]:
                if self.excl[i]:
                    continue
                take = min(need, self.cap[i][s])
                total += take * self.unit[i][s]
                need -= take
                if need == 0:
                    break
            total += need * self.p.penalty
        return total

    def extra_bounds(self, chosen: list[int], free: np.ndarray) -> np.ndarray:
        """out[e] = lower bound on the extra cost of opening e or more further locations.

        Adding t locations costs at least the t cheapest openings; and t locations can
        cover at most the sum of the t largest residual gains, so fillable units beyond
        that stay unfilled, each at (penalty - dearest unit cost) above the fill bound.
        Entries past the room left are inf.
        """
        p = self.p
        room = min(self.depth - len(chosen), len(free))
        out = np.full(max(room, 0) + 2, np.inf)
        if room <= 0:
            return out
        residual = np.maximum(p.qty - (p.cap[chosen].sum(axis=0) if chosen else 0), 0)
        caps = p.cap[free]
        fillable = np.minimum(residual, caps.sum(axis=0))
        gains = np.sort(np.minimum(caps, fillable[None, :]).sum(axis=1))[::-1].cumsum()[:room]
        openings = np.sort(p.fixed[free]).cumsum()[:room]
        out[1 : room + 1] = openings + np.maximum(fillable.sum() - gains, 0.0) * (p.penalty - self.dearest)
        out[0] = 0.0
        return np.minimum.accumulate(out[::-1])[::-1]

    def allows(self, base: float, bounds: np.ndarray, extra: int) -> bool:
        """Can adding `extra` or more locations still beat the incumbent?"""
        return extra < len(bounds) and base + bounds[extra] < self.best_cost - EPS

    # -- pricing ------------------------------------------------------------------------
    def extend_all(self, chosen: list[int], free: np.ndarray, segs=None) -> np.ndarray:
        """Price chosen + {u} for every free u and keep the best as incumbent."""
        totals = extension_costs(self.p, chosen, free, self.capf, segs)
        self.offer(totals, free, chosen)
        return totals

    def offer(self, totals: np.ndarray, free: np.ndarray, chosen: list[int]) -> None:
        if len(totals) == 0:
            return
        j = int(np.argmin(totals))
        if totals[j] < self.best_cost - EPS:
            self.best_cost = float(totals[j])
            self.best = [*chosen, int(free[j])]

    def extend_pairs(self, chosen: list[int], free: np.ndarray, segs) -> bool:
        """Price chosen + {a, b} for all free pairs if the batch is small enough."""
        if len(free) * (len(free) - 1) // 2 * max(self.p.k, 1) * segs[1].shape[0] > PAIR_LIMIT:
            return False
        totals, a, b = pair_extension_costs(self.p, chosen, free, self.capf, segs)
        if len(totals):
            j = int(np.argmin(totals))
            if totals[j] < self.best_cost - EPS:
                self.best_cost = float(totals[j])
                self.best = [*chosen, int(a[j]), int(b[j])]
        return True

    # -- search -------------------------------------------------------------------------
    def free(self) -> np.ndarray:
        return np.flatnonzero(~(self.excl_np | self.chosen_np))

    def exclude(self, i: int, flag: bool) -> None:
        self.excl[i] = 1 if flag else 0
        self.excl_np[i] = flag

    def run(self) -> SearchResult:
        p = self.p
        self.rank = preference_rank(p)
        self.drop_dominated([], self.free(), segments(p, []))
        by_unit = np.argsort(p.unit, axis=0, kind="stable")
        usable = (p.cap > 0) & ~self.excl_np[:, None]
        self.by_cost = [by_unit[usable[by_unit[:, s], s], s].tolist() for s in range(p.k)]
        free = self.free()
        evaluated = self.price_root(free)
        self.deepen([], free, evaluated)
        status = "time_limit" if self.timed_out else "optimal"
        return SearchResult(sorted(self.best), self.best_cost, status, self.nodes)

    def price_root(self, free: np.ndarray) -> int:
        """Price every one- and two-location plan; returns how many extra are priced."""
        p = self.p
        evaluated = 0
        if p.max_locations >= 1 and len(free):
            self.extend_all([], free)
            evaluated = 1
        if p.max_locations >= 2 and self.extend_pairs([], free, segments(p, [])):
            evaluated = 2
        return evaluated

    def deepen(self, chosen: list[int], free: np.ndarray, evaluated: int) -> None:
        """Iterative deepening on the number of locations, then done when bounds say so.

        A pass limited to d locations is cheap (the coverage bound bites hard when few
        locations may be added) and finds the best d-location plan; its cost then
        prunes the next pass. The last pass (d = max_locations) is the full search.
        """
        p = self.p
        root_base = -p.split_penalty + self.fill_bound()
        for depth in range(evaluated + 1, p.max_locations + 1):
            self.depth = p.max_locations
            if not self.allows(root_base, self.extra_bounds(chosen, free), depth):
                return  # no plan with `depth` or more locations can beat the incumbent
            if depth == evaluated + 1:
                self.local_search(evaluated)
            self.depth = depth
            self.node(chosen, evaluated)
            if self.timed_out:
                return

    def node(self, chosen: list[int], evaluated: int) -> None:
        """Explore supersets of `chosen`; extensions by <= `evaluated` locations are priced."""
        self.nodes += 1
        if time.perf_counter() > self.stop_at:
            self.timed_out = True
            return
        p = self.p
        free = self.free()
        room = self.depth - len(chosen)
        if room <= 0 or len(free) == 0:
            return
        base = sum(self.fixed[i] for i in chosen) - p.split_penalty + self.fill_bound()
        bounds = self.extra_bounds(chosen, free)
        if not self.allows(base, bounds, evaluated + 1):
            return
        segs = segments(p, chosen)
        score = np.full(p.n, np.inf)
        score[free] = self.extend_all(chosen, free, segs)
        evaluated = max(1, evaluated)
        if not self.allows(base, bounds, evaluated + 1):
            return
        dropped = self.drop_dominated(chosen, free, segs) if chosen else []
        free = self.free() if dropped else free
        if evaluated == 1 and room >= 2 and self.extend_pairs(chosen, free, segs):
            evaluated = 2
        if self.allows(base, bounds, evaluated + 1):
            self.branch(chosen, free, evaluated, score)
        for i in dropped:
            self.exclude(i, False)

    def drop_dominated(self, chosen: list[int], free: np.ndarray, segs) -> list[int]:
        """Exclude free locations made useless or dominated by what is already chosen."""
        p = self.p
        if p.k > 62 or len(free) == 0:
            return []
        useful = (p.cap > 0) & (p.unit < dearest_used(segs)[None, :])
        dominators = np.concatenate([free, np.array(chosen, dtype=np.int64)])
        out = [int(i) for i in dominated_among(p, useful, dominators, free, self.rank)]
        for i in out:
            self.exclude(i, True)
        return out

    def local_search(self, priced: int) -> None:
        """Improve the incumbent by best add / drop / swap moves until none helps.

        Plans of up to `priced` locations are all priced already, so moves landing
        there are skipped. Swapping two locations for one matters: it is how a plan that
        drifted to one parcel too many gets back to the minimum; for the same reason a
        second start (rarest-line greedy) is tried when the plan has 4+ locations. A
        good incumbent early is what lets the bounds prune, and it is what a timed-out
        search returns; this costs a few numpy passes and ignores the time limit. The
        search itself stays exact whatever this finds.
        """
        results = [self.descend(list(self.best), priced)]
        if len(results[0][1]) >= 4:
            results.append(self.descend(self.rarest_line_greedy(), priced))
        cost, plan = min(results, key=lambda r: r[0])
        if cost < self.best_cost - EPS:
            self.best_cost, self.best = cost, plan

    def descend(self, current: list[int], priced: int) -> tuple[float, list[int]]:
        cost = segments(self.p, current)[0]
        for _ in range(4 * max(1, self.p.max_locations)):
            move = self.best_move(current, priced)
            if move is None or move[0] >= cost - EPS:
                break
            cost, current = move
        return cost, current

    def rarest_line_greedy(self) -> list[int]:
        """Cover the line with the fewest holders by its best holder, and repeat."""
        p = self.p
        chosen: list[int] = []
        while len(chosen) < p.max_locations:
            free = np.array([i for i in self.free() if i not in chosen], dtype=np.int64)
            residual = p.qty - (p.cap[chosen].sum(axis=0) if chosen else 0)
            lines = np.flatnonzero(residual > 0)
            if not len(lines) or not len(free):
                break
            counts = (p.cap[np.ix_(free, lines)] > 0).sum(axis=0)
            if not counts.any():
                break
            line = lines[counts > 0][np.argmin(counts[counts > 0])]
            holders = free[p.cap[free, line] > 0]
            chosen.append(int(holders[np.argmin(extension_costs(p, chosen, holders, self.capf))]))
        return chosen

    def best_move(self, current: list[int], priced: int) -> tuple[float, list[int]] | None:
        """Cheapest plan one move away: add one, drop one or two, swap one or two for one."""
        p = self.p
        mask = self.excl_np.copy()
        mask[current] = True
        free = np.flatnonzero(~mask)
        options: list[tuple[float, list[int]]] = []
        bases = [(current, len(current) < p.max_locations)]
        bases += [([i for i in current if i != j], True) for j in current]
        bases += [([i for i in current if i not in pair], True) for pair in itertools.combinations(current, 2)]
        for base, may_add in bases:
            if base != current and len(base) > priced:
                options.append((segments(p, base)[0], base))
            if may_add and len(free) and len(base) + 1 > priced:
                totals = extension_costs(p, base, free, self.capf)
                j = int(np.argmin(totals))
                options.append((float(totals[j]), [*base, int(free[j])]))
        return min(options, key=lambda o: o[0], default=None)

    def branch(self, chosen: list[int], free: np.ndarray, evaluated: int, score: np.ndarray) -> None:
        """Children in order of their one-step cost, each excluding the earlier siblings."""
        holders, line_driven = self.branch_candidates(chosen, free)
        holders.sort(key=lambda i: (score[i], i))
        done: list[int] = []
        for h in holders:
            if self.timed_out:
                break
            chosen.append(h)
            self.chosen_np[h] = True
            self.node(chosen, max(0, evaluated - 1))
            chosen.pop()
            self.chosen_np[h] = False
            self.exclude(h, True)
            done.append(h)
        if line_driven and not self.timed_out:
            self.node(chosen, evaluated)
        for h in done:
            self.exclude(h, False)

    def branch_candidates(self, chosen: list[int], free: np.ndarray) -> tuple[list[int], bool]:
        """Holders of the hardest uncovered line, cheapest first; else every open location."""
        p = self.p
        residual = p.qty - (p.cap[chosen].sum(axis=0) if chosen else 0)
        lines = np.flatnonzero(residual > 0)
        if len(lines):
            counts = (p.cap[np.ix_(free, lines)] > 0).sum(axis=0)
            usable = counts > 0
            if usable.any():
                s = int(lines[usable][np.argmin(counts[usable])])
                return [i for i in self.by_cost[s] if not self.excl[i] and not self.chosen_np[i]], True
        order = np.argsort(p.fixed[free] + (p.unit[free] * self.capf[free]).sum(axis=1), kind="stable")
        return [int(i) for i in free[order]], False


def solve_exact(p: Problem, time_limit_ms: float) -> SearchResult:
    """Run the branch and bound; see the module docstring. A small problem is first tried in
    plain Python (`small.py`), which settles most orders of a store network at the root."""
    if fits(p):
        found = solve_small(p)
        if found is not None:
            return SearchResult(found[0], found[1], "optimal", 0)
    return BranchAndBound(p, time_limit_ms).run()
