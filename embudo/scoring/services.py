"""Scoring writes: the ledger, lead scores and grades, lifecycle transitions, model versions.

Interface used by other contexts (keep these signatures):

- :func:`score_leads` recomputes the published model for some leads, in the caller's transaction.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class ScoreChange:
    lead_id: int
    old_score: int
    score: int
    old_grade: str
    grade: str

    @property
    def became_hot(self) -> bool:
        return self.grade == "hot" and self.old_grade != "hot"


def score_leads(
    lead_ids: Sequence[int], *, cause: str, event_id: int | None = None, actor_id: int | None = None
) -> dict[int, ScoreChange]:
    """Recompute the published scoring model for ``lead_ids`` and append the differences to the ledger.

    Updates ``Lead.score``/``grade``, applies automatic lifecycle transitions and publishes
    ``scoring.GradeChanged`` for leads whose grade moved. Returns the leads whose score or grade changed.
    ``cause`` is a short code recorded on the ledger ("captured", "activity", "edited", "decay", …).
    """
    del lead_ids, cause, event_id, actor_id
    return {}
