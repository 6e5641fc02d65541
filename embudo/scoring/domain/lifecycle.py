"""Lifecycle rules (pure): stage order, automatic moves, manual moves and their reasons, BANT progress.

Stages: subscriber → lead → MQL → PQL → SQL → opportunity → customer, and disqualified beside them.
Automatic moves only go forward and never leave opportunity, customer or disqualified:

- ``score_threshold``: subscriber/lead → MQL when the score reaches the MQL threshold;
- ``product_activity``: subscriber/lead/MQL → PQL (signed up to / active in the product);
- ``bant_complete``: lead/MQL/PQL → SQL when budget, authority, need and timing are all known.

Manual moves may go anywhere (sales recycles leads, reopens disqualified ones), but disqualifying needs a
reason from :data:`DISQUALIFY_REASONS` (and a note for "other"), and moving back needs a written reason.
Marketing users only move leads between the marketing stages.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass

SUBSCRIBER = "subscriber"
LEAD = "lead"
MQL = "mql"
SQL = "sql"
OPPORTUNITY = "opportunity"
CUSTOMER = "customer"
PQL = "pql"
DISQUALIFIED = "disqualified"

# The funnel order (PQL sits between MQL and SQL: product usage is a stronger signal than marketing's).
ORDER: tuple[str, ...] = (SUBSCRIBER, LEAD, MQL, PQL, SQL, OPPORTUNITY, CUSTOMER)
STAGES: tuple[str, ...] = (*ORDER, DISQUALIFIED)
RANK: Mapping[str, int] = {stage: i for i, stage in enumerate(ORDER)}
# Stages no rule ever moves a lead out of.
TERMINAL_FOR_RULES = frozenset({OPPORTUNITY, CUSTOMER, DISQUALIFIED})
MARKETING_STAGES = frozenset({SUBSCRIBER, LEAD, MQL, PQL})

DISQUALIFY_REASONS: tuple[str, ...] = (
    "no_budget",
    "no_authority",
    "no_need",
    "bad_timing",
    "competitor",
    "student",
    "spam",
    "unreachable",
    "other",
)
MAX_REASON = 200
BANT_FIELDS: tuple[str, ...] = ("budget", "authority", "need", "timing")
MAX_BANT = 200


class Rule(enum.StrEnum):
    SCORE_THRESHOLD = "score_threshold"
    PRODUCT_ACTIVITY = "product_activity"
    BANT_COMPLETE = "bant_complete"


# rule → (stages it moves from, stage it moves to)
AUTOMATIC: Mapping[Rule, tuple[frozenset[str], str]] = {
    Rule.SCORE_THRESHOLD: (frozenset({SUBSCRIBER, LEAD}), MQL),
    Rule.PRODUCT_ACTIVITY: (frozenset({SUBSCRIBER, LEAD, MQL}), PQL),
    Rule.BANT_COMPLETE: (frozenset({LEAD, MQL, PQL}), SQL),
}


def status_after_move(status: str, stage: str) -> str:
    """The work status a manual lifecycle move implies: disqualified leads are closed ("disqualified"),
    customers "converted"; a lead brought back from either is being worked again ("working"). Any other
    move leaves the rep's status alone."""
    if stage == DISQUALIFIED:
        return "disqualified"
    if stage == CUSTOMER:
        return "converted"
    if status in ("disqualified", "converted"):
        return "working"
    return status


def automatic_target(rule: Rule, stage: str) -> str | None:
    """The stage ``rule`` moves a lead in ``stage`` to, or None when it does not apply."""
    sources, target = AUTOMATIC[rule]
    return target if stage in sources else None


def movable_stages(rule: Rule) -> frozenset[str]:
    """The stages ``rule`` may move a lead out of (for set-based updates: ``stage = ANY(...)``)."""
    return AUTOMATIC[rule][0]


def is_forward(old: str, new: str) -> bool:
    return old in RANK and new in RANK and RANK[new] > RANK[old]


def crosses_threshold(old_score: int, score: int, threshold: int) -> bool:
    """The score reached the MQL threshold now (it was below it before)."""
    return old_score < threshold <= score


def _joined(reason: str, note: str) -> str:
    reason, note = reason.strip(), " ".join(note.split())
    return f"{reason}: {note}" if reason and note else (reason or note)


def format_reason(reason: str, note: str = "") -> str:
    """What is stored on the lead and the event: ``code`` or ``code: note`` (cut to the column size)."""
    return _joined(reason, note)[:MAX_REASON]


def split_reason(stored: str) -> tuple[str, str]:
    """Inverse of :func:`format_reason` for disqualification reasons: (code, note)."""
    code, sep, note = stored.partition(": ")
    if code in DISQUALIFY_REASONS:
        return code, note if sep else ""
    return "", stored


@dataclass(frozen=True)
class MoveProblem:
    """Why a manual move is refused: ``field`` (stage, reason, note) → message; ``forbidden`` for 403s."""

    field: str
    message: str
    forbidden: bool = False


def check_manual_move(*, role: str, current: str, target: str, reason: str, note: str = "") -> MoveProblem | None:
    """Whether a person with ``role`` may move a lead from ``current`` to ``target`` with this reason.

    ``reason`` is a code of :data:`DISQUALIFY_REASONS` when disqualifying, otherwise free text.
    """
    if target not in STAGES:
        return MoveProblem("stage", f"Unknown stage {target!r}.")
    if target == current:
        return MoveProblem("stage", "The lead is already in this stage.")
    if role == "marketing" and not (current in MARKETING_STAGES and target in MARKETING_STAGES):
        return MoveProblem("stage", "Marketing moves leads between subscriber, lead, MQL and PQL only.", True)
    if len(_joined(reason, note)) > MAX_REASON:
        return MoveProblem("note" if note.strip() else "reason", f"At most {MAX_REASON} characters.")
    if target == DISQUALIFIED:
        if reason.strip() not in DISQUALIFY_REASONS:
            return MoveProblem("reason", "Choose why the lead is disqualified.")
        if reason.strip() == "other" and not note.strip():
            return MoveProblem("note", "Say why the lead is disqualified.")
        return None
    if current in RANK and target in RANK and RANK[target] < RANK[current] and not (reason.strip() or note.strip()):
        return MoveProblem("reason", "Say why the lead moves back.")
    return None


def clean_bant(values: Mapping[str, str | None]) -> tuple[dict[str, str], dict[str, list[str]]]:
    """Normalise BANT answers (``None``: unchanged, "": unknown); returns (values, field errors)."""
    cleaned: dict[str, str] = {}
    errors: dict[str, list[str]] = {}
    for name in BANT_FIELDS:
        value = values.get(name)
        if value is None:
            continue
        text = " ".join(str(value).split())
        if len(text) > MAX_BANT:
            errors[name] = [f"At most {MAX_BANT} characters."]
        else:
            cleaned[name] = text
    return cleaned, errors


def bant_known(values: Mapping[str, str]) -> int:
    """How many of budget, authority, need and timing are known (0-4)."""
    return sum(1 for name in BANT_FIELDS if (values.get(name) or "").strip())


def bant_target(stage: str, values: Mapping[str, str]) -> str | None:
    """SQL when all four BANT answers are known and the stage allows the automatic move."""
    return automatic_target(Rule.BANT_COMPLETE, stage) if bant_known(values) == len(BANT_FIELDS) else None
