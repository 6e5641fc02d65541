"""Validation of rule definitions from the API and the rule editor (field-level messages)."""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from embudo.core.domain import conditions as cond
from embudo.scoring.domain.rules import (
    DECAYS,
    ENGAGEMENT,
    FIT,
    PROPERTY_PREFIX,
    SCORE_LIMIT,
    ModelSpec,
    RuleSpec,
    max_abs_total,
)

EVENT_TYPE_RE = re.compile(r"^[a-z][a-z0-9_]{0,59}$")
PROPERTY_RE = re.compile(r"^[A-Za-z0-9_.\-]{1,100}$")
MAX_RULES = 200


class RuleError(ValueError):
    def __init__(self, fields: Mapping[str, list[str]]) -> None:
        super().__init__("; ".join(f"{k}: {' '.join(v)}" for k, v in fields.items()))
        self.fields = dict(fields)


def _int(value: Any, *, minimum: int | None = None, maximum: int | None = None) -> int:
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise ValueError("Give a whole number.")
    try:
        number = int(str(value).strip())
    except ValueError:
        raise ValueError("Give a whole number.") from None
    if minimum is not None and number < minimum:
        raise ValueError(f"Give a number of at least {minimum}.")
    if maximum is not None and number > maximum:
        raise ValueError(f"Give a number of at most {maximum}.")
    return number


def parse_rule(raw: Mapping[str, Any], *, where: str, fit_fields: Iterable[str]) -> RuleSpec:
    errors: dict[str, list[str]] = {}

    def field(name: str, fn: Any) -> Any:
        try:
            return fn()
        except ValueError as exc:
            errors[f"{where}.{name}"] = [str(exc)]
            return None

    kind = str(raw.get("kind") or "")
    if kind not in (FIT, ENGAGEMENT):
        errors[f"{where}.kind"] = ["Choose fit or engagement."]
    label = str(raw.get("label") or "").strip()
    if not label:
        errors[f"{where}.label"] = ["Give the rule a label."]
    elif len(label) > 200:
        errors[f"{where}.label"] = ["At most 200 characters."]
    points = field("points", lambda: _int(raw.get("points"), minimum=-SCORE_LIMIT, maximum=SCORE_LIMIT))
    if points == 0:
        errors[f"{where}.points"] = ["Give a number of points other than 0."]
    key: uuid.UUID | None = None
    if raw.get("key"):
        try:
            key = uuid.UUID(str(raw["key"]))
        except ValueError:
            errors[f"{where}.key"] = ["Not a valid rule key."]
    raw_conditions = raw.get("conditions") or []
    conditions: list[cond.Condition] = []
    if not isinstance(raw_conditions, Sequence) or isinstance(raw_conditions, str):
        errors[f"{where}.conditions"] = ["Give a list of conditions."]
        raw_conditions = []
    event_type = ""
    repeatable = False
    max_points: int | None = None
    window_days: int | None = None
    decay = "none"
    decay_days: int | None = None
    try:
        if kind == ENGAGEMENT:
            conditions = cond.parse(raw_conditions, prefix=f"{where}.conditions")
            for i, c in enumerate(conditions):
                name = c.field.removeprefix(PROPERTY_PREFIX)
                if not c.field.startswith(PROPERTY_PREFIX) or not PROPERTY_RE.match(name):
                    errors[f"{where}.conditions.{i}.field"] = ["Use properties.<name> (letters, digits, _ . -)."]
        else:
            conditions = cond.parse(raw_conditions, fields=fit_fields, prefix=f"{where}.conditions")
    except cond.ConditionError as exc:
        errors.update(exc.fields)
    if kind == ENGAGEMENT:
        event_type = str(raw.get("event_type") or "").strip()
        if not EVENT_TYPE_RE.match(event_type):
            errors[f"{where}.event_type"] = ["Give an event type such as page_view (lower case, digits, _)."]
        repeatable = bool(raw.get("repeatable"))
        if raw.get("max_points") not in (None, ""):
            max_points = field("max_points", lambda: _int(raw.get("max_points"), minimum=1, maximum=SCORE_LIMIT))
        if repeatable and max_points is None and f"{where}.max_points" not in errors:
            errors[f"{where}.max_points"] = ["Repeatable rules need a cap."]
        if raw.get("window_days") not in (None, ""):
            window_days = field("window_days", lambda: _int(raw.get("window_days"), minimum=1, maximum=3650))
        decay = str(raw.get("decay") or "none")
        if decay not in DECAYS:
            errors[f"{where}.decay"] = [f"Choose one of: {', '.join(DECAYS)}."]
        elif decay != "none":
            decay_days = field("decay_days", lambda: _int(raw.get("decay_days"), minimum=1, maximum=3650))
    if errors:
        raise RuleError(errors)
    return RuleSpec(
        key=key or uuid.uuid4(),
        kind=kind,
        label=label,
        points=int(points),
        conditions=tuple(conditions),
        event_type=event_type,
        repeatable=repeatable,
        max_points=max_points,
        window_days=window_days,
        decay=decay,
        decay_days=decay_days,
    )


def parse_model(
    *,
    rules: Sequence[Mapping[str, Any]],
    warm_min: Any = 51,
    hot_min: Any = 81,
    mql_threshold: Any = 81,
    inactivity_days: Any = 0,
    inactivity_points: Any = 0,
    fit_fields: Iterable[str],
) -> ModelSpec:
    """Validate a whole version; raises :class:`RuleError` with every problem found."""
    errors: dict[str, list[str]] = {}
    fit_fields = list(fit_fields)

    def number(name: str, value: Any, **bounds: int) -> int:
        try:
            return _int(value, **bounds)
        except ValueError as exc:
            errors[name] = [str(exc)]
            return 0

    warm = number("warm_min", warm_min, minimum=-SCORE_LIMIT, maximum=SCORE_LIMIT)
    hot = number("hot_min", hot_min, minimum=-SCORE_LIMIT, maximum=SCORE_LIMIT)
    mql = number("mql_threshold", mql_threshold, minimum=-SCORE_LIMIT, maximum=SCORE_LIMIT)
    days = number("inactivity_days", inactivity_days, minimum=0, maximum=3650)
    inactive_points = number("inactivity_points", inactivity_points, minimum=-SCORE_LIMIT, maximum=SCORE_LIMIT)
    if "warm_min" not in errors and "hot_min" not in errors and warm > hot:
        errors["hot_min"] = ["The hot threshold must not be below the warm one."]
    if len(rules) > MAX_RULES:
        errors["rules"] = [f"At most {MAX_RULES} rules."]
    parsed: list[RuleSpec] = []
    seen: set[uuid.UUID] = set()
    for i, raw in enumerate(rules[:MAX_RULES]):
        if not isinstance(raw, Mapping):
            errors[f"rules.{i}"] = ["Give an object."]
            continue
        try:
            rule = parse_rule(raw, where=f"rules.{i}", fit_fields=fit_fields)
        except RuleError as exc:
            errors.update(exc.fields)
            continue
        if rule.key in seen:
            errors[f"rules.{i}.key"] = ["Two rules share this key."]
        seen.add(rule.key)
        parsed.append(rule)
    model = ModelSpec(
        rules=tuple(parsed),
        warm_min=warm,
        hot_min=hot,
        mql_threshold=mql,
        inactivity_days=days,
        inactivity_points=inactive_points,
    )
    if not errors and max_abs_total(model) > SCORE_LIMIT:
        errors["rules"] = [
            f"Together the rules could give more than {SCORE_LIMIT} points (caps of repeatable rules count)."
        ]
    if errors:
        raise RuleError(errors)
    return model
