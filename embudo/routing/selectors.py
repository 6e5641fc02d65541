"""Reads of the routing context: rule sets, pools, schedules, assignments, speed-to-lead marks."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.db import connection
from django.db.models import Prefetch, QuerySet
from django.utils.translation import gettext_lazy as _

from embudo.accounts.models import User
from embudo.leads import condition_fields
from embudo.notifications import selectors as notifications_selectors
from embudo.routing.domain import eligibility
from embudo.routing.domain.schedule import on_shift
from embudo.routing.models import (
    Assignment,
    OutOfOffice,
    Pool,
    PoolMember,
    RepSchedule,
    RoutingRule,
    RuleSet,
    RuleSetStatus,
    SpeedToLead,
)


def field_choices() -> list[tuple[str, Any]]:
    """Fields a routing condition may test: the lead/company catalogue plus ``form`` and ``product``."""
    return [
        *condition_fields.choices(),
        ("form", _("Form (slug of the lead's first capture form)")),
        ("product", _("Product of interest (custom field “product”)")),
    ]


def field_names() -> list[str]:
    return [name for name, _label in field_choices()]


# --- rule sets -------------------------------------------------------------------------------------


def _with_rules(queryset: QuerySet[RuleSet]) -> QuerySet[RuleSet]:
    rules = RoutingRule.objects.select_related("user", "pool", "team").order_by("position", "id")
    return queryset.select_related("team", "default_user", "default_pool", "default_team").prefetch_related(
        Prefetch("rules", queryset=rules)
    )


def list_rule_sets(*, team_id: int | None = None, all_scopes: bool = True) -> list[RuleSet]:
    """Rule sets newest first (every scope, or one team's / the global one's when ``all_scopes`` is False)."""
    queryset = RuleSet.objects.select_related("team").order_by("team__name", "-number")
    if not all_scopes:
        queryset = queryset.filter(team__isnull=True) if team_id is None else queryset.filter(team_id=team_id)
    return list(queryset)


def get_rule_set(rule_set_id: int) -> RuleSet | None:
    """A rule set with its rules (ordered), their targets and its default action's targets."""
    return _with_rules(RuleSet.objects.filter(pk=rule_set_id)).first()


def published_rule_set(team_id: int | None) -> RuleSet | None:
    """The rule set that routes a lead of ``team_id``: the team's published one, else the global one."""
    candidates = RuleSet.objects.filter(status=RuleSetStatus.PUBLISHED)
    if team_id is not None:
        found = _with_rules(candidates.filter(team_id=team_id)).first()
        if found is not None:
            return found
    return _with_rules(candidates.filter(team__isnull=True)).first()


# Published rule sets are immutable (a change is a new draft, published as a new row), so each
# process keeps the rows it has read; only which one is published is asked at every intake.
_published_rule_sets: dict[int, RuleSet] = {}


def published_rule_set_row(team_id: int | None) -> RuleSet | None:
    """The routing rule set of a lead of ``team_id`` (team's, else global), without its rules (the intake
    path caches the parsed rules of published rule sets, which never change). One small indexed query."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT id FROM routing_ruleset WHERE status = %s AND (team_id = %s OR team_id IS NULL)"
            " ORDER BY team_id NULLS LAST LIMIT 1",
            [RuleSetStatus.PUBLISHED, team_id],
        )
        row = cursor.fetchone()
    if row is None:
        return None
    rule_set_id = int(row[0])
    cached = _published_rule_sets.get(rule_set_id)
    if cached is None:
        cached = RuleSet.objects.filter(pk=rule_set_id, status=RuleSetStatus.PUBLISHED).first()
        if cached is None:  # archived in between
            return None
        if len(_published_rule_sets) > 1000:
            _published_rule_sets.clear()
        _published_rule_sets[rule_set_id] = cached
    return cached


def active_rules(rule_set_id: int) -> list[RoutingRule]:
    return list(RoutingRule.objects.filter(rule_set_id=rule_set_id, active=True).order_by("position", "id"))


def rules_of(rule_set: RuleSet) -> list[RoutingRule]:
    return list(rule_set.rules.all())


# --- pools -----------------------------------------------------------------------------------------


def list_pools(*, include_inactive: bool = True) -> list[Pool]:
    queryset = Pool.objects.select_related("team", "fallback_user").prefetch_related(
        Prefetch("members", queryset=PoolMember.objects.select_related("user").order_by("id"))
    )
    if not include_inactive:
        queryset = queryset.filter(active=True)
    return list(queryset.order_by("name"))


def get_pool(pool_id: int) -> Pool | None:
    return (
        Pool.objects.select_related("team", "fallback_user")
        .prefetch_related(Prefetch("members", queryset=PoolMember.objects.select_related("user").order_by("id")))
        .filter(pk=pool_id)
        .first()
    )


def schedule_of(user_id: int) -> RepSchedule | None:
    return RepSchedule.objects.filter(user_id=user_id).first()


def out_of_office_of(user_id: int, *, current_or_future_at: datetime | None = None) -> list[OutOfOffice]:
    queryset = OutOfOffice.objects.filter(user_id=user_id)
    if current_or_future_at is not None:
        queryset = queryset.filter(end__gt=current_or_future_at)
    return list(queryset.order_by("start"))


def assignable_users() -> QuerySet[User]:
    """Users a rule or pool may target (active; any role)."""
    return User.objects.filter(is_active=True).order_by("full_name", "email")


_CANDIDATES_SQL = """
SELECT m.id, m.user_id, m.weight, m.active, m.capacity, m.skills, m.languages,
       u.is_active, coalesce(nullif(u.full_name, ''), u.email),
       s.user_id IS NOT NULL, s.time_zone, s.hours,
       EXISTS (SELECT 1 FROM routing_outofoffice o
               WHERE o.user_id = m.user_id AND o.start <= %(now)s AND o."end" > %(now)s),
       coalesce(ol.open_leads, 0),
       u.language, np.in_app, np.email, u.email, u.full_name
FROM routing_poolmember m
JOIN accounts_user u ON u.id = m.user_id
LEFT JOIN routing_repschedule s ON s.user_id = m.user_id
LEFT JOIN leads_ownerload ol ON ol.user_id = m.user_id
LEFT JOIN notifications_notificationpreference np ON np.user_id = m.user_id AND np.kind = %(notice)s
WHERE m.pool_id = %(pool_id)s
ORDER BY m.id
"""
# The notification a chosen member gets (``routing.services._apply``); its recipient data comes with the snapshot.
ASSIGNED_NOTICE = "lead_assigned"


@dataclass(frozen=True)
class PoolSnapshot:
    """``candidates``: every member, for eligibility; ``recipients``: user id → the channels and language of the
    ``lead_assigned`` notification (``notifications.selectors.recipient_from_row``), for whoever is chosen;
    ``contacts``: user id → (email, full name), which the intake's answer shows of the new owner."""

    candidates: list[eligibility.Candidate]
    recipients: dict[int, notifications_selectors.Recipient]
    contacts: dict[int, tuple[str, str]] = field(default_factory=dict)


def pool_snapshot(pool: Pool, *, at: datetime) -> PoolSnapshot:
    """Every member of ``pool`` as an eligibility snapshot at ``at``, in ONE query.

    A member's open leads (``Lead.is_open``: status not converted/disqualified, stage not customer/disqualified)
    come from ``leads_ownerload``, the count the leads' triggers keep: one index lookup, where counting the
    leads cost O(open leads) per member at every pick (5.6 ms for 10 reps with ~265 open leads each). The
    members' notification preferences come along, so the chosen one's notice needs no query of its own
    under the pool's lock.
    """
    params: dict[str, Any] = {"now": at, "pool_id": pool.pk, "notice": ASSIGNED_NOTICE}
    with connection.cursor() as cursor:
        cursor.execute(_CANDIDATES_SQL, params)
        rows = cursor.fetchall()
    candidates: list[eligibility.Candidate] = []
    recipients: dict[int, notifications_selectors.Recipient] = {}
    contacts: dict[int, tuple[str, str]] = {}
    for (member_id, user_id, weight, member_active, capacity, skills, languages, user_active, name,
         has_schedule, time_zone, hours, away, open_leads, language, in_app, email, user_email,
         full_name) in rows:  # fmt: skip
        if isinstance(skills, str):  # pragma: no cover - psycopg decodes jsonb
            import json

            skills, languages, hours = json.loads(skills), json.loads(languages), json.loads(hours or "{}")
        candidates.append(
            eligibility.Candidate(
                member_id=member_id,
                user_id=user_id,
                weight=weight,
                user_active=user_active,
                member_active=member_active,
                on_shift=(not has_schedule) or on_shift(hours or {}, time_zone, at),
                out_of_office=away,
                open_leads=open_leads,
                capacity=capacity,
                skills=eligibility.normalise_tags(skills or ()),
                languages=eligibility.normalise_tags(languages or ()),
                name=name,
            )
        )
        recipients[user_id] = notifications_selectors.recipient_from_row(ASSIGNED_NOTICE, language, in_app, email)
        contacts[user_id] = (str(user_email), str(full_name))
    return PoolSnapshot(candidates, recipients, contacts)


def pool_candidates(pool: Pool, *, at: datetime, exclude_user_ids: Sequence[int] = ()) -> list[eligibility.Candidate]:
    """The members of :func:`pool_snapshot` (``exclude_user_ids`` is applied by ``eligibility.Requirements``)."""
    del exclude_user_ids
    return pool_snapshot(pool, at=at).candidates


# --- assignments and speed -------------------------------------------------------------------------


@dataclass(frozen=True)
class AssignmentView:
    latest: Assignment | None
    history: list[Assignment]


def assignments_of(lead_id: int, *, limit: int = 50) -> AssignmentView:
    """The lead's assignments, newest first (the first is the current one)."""
    history = list(
        Assignment.objects.filter(lead_id=lead_id)
        .select_related("user", "team", "pool", "actor")
        .order_by("-created_at", "-id")[:limit]
    )
    return AssignmentView(latest=history[0] if history else None, history=history)


def latest_assignment(lead_id: int) -> Assignment | None:
    return (
        Assignment.objects.filter(lead_id=lead_id)
        .select_related("user", "team", "pool", "actor")
        .order_by("-created_at", "-id")
        .first()
    )


def speed_of(lead_id: int) -> SpeedToLead | None:
    return SpeedToLead.objects.filter(lead_id=lead_id).first()


def form_slug_of(lead_id: int) -> str:
    """The slug of the capture form of the lead's first form submission ("" when none)."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT f.slug FROM capture_submission s JOIN capture_form f ON f.id = s.form_id "
            "WHERE s.lead_id = %s AND s.form_id IS NOT NULL ORDER BY s.received_at, s.id LIMIT 1",
            [lead_id],
        )
        row = cursor.fetchone()
    return str(row[0]) if row else ""


def form_slug(form_id: int) -> str:
    with connection.cursor() as cursor:
        cursor.execute("SELECT slug FROM capture_form WHERE id = %s", [form_id])
        row = cursor.fetchone()
    return str(row[0]) if row else ""


def team_manager_ids(team_id: int | None) -> list[int]:
    """Active managers of a team (the alert recipients when nobody is eligible); admins when no team."""
    users = User.objects.filter(is_active=True)
    if team_id is None:
        return list(users.filter(role="admin").values_list("id", flat=True))
    return list(users.filter(role="manager", teams=team_id).values_list("id", flat=True))
