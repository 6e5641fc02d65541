"""Fair picking among eligible reps, by construction.

Deficit round-robin with fractional shares: at every pick each *eligible* member earns its share of
one lead, ``w / W`` (``W`` = the sum of the eligible members' weights), the member with the largest
deficit (earned − received) gets the lead and pays 1. The deficits sum to 0, and a member earns
nothing while ineligible, so over any run its count stays within about one lead of its fair share
``Σ w / W`` over the picks it was eligible for (property-tested in ``tests/test_fairness.py``). With a
fixed eligible set this is smooth weighted round-robin (nginx): an interleaved A B A C A B … order.

Strategies: ``round_robin`` = all weights 1; ``weighted`` = the members' weights; ``least_loaded`` =
the eligible members with the fewest open leads, ties broken by round-robin order.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from embudo.routing.domain.eligibility import Candidate


@dataclass(frozen=True)
class Pick:
    member_id: int | None
    state: dict[int, float]


def smooth_pick(weights: Mapping[int, int], state: Mapping[int, float]) -> Pick:
    """One pick among ``weights`` (member id → weight ≥ 1: the eligible members).

    ``state`` holds every member's deficit (missing: 0); the returned state keeps the others' as is.
    Ties go to the lowest member id (deterministic).
    """
    new_state = dict(state)
    if not weights:
        return Pick(None, new_state)
    total = sum(max(1, int(w)) for w in weights.values())
    best: int | None = None
    for member_id in sorted(weights):
        deficit = new_state.get(member_id, 0.0) + max(1, int(weights[member_id])) / total
        new_state[member_id] = deficit
        if best is None or deficit > new_state[best] + 1e-12:
            best = member_id
    if best is None:  # pragma: no cover - weights is not empty
        return Pick(None, new_state)
    new_state[best] -= 1.0
    return Pick(best, new_state)


def choose(strategy: str, eligible: Sequence[Candidate], state: Mapping[int, float]) -> Pick:
    """Pick one of ``eligible`` by the pool's strategy; returns the chosen member and the new state."""
    if not eligible:
        return Pick(None, dict(state))
    if strategy == "least_loaded":
        fewest = min(c.open_leads for c in eligible)
        return smooth_pick({c.member_id: 1 for c in eligible if c.open_leads == fewest}, state)
    if strategy == "weighted":
        return smooth_pick({c.member_id: c.weight for c in eligible}, state)
    return smooth_pick({c.member_id: 1 for c in eligible}, state)


def prune_state(state: Mapping[int, float], member_ids: Sequence[int]) -> dict[int, float]:
    """Drop the state of removed members."""
    keep = set(member_ids)
    return {k: v for k, v in state.items() if k in keep}
