"""Reads of the leads context. Everything a user sees goes through ``leads_visible_to``."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from django.db import connection
from django.db.models import Count, Q, QuerySet

from embudo.accounts import domain as accounts_domain
from embudo.accounts import selectors as accounts_selectors
from embudo.accounts.models import User
from embudo.core import rows
from embudo.core.models import DomainEvent
from embudo.core.pagination import Page, seek
from embudo.leads import domain
from embudo.leads.models import Company, Lead

SORTS: dict[str, tuple[str, bool]] = {
    "-created": ("created_at", True),
    "created": ("created_at", False),
    "-updated": ("updated_at", True),
    # The score's sort key lives in LeadScoreRank (its index there keeps score updates off leads_lead's).
    "-score": ("score_rank__score", True),
    "score": ("score_rank__score", False),
    "last_name": ("last_name", False),
}
DEFAULT_SORT = "-created"


@dataclass(frozen=True)
class LeadFilters:
    search: str = ""
    owner_id: int | None = None
    unassigned: bool = False
    team_id: int | None = None
    lifecycle_stage: str = ""
    status: str = ""
    grade: str = ""
    source: str = ""
    country: str = ""
    company_id: int | None = None
    sort: str = DEFAULT_SORT
    extra: dict[str, str] = field(default_factory=dict)


def leads_visible_to(user: User) -> QuerySet[Lead]:
    """Role scoping: reps see their own leads and their teams' unassigned ones; managers their
    teams' leads (and their own); marketing and admins everything."""
    leads = Lead.objects.all()
    if accounts_domain.sees_all_leads(user.role):
        return leads
    team_ids = accounts_selectors.team_ids_of(user)
    if user.role == "manager":
        return leads.filter(Q(team_id__in=team_ids) | Q(owner_id=user.pk))
    return leads.filter(Q(owner_id=user.pk) | Q(owner_id__isnull=True, team_id__in=team_ids))


def filter_leads(leads: QuerySet[Lead], filters: LeadFilters) -> QuerySet[Lead]:
    text_filters = (filters.search, filters.lifecycle_stage, filters.status, filters.grade, filters.source)
    if not domain.can_match(*text_filters, filters.country):
        return leads.none()
    if filters.search:
        terms = domain.search_terms(filters.search)
        if terms:
            leads = leads.filter(search_text__contains=terms)
    if filters.owner_id is not None:
        leads = leads.filter(owner_id=filters.owner_id)
    if filters.unassigned:
        leads = leads.filter(owner_id__isnull=True)
    if filters.team_id is not None:
        leads = leads.filter(team_id=filters.team_id)
    if filters.company_id is not None:
        leads = leads.filter(company_id=filters.company_id)
    for name in ("lifecycle_stage", "status", "grade", "source", "country"):
        value = getattr(filters, name)
        if value:
            leads = leads.filter(**{name: value})
    return leads


def list_leads_visible_to(
    user: User, *, filters: LeadFilters, cursor: str | None = None, limit: int = 50
) -> Page[Lead]:
    key, descending = SORTS.get(filters.sort, SORTS[DEFAULT_SORT])
    leads = filter_leads(leads_visible_to(user), filters).select_related("owner", "company", "team")
    if key.startswith("score_rank__"):
        # An inner join (every lead has its rank row), so the planner may walk the rank index in order.
        leads = leads.filter(score_rank__isnull=False).select_related("score_rank")
    return seek(leads, key=key, descending=descending, cursor=cursor, limit=limit)


def get_lead_visible_to(user: User, lead_id: int) -> Lead | None:
    return leads_visible_to(user).select_related("owner", "company", "team").filter(pk=lead_id).first()


def _type_filter(types: Sequence[str] | None, prefixes: Sequence[str] | None) -> Q | None:
    """``type IN (…) OR type LIKE 'p.%' …``: exact event types and type prefixes (``"interactions."``)."""
    condition = Q(type__in=list(types)) if types else None
    for prefix in prefixes or ():
        starts = Q(type__startswith=prefix)
        condition = starts if condition is None else condition | starts
    return condition


def _timeline_events(
    lead_id: int, types: Sequence[str] | None, prefixes: Sequence[str] | None
) -> QuerySet[DomainEvent]:
    events = DomainEvent.objects.filter(lead_id=lead_id)
    condition = _type_filter(types, prefixes)
    return events.filter(condition) if condition is not None else events


def list_timeline(
    lead_id: int, *, limit: int = 100, types: list[str] | None = None, prefixes: Sequence[str] | None = None
) -> list[DomainEvent]:
    """The lead's newest events; ``types`` (exact) and ``prefixes`` (``"pipeline."``) narrow them (either matches).

    Served by ``event_lead_time_idx`` (lead_id, occurred_at DESC, id DESC): the type test is a filter
    on that index scan, so it stays bounded by the lead's own events.
    """
    return list(_timeline_events(lead_id, types, prefixes).order_by("-occurred_at", "-id")[:limit])


def timeline_page(
    lead_id: int,
    *,
    types: Sequence[str] | None = None,
    prefixes: Sequence[str] | None = None,
    cursor: str | None = None,
    limit: int = 50,
) -> Page[DomainEvent]:
    """One page of the lead's timeline, newest first, keyset-paginated on (occurred_at, id).

    Raises ``ValueError`` for a cursor that is not one of ours.
    """
    return seek(
        _timeline_events(lead_id, types, prefixes), key="occurred_at", descending=True, cursor=cursor, limit=limit
    )


def count_timeline_types(lead_id: int) -> dict[str, int]:
    """How many events of each type the lead has: one GROUP BY over the lead's rows of ``event_lead_time_idx``."""
    rows = DomainEvent.objects.filter(lead_id=lead_id).values_list("type").annotate(n=Count("id")).order_by()
    return dict(rows)


def actor_names(events: list[DomainEvent]) -> dict[int, str]:
    ids = {e.actor_id for e in events if e.actor_id}
    if not ids:
        return {}
    return {u.pk: u.display_name for u in User.objects.filter(pk__in=ids).only("id", "full_name", "email")}


def get_company(company_id: int) -> Company | None:
    return Company.objects.filter(pk=company_id).first()


def list_companies(search: str = "", limit: int = 20) -> list[Company]:
    companies = Company.objects.all()
    if search:
        companies = companies.filter(name__icontains=search)
    return list(companies.order_by("name")[:limit])


def count_leads_visible_to(user: User, *, filters: LeadFilters, cap: int = 10_000) -> tuple[int, bool]:
    """Count matching leads up to ``cap`` (exact counts at 1M rows are slow); returns (count, capped)."""
    ids = filter_leads(leads_visible_to(user), filters).values("id")[: cap + 1]
    n = Lead.objects.filter(id__in=ids).count()
    return min(n, cap), n > cap


# Both lookups in one round trip, ranked by key. Each branch repeats its partial index's predicate
# (email <> '', phone <> '') so PostgreSQL uses the index. A branch is sent only for a key the submission
# has: with ``phone = ''`` the planner read "phone = '' AND phone <> ''" as ~3,500 matching leads (the
# empty phone is a common value) and walked lead_created_idx backwards looking for the newest, through
# the whole table: 1.9 s per phone-less submission at 1M leads, once ANALYZE had seen enough of them.
_EMAIL_BRANCH = (
    "(SELECT {columns}, 1 AS key_rank FROM leads_lead l WHERE lower(l.email) = %s AND l.email <> '' LIMIT 1)"
)
_PHONE_BRANCH = (
    "(SELECT {columns}, 2 AS key_rank FROM leads_lead l WHERE l.phone = %s AND l.phone <> ''"
    " ORDER BY l.created_at DESC, l.id DESC LIMIT 1)"
)
_FIND_LEAD_BY_EMAIL_OR_PHONE = f"{_EMAIL_BRANCH} UNION ALL {_PHONE_BRANCH} ORDER BY key_rank LIMIT 1"


def find_lead_by_keys(*, email: str = "", phone: str = "") -> Lead | None:
    """Exact-key match for intake: normalized email first (unique), then E.164 phone (newest lead).

    One query, written as SQL because it runs for every submission (the ORM's ``UNION`` of two
    full-row selects costs more to compile than to execute), read with ``core.rows`` (a raw queryset
    resolves its columns again at every call). An empty key is not looked up.
    """
    if email and phone:
        sql, params = _FIND_LEAD_BY_EMAIL_OR_PHONE, [email.lower(), phone]
    elif email:
        sql, params = _EMAIL_BRANCH, [email.lower()]
    elif phone:
        sql, params = _PHONE_BRANCH, [phone]
    else:
        return None
    plan = rows.row_plan(Lead, "l")
    with connection.cursor() as cursor:
        cursor.execute(sql.format(columns=plan.columns), params)
        row = cursor.fetchone()
    return rows.instance_from_row(plan, row) if row is not None else None


# ``find_lead_by_keys`` for many (email, phone) pairs in one statement: the same two ranked branches per
# pair, in a LATERAL join. Inside it a branch's ``k.email <> ''`` is a one-time filter on the outer value,
# so a pair without that key runs no scan at all (see the single lookup's comment on ``phone = ''``).
_FIND_LEADS_BY_KEYS = (
    "SELECT k.n, {columns} FROM unnest(%s::text[], %s::text[]) WITH ORDINALITY AS k(email, phone, n) "
    "CROSS JOIN LATERAL ("
    "(SELECT l.*, 1 AS key_rank FROM leads_lead l WHERE k.email <> '' AND lower(l.email) = k.email"
    " AND l.email <> '' LIMIT 1) UNION ALL "
    "(SELECT l.*, 2 AS key_rank FROM leads_lead l WHERE k.phone <> '' AND l.phone = k.phone AND l.phone <> ''"
    " ORDER BY l.created_at DESC, l.id DESC LIMIT 1) ORDER BY key_rank LIMIT 1) l"
)


def find_leads_by_keys(pairs: Sequence[tuple[str, str]]) -> list[Lead | None]:
    """``find_lead_by_keys(email=, phone=)`` for each (email, phone) pair, in order, in one query."""
    if not pairs:
        return []
    plan = rows.row_plan(Lead, "l")
    found: list[Lead | None] = [None] * len(pairs)
    with connection.cursor() as cursor:
        cursor.execute(
            _FIND_LEADS_BY_KEYS.format(columns=plan.columns),
            [[(e or "").lower() for e, _ in pairs], [p or "" for _, p in pairs]],
        )
        for row in cursor.fetchall():
            found[int(row[0]) - 1] = rows.instance_from_row(plan, row, start=1)
    return found


def get_lead(lead_id: int) -> Lead | None:
    return Lead.objects.select_related("owner", "company").filter(pk=lead_id).first()
