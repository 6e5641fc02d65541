"""SQL builders of the scoring engine, as pure string functions (values always travel as parameters).

One implementation of the rule semantics of :mod:`embudo.scoring.domain.rules`, set-based:

- :func:`computed_sql` yields ``(lead_id, rule_key, points)`` rows (points never 0) for the leads of a
  ``scope`` CTE (column ``lead_id``) under some rules of a model;
- :func:`apply_sql` diffs a computed relation against the stored contributions of the scope's leads,
  appends the differences to the ledger, upserts/deletes contributions, updates the leads' score and
  grade where they changed, and returns the changed leads.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from embudo.core.domain import conditions as cond
from embudo.scoring.domain.rules import ENGAGEMENT, FIT, INACTIVITY_KEY, ModelSpec, RuleSpec, property_conditions

EVENT_TABLE = "core_domainevent"
CONTRIBUTIONS = "scoring_scorecontribution"
LEDGER = "scoring_scoreentry"
LEADS = "leads_lead"
RANKS = "leads_leadscorerank"
_AGE = "greatest(0::float8, date_part('epoch', %s::timestamptz - e.occurred_at) / 86400.0::float8)"


@dataclass(frozen=True)
class Fields:
    """The lead field catalogue (``leads.condition_fields``), passed in: the domain imports no Django."""

    columns: Mapping[str, str]
    custom_column: str
    from_sql: str


@dataclass(frozen=True)
class Sql:
    text: str
    params: list[Any]


def _empty() -> Sql:
    return Sql("SELECT NULL::bigint AS lead_id, NULL::uuid AS rule_key, NULL::int AS points WHERE FALSE", [])


def fit_sql(rules: Sequence[RuleSpec], fields: Fields) -> Sql:
    if not rules:
        return _empty()
    values: list[str] = []
    params: list[Any] = []
    for r in rules:
        predicate, p = cond.to_sql(r.conditions, fields.columns, custom_column=fields.custom_column)
        values.append(f"(%s::uuid, CASE WHEN {predicate} THEN %s::int ELSE 0 END)")
        params += [str(r.key), *p, r.points]
    text = (
        f"SELECT l.id AS lead_id, v.rule_key, v.points FROM {fields.from_sql} JOIN scope s ON s.lead_id = l.id "  # noqa: S608
        f"CROSS JOIN LATERAL (VALUES {', '.join(values)}) AS v(rule_key, points) WHERE v.points <> 0"
    )
    return Sql(text, params)


def weight_sql(rule: RuleSpec, now: datetime) -> Sql:
    if rule.decay == "none" or not rule.decay_days:
        return Sql("1::float8", [])
    if rule.decay == "linear":
        return Sql(f"greatest(0::float8, 1::float8 - {_AGE} / %s::float8)", [now, rule.decay_days])
    return Sql(f"power(0.5::float8, {_AGE} / %s::float8)", [now, rule.decay_days])


def engagement_sql(rules: Sequence[RuleSpec], now: datetime) -> Sql:
    if not rules:
        return _empty()
    values: list[str] = []
    params: list[Any] = []
    for r in rules:
        predicate, p = cond.to_sql(property_conditions(r.conditions), {}, custom_column="e.payload -> 'properties'")
        weight = weight_sql(r, now)
        window = ""
        window_params: list[Any] = []
        if r.window_days is not None:
            window = " AND e.occurred_at >= %s"
            window_params = [now - timedelta(days=r.window_days)]
        values.append(f"(%s::uuid, CASE WHEN e.type = %s AND {predicate}{window} THEN {weight.text} END)")
        params += [str(r.key), f"activity.{r.event_type}", *p, *window_params, *weight.params]
    types = sorted({f"activity.{r.event_type}" for r in rules})
    rule_values = ", ".join("(%s::uuid, %s::float8, %s::bool, %s::float8)" for _ in rules)
    for r in rules:
        params += [str(r.key), r.points, r.repeatable, abs(r.max_points) if r.max_points is not None else None]
    text = (
        "SELECT g.lead_id, g.rule_key, floor(CASE WHEN p.repeatable THEN "  # noqa: S608
        "(CASE WHEN p.cap IS NULL THEN p.points * g.sw ELSE greatest(-p.cap, least(p.cap, p.points * g.sw)) END) "
        "ELSE p.points * g.mw END + 0.5::float8)::int AS points "
        "FROM (SELECT e.lead_id, v.rule_key, sum(v.w) AS sw, max(v.w) AS mw "
        f"FROM {EVENT_TABLE} e JOIN scope s ON s.lead_id = e.lead_id "
        f"CROSS JOIN LATERAL (VALUES {', '.join(values)}) AS v(rule_key, w) "
        # The last two tests repeat the predicate of scoring_activity_lead_type_idx (PostgreSQL does not infer
        # it from the type list): the index gives each lead's events of these types, so only their rows are read.
        "WHERE e.type = ANY(%s) AND e.lead_id IS NOT NULL AND e.type LIKE 'activity.%%' AND v.w IS NOT NULL "
        "GROUP BY e.lead_id, v.rule_key) g "
        f"JOIN (VALUES {rule_values}) AS p(rule_key, points, repeatable, cap) ON p.rule_key = g.rule_key"
    )
    # The WHERE's type list sits between the lateral VALUES and the rule parameters.
    split = len(params) - 4 * len(rules)
    ordered = params[:split] + [types] + params[split:]
    return Sql(f"SELECT * FROM ({text}) eng WHERE eng.points <> 0", ordered)  # noqa: S608


def inactivity_sql(model: ModelSpec, now: datetime) -> Sql:
    if not model.inactivity_on:
        return _empty()
    cutoff = now - timedelta(days=model.inactivity_days)
    text = (
        f"SELECT s.lead_id, %s::uuid AS rule_key, %s::int AS points FROM scope s "  # noqa: S608
        f"JOIN {LEADS} li ON li.id = s.lead_id WHERE li.created_at <= %s AND NOT EXISTS ("
        f"SELECT 1 FROM {EVENT_TABLE} ea WHERE ea.lead_id = s.lead_id AND ea.occurred_at > %s "
        "AND left(ea.type, 9) = 'activity.')"
    )
    return Sql(text, [str(INACTIVITY_KEY), model.inactivity_points, cutoff, cutoff])


def computed_sql(model: ModelSpec, fields: Fields, now: datetime, keys: Iterable[uuid.UUID] | None = None) -> Sql:
    """Contributions of ``model``'s rules (only ``keys`` when given; INACTIVITY_KEY for inactivity)."""
    wanted = set(keys) if keys is not None else None
    rules = [r for r in model.rules if wanted is None or r.key in wanted]
    parts = [
        fit_sql([r for r in rules if r.kind == FIT], fields),
        engagement_sql([r for r in rules if r.kind == ENGAGEMENT], now),
    ]
    if wanted is None or INACTIVITY_KEY in wanted:
        parts.append(inactivity_sql(model, now))
    parts = [p for p in parts if "WHERE FALSE" not in p.text] or [_empty()]
    return Sql(" UNION ALL ".join(f"({p.text})" for p in parts), [x for p in parts for x in p.params])


def grade_case(score: str) -> str:
    return f"(CASE WHEN {score} >= %s THEN 'hot' WHEN {score} >= %s THEN 'warm' ELSE 'cold' END)"


def apply_sql(
    *,
    scope: Sql,
    computed: Sql,
    keep_keys: Sequence[uuid.UUID],
    model: ModelSpec,
    version_id: int | None,
    cause: str,
    event_id: int | None,
    now: datetime,
    labels: Mapping[uuid.UUID, str],
    removed_label: str,
    returning: bool = True,
    lead_range: tuple[int, int] | None = None,
    rescaled: Mapping[uuid.UUID, int] | None = None,
    keep_untouched: bool = False,
    write_rank: bool = False,
) -> Sql:
    """The diff-and-write statement. ``scope`` selects ``lead_id, old_score, old_grade``; ``computed`` may
    refer to ``scope``. Contributions of ``keep_keys`` are kept as they are (not recomputed); those of
    ``rescaled`` keys (rules whose points alone changed, see :func:`rules.rescalable`) take the rule's new
    points: no condition or event is evaluated for them. With ``keep_untouched``, ``computed`` holds the new
    points of some (lead, rule) pairs, 0 for none, and every other stored contribution is kept (incremental
    scoring of new events). With ``write_rank`` the statement also updates the leads' sort keys
    (``leads_leadscorerank``), for a caller that switches the row trigger off (bulk writes)."""
    rescaled_rows = [(k, p) for k, p in (rescaled or {}).items() if p != 0]
    rescaled_sql = ""
    rescaled_params: list[Any] = []
    if rescaled_rows:
        values = ", ".join("(%s::uuid, %s::int)" for _ in rescaled_rows)
        rescaled_sql = f"""
  UNION ALL SELECT o.lead_id, o.rule_key, r.points FROM old o
  JOIN (VALUES {values}) AS r(rule_key, points) ON r.rule_key = o.rule_key"""  # noqa: S608
        rescaled_params = [x for k, p in rescaled_rows for x in (str(k), p)]
    untouched_sql = (
        "\n  UNION ALL SELECT o.lead_id, o.rule_key, o.points FROM old o WHERE NOT EXISTS ("
        "SELECT 1 FROM computed t WHERE t.lead_id = o.lead_id AND t.rule_key = o.rule_key)"
        if keep_untouched
        else ""
    )
    rank_sql = (
        f",\nranked AS (\n  UPDATE {RANKS} r SET score = g.score FROM graded g\n"  # noqa: S608 - a constant table name
        "  WHERE r.lead_id = g.lead_id AND r.score <> g.score)"
        if write_rank
        else ""
    )
    # One JSON parameter, not two per rule: every parameter costs the driver a dump at every call, and this
    # statement runs for every scored lead (it had ~70 parameters, 40 of them labels, for a 20-rule model).
    label_json = json.dumps({str(k): v[:300] for k, v in labels.items()}, ensure_ascii=False)
    # A bulk chunk's lead id range, repeated on the contributions: an index range scan, not a hash join.
    range_sql = " WHERE c.lead_id BETWEEN %s AND %s" if lead_range is not None else ""
    range_params: list[Any] = list(lead_range) if lead_range is not None else []
    text = f"""
WITH scope AS MATERIALIZED ({scope.text}),
computed AS ({computed.text}),
old AS MATERIALIZED (
  SELECT c.lead_id, c.rule_key, c.points FROM {CONTRIBUTIONS} c JOIN scope s ON s.lead_id = c.lead_id{range_sql}),
new AS MATERIALIZED (
  SELECT lead_id, rule_key, points FROM computed WHERE points <> 0
  UNION ALL SELECT lead_id, rule_key, points FROM old WHERE rule_key = ANY(%s::uuid[]){rescaled_sql}{untouched_sql}),
diff AS MATERIALIZED (
  SELECT coalesce(n.lead_id, o.lead_id) AS lead_id, coalesce(n.rule_key, o.rule_key) AS rule_key,
         coalesce(n.points, 0) AS new_points, coalesce(o.points, 0) AS old_points
  FROM new n FULL JOIN old o ON o.lead_id = n.lead_id AND o.rule_key = n.rule_key
  WHERE coalesce(n.points, 0) <> coalesce(o.points, 0)),
graded AS MATERIALIZED (
  SELECT s.lead_id, s.old_score, s.old_grade, coalesce(t.score, 0) AS score,
         {grade_case("coalesce(t.score, 0)")} AS grade
  FROM scope s LEFT JOIN (SELECT lead_id, sum(points)::int AS score FROM new GROUP BY lead_id) t
  ON t.lead_id = s.lead_id),
ledger AS (
  INSERT INTO {LEDGER} (lead_id, version_id, rule_key, points, cause, reason, event_id, created_at)
  SELECT d.lead_id, %s::bigint, d.rule_key, d.new_points - d.old_points, %s::text, coalesce(lb.label, %s::text),
         %s::bigint, %s::timestamptz
  FROM diff d LEFT JOIN jsonb_each_text(%s::jsonb) AS lb(rule_key, label) ON lb.rule_key::uuid = d.rule_key),
upserted AS (
  INSERT INTO {CONTRIBUTIONS} (lead_id, rule_key, points, version_id, updated_at)
  SELECT lead_id, rule_key, new_points, %s::bigint, %s::timestamptz FROM diff WHERE new_points <> 0
  ON CONFLICT (lead_id, rule_key) DO UPDATE
  SET points = EXCLUDED.points, version_id = EXCLUDED.version_id, updated_at = EXCLUDED.updated_at),
removed AS (
  DELETE FROM {CONTRIBUTIONS} c USING diff d
  WHERE d.new_points = 0 AND c.lead_id = d.lead_id AND c.rule_key = d.rule_key),
updated AS (
  UPDATE {LEADS} l SET score = g.score, grade = g.grade FROM graded g
  WHERE l.id = g.lead_id AND (l.score <> g.score OR l.grade <> g.grade)){rank_sql}
SELECT {"g.lead_id, g.old_score, g.score, g.old_grade, g.grade" if returning else "count(*)"}
FROM graded g WHERE g.score <> g.old_score OR g.grade <> g.old_grade
"""  # noqa: S608
    params: list[Any] = [
        *scope.params,
        *computed.params,
        *range_params,
        [str(k) for k in keep_keys],
        *rescaled_params,
        model.hot_min,
        model.warm_min,
        version_id,
        cause[:80],
        removed_label,
        event_id,
        now,
        label_json,
        version_id,
        now,
    ]
    return Sql(text, params)
