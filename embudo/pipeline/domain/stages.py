"""Stage rules (pure): the default stages, which moves are allowed, and what a move does to the lead.

A deal sits in exactly one stage of its team's pipeline (or the default pipeline). Moving into a *lost*
stage needs a reason; moving into a *won* stage closes the lead as won (lifecycle "customer"); moving out
of a won/lost stage reopens the deal and clears the lead's outcome.
"""

from __future__ import annotations

import enum
import re
import unicodedata
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal, InvalidOperation

MAX_REASON = 200
MAX_NAME = 60
MAX_AMOUNT = Decimal("9999999999.99")
CURRENCIES = ("EUR", "USD", "MXN", "GBP", "COP", "ARS", "CLP", "PEN", "BRL")


class Kind(enum.StrEnum):
    OPEN = "open"
    WON = "won"
    LOST = "lost"


@dataclass(frozen=True)
class StageSpec:
    key: str
    name: str
    kind: Kind
    probability: int


DEFAULT_STAGES: tuple[StageSpec, ...] = (
    StageSpec("new", "New", Kind.OPEN, 5),
    StageSpec("contacted", "Contacted", Kind.OPEN, 15),
    StageSpec("interested", "Interested", Kind.OPEN, 35),
    StageSpec("proposal_sent", "Proposal sent", Kind.OPEN, 60),
    StageSpec("won", "Won", Kind.WON, 100),
    StageSpec("lost", "Lost", Kind.LOST, 0),
)
DEFAULT_KEYS = frozenset(s.key for s in DEFAULT_STAGES)
FIRST_KEY = "new"
CONTACTED_KEY = "contacted"


@dataclass(frozen=True)
class StageRef:
    """What the rules need to know about a stage."""

    id: int
    key: str
    kind: str
    active: bool = True


@dataclass(frozen=True)
class MoveProblem:
    field: str
    message: str


@dataclass(frozen=True)
class Effect:
    """What a stage change does to the lead: ``outcome`` "won"/"lost"/"" (reopen) or None (unchanged)."""

    outcome: str | None
    lifecycle: str | None
    closes: bool


def check_move(*, current: StageRef | None, target: StageRef, lost_reason: str) -> MoveProblem | None:
    """Whether a deal in ``current`` may move to ``target`` with this reason."""
    if not target.active:
        return MoveProblem("stage_id", "This stage is not active.")
    if current is not None and current.id == target.id:
        return MoveProblem("stage_id", "The deal is already in this stage.")
    reason = clean_reason(lost_reason)
    if len(reason) > MAX_REASON:
        return MoveProblem("lost_reason", f"At most {MAX_REASON} characters.")
    if target.kind == Kind.LOST and not reason:
        return MoveProblem("lost_reason", "Say why the deal was lost.")
    return None


def effect_of(*, old_kind: str | None, new_kind: str) -> Effect:
    """The lead-side consequences of moving from a stage of ``old_kind`` to one of ``new_kind``."""
    if new_kind == Kind.WON:
        return Effect(outcome="won", lifecycle="customer", closes=True)
    if new_kind == Kind.LOST:
        # A won deal that turns out lost is no customer any more.
        return Effect(outcome="lost", lifecycle="opportunity" if old_kind == Kind.WON else None, closes=True)
    if old_kind in (Kind.WON, Kind.LOST):
        # Reopened: the outcome no longer holds; a reopened won deal is an opportunity again.
        return Effect(outcome="", lifecycle="opportunity" if old_kind == Kind.WON else None, closes=False)
    return Effect(outcome=None, lifecycle=None, closes=False)


def clean_reason(text: str) -> str:
    return " ".join((text or "").split())


def parse_amount(raw: object) -> tuple[Decimal | None, str | None]:
    """An amount from user input: (value, error). Empty → (None, None)."""
    if raw is None:
        return None, None
    if isinstance(raw, Decimal):
        value = raw
    else:
        text = str(raw).strip().replace(" ", "")
        if not text:
            return None, None
        if re.fullmatch(r"\d{1,3}(,\d{3})+(\.\d*)?", text):
            text = text.replace(",", "")  # 12,500 or 1,250,000.50: thousands separators
        elif re.fullmatch(r"\d{1,3}(\.\d{3})+,\d*", text):
            text = text.replace(".", "").replace(",", ".")  # 1.250,50 (Spanish)
        elif "," in text and "." not in text:
            text = text.replace(",", ".")  # 12,5 (decimal comma)
        try:
            value = Decimal(text)
        except InvalidOperation:
            return None, "Enter a number."
    if not value.is_finite():
        return None, "Enter a number."
    if value < 0:
        return None, "The amount cannot be negative."
    if value > MAX_AMOUNT:
        return None, "The amount is too large."
    return value.quantize(Decimal("0.01")), None


def slugify_key(name: str) -> str:
    """A stage key from its name: lower-case ASCII words joined by underscores."""
    text = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    key = re.sub(r"[^a-z0-9]+", "_", text.lower()).strip("_")
    return key[:40] or "stage"


def unique_key(name: str, taken: set[str]) -> str:
    base = slugify_key(name)
    key, n = base, 2
    while key in taken:
        key = f"{base}_{n}"
        n += 1
    return key


def days_between(start: datetime, end: datetime) -> int:
    """Whole days from ``start`` to ``end`` (never negative)."""
    return max(0, (end - start).days)


def weighted(amount: Decimal, probability: int) -> Decimal:
    return (amount * probability / 100).quantize(Decimal("0.01"))


def first_open(stages: list[StageRef]) -> StageRef | None:
    """The first active open stage (stages in board order)."""
    return next((s for s in stages if s.kind == Kind.OPEN and s.active), None)


def same_key_or_first(stages: list[StageRef], key: str) -> StageRef | None:
    """The stage with ``key`` in another pipeline (a deal changing teams), else its first open stage."""
    return next((s for s in stages if s.key == key and s.active), None) or first_open(stages)
