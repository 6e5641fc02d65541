"""Routing rules: first match wins, else the rule set's default; explanations for previews."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from embudo.core.domain import conditions as cond

ACTIONS = ("assign_user", "assign_pool", "account_owner", "queue")
# Extra fields routing adds to the lead/company catalogue.
EXTRA_FIELDS = ("form", "product")


@dataclass(frozen=True)
class Rule:
    id: int
    name: str
    conditions: tuple[cond.Condition, ...]
    action: str
    user_id: int | None = None
    pool_id: int | None = None
    team_id: int | None = None


@dataclass(frozen=True)
class RuleCheck:
    rule_id: int
    name: str
    matched: bool
    failed: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Evaluation:
    rule: Rule | None  # None: the default action applies
    checks: list[RuleCheck]


def evaluate(rules: Sequence[Rule], record: Mapping[str, Any], *, explain: bool = False) -> Evaluation:
    """The first rule whose conditions all hold; with ``explain``, each rule checked up to the match
    and every rule's failing conditions (all rules are checked then, for the preview)."""
    checks: list[RuleCheck] = []
    matched: Rule | None = None
    for rule in rules:
        if not explain:
            if cond.matches(rule.conditions, record):
                return Evaluation(rule, checks)
            continue
        failed = cond.failing(rule.conditions, record)
        ok = not failed
        checks.append(RuleCheck(rule.id, rule.name, ok, [cond.describe(c) for c in failed]))
        if ok and matched is None:
            matched = rule
    return Evaluation(matched, checks)


def validate_action(action: str, *, user_id: int | None, pool_id: int | None, prefix: str = "") -> dict[str, list[str]]:
    """Field errors of an action and its target (``account_owner`` needs a fallback pool)."""
    errors: dict[str, list[str]] = {}
    if action not in ACTIONS:
        errors[f"{prefix}action"] = [f"Choose one of: {', '.join(ACTIONS)}."]
    elif action == "assign_user" and user_id is None:
        errors[f"{prefix}user_id"] = ["Choose a user."]
    elif action in ("assign_pool", "account_owner") and pool_id is None:
        errors[f"{prefix}pool_id"] = ["Choose a pool."]
    return errors
