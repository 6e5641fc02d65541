"""Who may receive a lead now: pure rules over a snapshot of the pool's members."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

# Skip reasons, in the order they are checked (the first that applies is recorded).
INACTIVE_USER = "inactive_user"
INACTIVE_MEMBER = "inactive_member"
EXCLUDED = "excluded"
OUT_OF_OFFICE = "out_of_office"
OFF_SHIFT = "off_shift"
MISSING_SKILL = "missing_skill"
MISSING_LANGUAGE = "missing_language"
AT_CAPACITY = "at_capacity"
SKIP_REASONS = (
    INACTIVE_USER,
    INACTIVE_MEMBER,
    EXCLUDED,
    OUT_OF_OFFICE,
    OFF_SHIFT,
    MISSING_SKILL,
    MISSING_LANGUAGE,
    AT_CAPACITY,
)


@dataclass(frozen=True)
class Candidate:
    member_id: int
    user_id: int
    weight: int = 1
    user_active: bool = True
    member_active: bool = True
    on_shift: bool = True
    out_of_office: bool = False
    open_leads: int = 0
    capacity: int | None = None
    skills: frozenset[str] = field(default_factory=frozenset)
    languages: frozenset[str] = field(default_factory=frozenset)
    name: str = ""


@dataclass(frozen=True)
class Requirements:
    skills: frozenset[str] = field(default_factory=frozenset)
    # The lead's language when the pool requires a match (empty: no requirement).
    language: str = ""
    exclude_user_ids: frozenset[int] = field(default_factory=frozenset)


def normalise_tags(values: Iterable[object]) -> frozenset[str]:
    return frozenset(t for t in (str(v).strip().lower() for v in values if v is not None) if t)


def skip_reason(candidate: Candidate, requirements: Requirements) -> str | None:
    """Why ``candidate`` may not receive the lead, or None when eligible."""
    if not candidate.user_active:
        return INACTIVE_USER
    if not candidate.member_active:
        return INACTIVE_MEMBER
    if candidate.user_id in requirements.exclude_user_ids:
        return EXCLUDED
    if candidate.out_of_office:
        return OUT_OF_OFFICE
    if not candidate.on_shift:
        return OFF_SHIFT
    if not requirements.skills <= candidate.skills:
        return MISSING_SKILL
    if requirements.language and requirements.language.lower() not in candidate.languages:
        return MISSING_LANGUAGE
    if candidate.capacity is not None and candidate.open_leads >= candidate.capacity:
        return AT_CAPACITY
    return None


def eligible(candidates: Sequence[Candidate], requirements: Requirements) -> list[Candidate]:
    return [c for c in candidates if skip_reason(c, requirements) is None]
