"""Rule semantics in plain Python: the reference the SQL engine is tested against.

- Fit rule: ``points`` when all its conditions hold for the lead's record.
- Engagement rule: occurrences of ``activity.<event_type>`` whose properties match the conditions and that
  fall within the window (``window_days``, counted back from now) are weighted by decay
  (none: 1; linear: ``max(0, 1 - age/decay_days)``; half-life: ``0.5 ** (age/decay_days)``; age in days,
  never negative). Once-only rules score ``points × weight of the latest occurrence`` (the largest weight);
  repeatable rules score ``points × sum of weights``, capped in magnitude at ``max_points``.
  The result is rounded half up: ``floor(x + 0.5)``.
- Inactivity: a lead older than ``inactivity_days`` with no ``activity.*`` event within them scores
  ``inactivity_points``.
"""

from __future__ import annotations

import hashlib
import json
import math
import uuid
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any

from embudo.core.domain import conditions as cond

FIT = "fit"
ENGAGEMENT = "engagement"
DECAYS = ("none", "linear", "half_life")
GRADES = ("cold", "warm", "hot")
SCORE_LIMIT = 1000
# The contribution key of "no activity for N days" (not a rule of its own, but kept per lead like one).
INACTIVITY_KEY = uuid.UUID("00000000-0000-4000-8000-00000000001a")
PROPERTY_PREFIX = "properties."
SECONDS_PER_DAY = 86400.0


@dataclass(frozen=True)
class RuleSpec:
    key: uuid.UUID
    kind: str
    label: str
    points: int
    conditions: tuple[cond.Condition, ...] = ()
    event_type: str = ""
    repeatable: bool = False
    max_points: int | None = None
    window_days: int | None = None
    decay: str = "none"
    decay_days: int | None = None

    @property
    def time_dependent(self) -> bool:
        """Its value changes with the clock alone (the decay job recomputes it)."""
        return self.kind == ENGAGEMENT and (self.decay != "none" or self.window_days is not None)

    def fingerprint(self) -> str:
        """Equal fingerprints: the same contributions for every lead (label and position do not count)."""
        data = {
            "kind": self.kind,
            "points": self.points,
            "conditions": [c.as_dict() for c in self.conditions],
            "event_type": self.event_type if self.kind == ENGAGEMENT else "",
            "repeatable": self.repeatable if self.kind == ENGAGEMENT else False,
            "max_points": self.max_points if self.kind == ENGAGEMENT else None,
            "window_days": self.window_days if self.kind == ENGAGEMENT else None,
            "decay": self.decay if self.kind == ENGAGEMENT else "none",
            "decay_days": self.decay_days if self.kind == ENGAGEMENT and self.decay != "none" else None,
        }
        return hashlib.sha256(json.dumps(data, sort_keys=True, default=str).encode()).hexdigest()


@dataclass(frozen=True)
class ModelSpec:
    """A scoring version as plain data."""

    rules: tuple[RuleSpec, ...]
    warm_min: int = 51
    hot_min: int = 81
    mql_threshold: int = 81
    inactivity_days: int = 0
    inactivity_points: int = 0
    labels: Mapping[uuid.UUID, str] = field(default_factory=dict)

    @property
    def inactivity_on(self) -> bool:
        return self.inactivity_days > 0 and self.inactivity_points != 0

    def contribution_keys(self) -> set[uuid.UUID]:
        """The keys of :meth:`fingerprints`, without hashing every rule (scoring one lead needs only these)."""
        keys = {r.key for r in self.rules}
        if self.inactivity_on:
            keys.add(INACTIVITY_KEY)
        return keys

    def fingerprints(self) -> dict[uuid.UUID, str]:
        prints = {r.key: r.fingerprint() for r in self.rules}
        if self.inactivity_on:
            prints[INACTIVITY_KEY] = f"inactivity:{self.inactivity_days}:{self.inactivity_points}"
        return prints


def grade_for(score: int, *, warm_min: int, hot_min: int) -> str:
    if score >= hot_min:
        return "hot"
    if score >= warm_min:
        return "warm"
    return "cold"


def round_half_up(x: float) -> int:
    return math.floor(x + 0.5)


def age_days(now: datetime, at: datetime) -> float:
    return max(0.0, (now - at).total_seconds() / SECONDS_PER_DAY)


def decay_weight(decay: str, decay_days: int | None, age: float) -> float:
    if decay == "none" or not decay_days:
        return 1.0
    if decay == "linear":
        return max(0.0, 1.0 - age / decay_days)
    return math.pow(0.5, age / decay_days)


def cap(value: float, max_points: int | None) -> float:
    if max_points is None:
        return value
    limit = abs(max_points)
    return max(-limit, min(limit, value))


def evaluate_engagement(
    rule: RuleSpec, occurrences: Iterable[tuple[str, datetime, Mapping[str, Any]]], *, now: datetime
) -> int:
    """The rule's points for one lead's events ``(event_type, occurred_at, properties)``."""
    conditions = [_property_condition(c) for c in rule.conditions]
    cutoff = now - timedelta(days=rule.window_days) if rule.window_days is not None else None
    weights: list[float] = []
    for event_type, at, properties in occurrences:
        if event_type != rule.event_type or (cutoff is not None and at < cutoff):
            continue
        if not cond.matches(conditions, {f"custom.{k}": v for k, v in properties.items()}):
            continue
        weights.append(decay_weight(rule.decay, rule.decay_days, age_days(now, at)))
    if not weights:
        return 0
    if rule.repeatable:
        total = 0.0
        for w in weights:  # same order-insensitive sum as SQL up to rounding; see tests
            total += w
        return round_half_up(cap(rule.points * total, rule.max_points))
    return round_half_up(rule.points * max(weights))


class CustomFields(Mapping[str, Any]):
    """An event's properties seen as ``custom.<name>`` fields (what property conditions name), without
    copying them into a new dict for every rule and event (the event path checks thousands a batch)."""

    __slots__ = ("_properties",)
    _PREFIX = "custom."

    def __init__(self, properties: Mapping[str, Any]) -> None:
        self._properties = properties

    def get(self, key: str, default: Any = None) -> Any:
        if key.startswith(self._PREFIX):
            return self._properties.get(key[len(self._PREFIX) :], default)
        return default

    def __getitem__(self, key: str) -> Any:
        if key.startswith(self._PREFIX) and key[len(self._PREFIX) :] in self._properties:
            return self._properties[key[len(self._PREFIX) :]]
        raise KeyError(key)

    def __iter__(self) -> Iterator[str]:
        return (self._PREFIX + k for k in self._properties)

    def __len__(self) -> int:
        return len(self._properties)


def incremental_engagement(
    rule: RuleSpec,
    stored: int,
    fresh: Iterable[tuple[str, datetime, Mapping[str, Any]]],
    *,
    now: datetime,
    conditions: Sequence[cond.Condition] | None = None,
) -> tuple[bool, int | None]:
    """The rule's new points for a lead from its stored points and its *new* events alone, without reading
    its history: ``(touched, points)``. ``touched`` is False when no new event counts for the rule (the
    stored points stay). ``points`` is None when the history is needed after all (the caller recomputes).

    ``stored`` must be what the rule gave the lead's earlier events at some earlier time (the engine's
    stored contribution). Then the result equals :func:`evaluate_engagement` over all the events at ``now``:

    - without decay or window, a once-only rule scores ``points`` as soon as one event counts, and a
      repeatable one ``cap(points × count)``: ``stored`` holds ``points × earlier count`` unless capped, and
      more events of the same sign keep a capped value capped;
    - a once-only rule with decay or window scores ``points × the largest weight``. The earlier events'
      weights only shrink with time, so their value now is at most ``stored`` in magnitude: when the new
      events alone reach ``stored``, they decide. Otherwise (a late event older than the latest one) the
      history decides: None;
    - a repeatable rule with decay or window sums weights that have all moved since: None.

    ``conditions``: the rule's :func:`property_conditions`, when the caller prepared them once for many leads.
    """
    if conditions is None:
        conditions = property_conditions(rule.conditions)
    cutoff = now - timedelta(days=rule.window_days) if rule.window_days is not None else None
    weights: list[float] = []
    for event_type, at, properties in fresh:
        if event_type != rule.event_type or (cutoff is not None and at < cutoff):
            continue
        if conditions and not cond.matches(conditions, CustomFields(properties)):
            continue
        weights.append(decay_weight(rule.decay, rule.decay_days, age_days(now, at)) if rule.decay != "none" else 1.0)
    if not weights:
        return False, stored
    if rule.repeatable:
        if rule.time_dependent or stored * rule.points < 0:
            return True, None
        capped = rule.max_points is not None and abs(stored) >= abs(rule.max_points)
        if not capped and stored % rule.points != 0:  # not points × a count: not this rule's value
            return True, None
        return True, round_half_up(cap(stored + rule.points * len(weights), rule.max_points))
    points = round_half_up(rule.points * max(weights))
    reaches = points >= stored if rule.points > 0 else points <= stored
    return True, points if reaches else None


def incremental_inactivity(model: ModelSpec, stored: int, fresh_times: Iterable[datetime], *, now: datetime) -> int:
    """Inactivity points after new activity at ``fresh_times``: none once one falls within the period;
    otherwise unchanged (events older than the period do not make a lead active)."""
    cutoff = now - timedelta(days=model.inactivity_days)
    return 0 if any(t > cutoff for t in fresh_times) else stored


def evaluate_fit(rule: RuleSpec, record: Mapping[str, Any]) -> int:
    return rule.points if cond.matches(rule.conditions, record) else 0


def is_inactive(
    *, created_at: datetime, activity_times: Sequence[datetime], now: datetime, inactivity_days: int
) -> bool:
    cutoff = now - timedelta(days=inactivity_days)
    return created_at <= cutoff and not any(t > cutoff for t in activity_times)


def _property_condition(c: cond.Condition) -> cond.Condition:
    """``properties.url`` → ``custom.url``: read through to_sql's parameterised JSON key path."""
    return cond.Condition(f"custom.{c.field.removeprefix(PROPERTY_PREFIX)}", c.op, c.value)


def property_conditions(conditions: Iterable[cond.Condition]) -> list[cond.Condition]:
    return [_property_condition(c) for c in conditions]


def rescalable(new: RuleSpec, old: RuleSpec) -> bool:
    """Whether ``new`` differs from ``old`` in its points alone, for a rule whose contribution is either
    0 or its points (fit rules; once-only engagement rules without decay or window). Then every lead's
    new contribution follows from its stored one: the rule's new points where it had one, none elsewhere."""
    if new.key != old.key or new.kind != old.kind or new.points == old.points or old.points == 0:
        return False
    if new.kind == ENGAGEMENT and (new.repeatable or new.time_dependent or old.repeatable or old.time_dependent):
        return False
    return replace(new, points=old.points, label=old.label).fingerprint() == old.fingerprint()


def max_abs_total(model: ModelSpec) -> int:
    """The largest score magnitude the model can give: must stay within the lead score range."""
    total = abs(model.inactivity_points) if model.inactivity_on else 0
    for r in model.rules:
        if r.kind == ENGAGEMENT and r.repeatable:
            total += abs(r.max_points or 0)
        else:
            total += abs(r.points)
    return total
