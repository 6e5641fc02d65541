"""Reads of the inbox: the rep's "call first" list, snoozes, saved views and the manager's team view.

The rep's list is one SQL statement over the rep's open leads (routing's ``lead_owner_open_idx``), left-joined
to their pending SLA deadlines (``sla.selectors.pending_deadlines_sql``), minus snoozed leads, sorted by
:data:`INBOX_ORDER_SQL` — the SQL twin of ``domain.priority.priority_key`` — and cut to one page. Only the
page's rows then get their details (next task, SLA policy, last activity): one query each, never per row.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from urllib.parse import urlencode

from django.db import connection
from django.db.models import QuerySet

from embudo.accounts import selectors as accounts_selectors
from embudo.accounts.models import User
from embudo.inbox.domain import priority
from embudo.inbox.models import SavedView, Snooze
from embudo.leads import domain as leads_domain
from embudo.leads.models import CLOSED_STAGES, Grade, LifecycleStage
from embudo.sla import selectors as sla_selectors

PAGE_SIZE = 50
SLA_FILTERS = ("breaching", "due_soon", "any")
# The predicate of leads' ``lead_owner_open_idx`` (so the planner can use it; ``is_open`` = neither a closed
# status nor a closed stage), plus "no outcome yet".
OPEN_LEAD_SQL = "l.is_open AND l.outcome = ''"
# domain.priority.priority_key in SQL: urgent SLA, hot, nearest deadline, score, waiting longest, id.
INBOX_ORDER_SQL = (
    "CASE WHEN d.due_at <= %(urgent)s THEN 0 ELSE 1 END, CASE WHEN l.grade = 'hot' THEN 0 ELSE 1 END, "
    "d.due_at ASC NULLS LAST, l.score DESC, l.updated_at ASC, l.id ASC"
)


@dataclass(frozen=True)
class InboxFilters:
    grade: str = ""
    lifecycle: str = ""
    source: str = ""
    sla: str = ""  # "", "breaching" (deadline passed), "due_soon" (within the hour), "any" (a clock runs)
    overdue_task: bool = False
    search: str = ""

    @classmethod
    def from_query(cls, data: Any) -> InboxFilters:
        """From a query dict (request.GET or a saved view's query string); unknown values are ignored."""

        def one(name: str) -> str:
            value = data.get(name, "") or ""
            return str(value).strip()[:200]

        grade = one("grade")
        lifecycle = one("lifecycle")
        sla = one("sla")
        return cls(
            grade=grade if grade in Grade.values else "",
            lifecycle=lifecycle if lifecycle in LifecycleStage.values and lifecycle not in CLOSED_STAGES else "",
            source=one("source")[:64],
            sla=sla if sla in SLA_FILTERS else "",
            overdue_task=one("overdue_task") in ("1", "on", "true", "yes"),
            search=one("q"),
        )

    def to_query(self) -> str:
        pairs = [
            ("q", self.search), ("grade", self.grade), ("lifecycle", self.lifecycle), ("source", self.source),
            ("sla", self.sla), ("overdue_task", "1" if self.overdue_task else ""),
        ]  # fmt: skip
        return urlencode([(k, v) for k, v in pairs if v])

    @property
    def active(self) -> bool:
        return bool(self.to_query())


@dataclass
class InboxRow:
    lead_id: int
    first_name: str
    last_name: str
    email: str
    phone: str
    company: str
    grade: str
    score: int
    lifecycle_stage: str
    status: str
    source: str
    updated_at: datetime
    sla_due_at: datetime | None
    sla_state: str = "none"
    sla_policy: str = ""
    next_task: Any = None  # followups.models.Task (only id, kind, title, due_at loaded)
    next_task_overdue: bool = False
    last_activity_at: datetime | None = None
    last_activity_type: str = ""

    @property
    def name(self) -> str:
        full = " ".join(p for p in (self.first_name, self.last_name) if p)
        return full or self.email or f"#{self.lead_id}"

    @property
    def phone_digits(self) -> str:
        return "".join(ch for ch in self.phone if ch.isdigit())

    @property
    def lifecycle_label(self) -> str:
        return str(dict(LifecycleStage.choices).get(self.lifecycle_stage, self.lifecycle_stage))

    @property
    def grade_label(self) -> str:
        return str(dict(Grade.choices).get(self.grade, self.grade))


@dataclass
class InboxPage:
    rows: list[InboxRow]
    page: int
    has_next: bool
    now: datetime
    filters: InboxFilters = field(default_factory=InboxFilters)

    @property
    def has_previous(self) -> bool:
        return self.page > 1

    @property
    def start(self) -> int:
        return (self.page - 1) * PAGE_SIZE


def _where(user_id: int, filters: InboxFilters, now: datetime) -> tuple[list[str], dict[str, Any]]:
    """Conditions on ``l`` (the lead) shared by both halves of the inbox query; the SLA filter is apart."""
    clauses = ["l.owner_id = %(owner)s", OPEN_LEAD_SQL]
    params: dict[str, Any] = {"owner": user_id, "now": now, "urgent": now + priority.URGENT_WINDOW}
    clauses.append(
        "NOT EXISTS (SELECT 1 FROM inbox_snooze z WHERE z.user_id = %(owner)s AND z.lead_id = l.id"
        " AND z.until > %(now)s)"
    )
    if filters.grade:
        clauses.append("l.grade = %(grade)s")
        params["grade"] = filters.grade
    if filters.lifecycle:
        clauses.append("l.lifecycle_stage = %(lifecycle)s")
        params["lifecycle"] = filters.lifecycle
    if filters.source:
        clauses.append("l.source = %(source)s")
        params["source"] = filters.source
    if filters.overdue_task:
        # followups' open-tasks-by-lead index answers each probe.
        clauses.append(
            "EXISTS (SELECT 1 FROM followups_task t WHERE t.lead_id = l.id AND t.completed_at IS NULL"
            " AND t.due_at < %(now)s)"
        )
    if filters.search:
        terms = leads_domain.search_terms(filters.search)
        if terms:
            clauses.append("l.search_text LIKE %(search)s")
            params["search"] = "%" + terms.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
    return clauses, params


_SLA_CLAUSES = {
    "breaching": "d.due_at <= %(now)s",
    "due_soon": "d.due_at <= %(urgent)s",
    "any": "TRUE",
}
_COLUMNS = (
    "l.id, l.first_name, l.last_name, l.email, l.phone, l.company_id, l.company_name, l.grade, l.score,"
    " l.lifecycle_stage, l.status, l.source, l.updated_at"
)


def inbox_sql(
    user_id: int, filters: InboxFilters, now: datetime, *, limit: int, offset: int
) -> tuple[str, dict[str, Any]]:
    """The rep's inbox page as one statement (exposed for EXPLAIN in the benchmark).

    Two halves, because the order puts every lead with a pending SLA deadline (a few hundred at most)
    before the leads without one of the same (urgent, hot) bucket:

    * A: the rep's leads with a pending deadline, found from the SLA clocks (``sla_slaclock`` by owner);
    * B: leads without one, ``ORDER BY grade <> 'hot', score DESC, updated_at, id LIMIT offset + limit``:
      with the index ``bench.PROPOSED_INDEX`` on leads this is an ordered index scan that stops after one
      page; without it, one pass over the rep's open leads and a top-N sort (see the inbox benchmark).

    The outer query merges them in :data:`INBOX_ORDER_SQL` order, the twin of ``priority_key``.
    """
    clauses, params = _where(user_id, filters, now)
    params |= sla_selectors.pending_params(now) | {"limit": limit, "offset": offset, "window": offset + limit}
    deadlines = sla_selectors.pending_deadlines_sql(owner_param="owner")
    where = " AND ".join(clauses)
    sla_clause = _SLA_CLAUSES.get(filters.sla, "TRUE")
    with_deadline = f"SELECT {_COLUMNS}, d.due_at FROM d JOIN leads_lead l ON l.id = d.lead_id WHERE {where}"  # noqa: S608
    parts = [f"{with_deadline} AND {sla_clause}"]
    if not filters.sla:  # an SLA filter keeps only leads with a deadline
        parts.append(
            f"(SELECT {_COLUMNS}, NULL::timestamptz FROM leads_lead l WHERE {where}"  # noqa: S608
            " AND NOT EXISTS (SELECT 1 FROM d WHERE d.lead_id = l.id)"
            " ORDER BY l.grade <> 'hot', l.score DESC, l.updated_at, l.id LIMIT %(window)s)"
        )
    union = "\n UNION ALL ".join(parts)
    sql = f"""
        WITH d AS MATERIALIZED ({deadlines})
        SELECT l.id, l.first_name, l.last_name, l.email, l.phone, coalesce(co.name, l.company_name, ''),
               l.grade, l.score, l.lifecycle_stage, l.status, l.source, l.updated_at, d.due_at
        FROM ({union}) AS l (id, first_name, last_name, email, phone, company_id, company_name, grade, score,
                              lifecycle_stage, status, source, updated_at, due_at)
        CROSS JOIN LATERAL (SELECT l.due_at) AS d (due_at)
        LEFT JOIN leads_company co ON co.id = l.company_id
        ORDER BY {INBOX_ORDER_SQL}
        LIMIT %(limit)s OFFSET %(offset)s
    """  # noqa: S608 - clauses are constants of this module; values are parameters
    return sql, params


def list_inbox(user: User, *, filters: InboxFilters, page: int = 1, now: datetime) -> InboxPage:
    """One page of ``user``'s own open leads, most urgent first, with each row's details."""
    page = max(1, page)
    sql, params = inbox_sql(user.pk, filters, now, limit=PAGE_SIZE + 1, offset=(page - 1) * PAGE_SIZE)
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        raw = cursor.fetchall()
    rows = [
        InboxRow(int(r[0]), r[1], r[2], r[3], r[4], r[5], r[6], int(r[7]), r[8], r[9], r[10], r[11], r[12])
        for r in raw[:PAGE_SIZE]
    ]
    _add_details(rows, now)
    return InboxPage(rows=rows, page=page, has_next=len(raw) > PAGE_SIZE, now=now, filters=filters)


def _add_details(rows: list[InboxRow], now: datetime) -> None:
    if not rows:
        return
    ids = [r.lead_id for r in rows]
    deadlines = sla_selectors.open_deadlines(ids, now=now)
    tasks = next_tasks(ids)
    activity = last_activity(ids)
    for row in rows:
        row.sla_state = priority.sla_state(row.sla_due_at, now)
        deadline = deadlines.get(row.lead_id)
        if deadline is not None:
            row.sla_policy = deadline.policy_name
        task = tasks.get(row.lead_id)
        if task is not None:
            row.next_task = task
            row.next_task_overdue = task.due_at < now
        if row.lead_id in activity:
            row.last_activity_type, row.last_activity_at = activity[row.lead_id]


def next_tasks(lead_ids: Sequence[int]) -> dict[int, Any]:
    """followups' next open task per lead (empty while followups is not installed)."""
    try:
        from embudo.followups import selectors as followups_selectors
    except ImportError:  # pragma: no cover - followups ships in the same release
        return {}
    fetch = getattr(followups_selectors, "next_open_task_by_lead", None)
    return dict(fetch(lead_ids)) if fetch is not None else {}


def last_activity(lead_ids: Sequence[int]) -> dict[int, tuple[str, datetime]]:
    """The latest timeline event of each lead: one index probe per lead on (lead_id, occurred_at, id)."""
    if not lead_ids:
        return {}
    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT x.id, e.type, e.occurred_at
            FROM unnest(%s::bigint[]) AS x(id)
            CROSS JOIN LATERAL (
                SELECT type, occurred_at FROM core_domainevent
                WHERE lead_id = x.id ORDER BY occurred_at DESC, id DESC LIMIT 1
            ) e
            """,
            [list(lead_ids)],
        )
        return {int(r[0]): (str(r[1]), r[2]) for r in cursor.fetchall()}


def count_inbox(user: User, *, now: datetime) -> dict[str, int]:
    """Open leads of the rep not snoozed, how many are urgent (SLA breached or due within the hour), and how
    many are snoozed right now. Counts from the open-leads index and the (few) clocks and snoozes, so it
    never reads all of a rep's lead rows."""
    params = {"owner": user.pk, "now": now, "urgent": now + priority.URGENT_WINDOW, **sla_selectors.pending_params(now)}
    deadlines = sla_selectors.pending_deadlines_sql(owner_param="owner")
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            WITH z AS MATERIALIZED (
                SELECT z.lead_id FROM inbox_snooze z JOIN leads_lead l ON l.id = z.lead_id
                WHERE z.user_id = %(owner)s AND z.until > %(now)s AND l.owner_id = %(owner)s AND {OPEN_LEAD_SQL}
            )
            SELECT (SELECT count(*) FROM leads_lead l WHERE l.owner_id = %(owner)s AND {OPEN_LEAD_SQL}),
                   (SELECT count(*) FROM ({deadlines}) d JOIN leads_lead l ON l.id = d.lead_id
                     WHERE d.due_at <= %(urgent)s AND l.owner_id = %(owner)s AND {OPEN_LEAD_SQL}
                       AND NOT EXISTS (SELECT 1 FROM z WHERE z.lead_id = l.id)),
                   (SELECT count(*) FROM z)
            """,  # noqa: S608 - constant clauses
            params,
        )
        row = cursor.fetchone()
    total, urgent, snoozed = row if row else (0, 0, 0)
    return {"open": int(total) - int(snoozed), "urgent": int(urgent), "snoozed": int(snoozed)}


def list_snoozed(user: User, *, now: datetime, limit: int = 50) -> list[Snooze]:
    return list(
        Snooze.objects.filter(user=user, until__gt=now)
        .select_related("lead")
        .only("id", "until", "lead_id", "lead__first_name", "lead__last_name", "lead__email")
        .order_by("until", "id")[:limit]
    )


def get_snooze(user: User, lead_id: int) -> Snooze | None:
    return Snooze.objects.filter(user=user, lead_id=lead_id).first()


def list_saved_views(user: User) -> list[SavedView]:
    return list(SavedView.objects.filter(user=user).order_by("position", "id"))


def list_sources(user: User, *, now: datetime, limit: int = 30) -> list[str]:
    """Sources seen in the user's teams in the last 90 days (for the filter), most common first: read from
    speed-to-lead (indexed by date), not from the rep's thousands of leads."""
    from datetime import timedelta

    teams = None if user.role in ("admin", "marketing") else accounts_selectors.team_ids_of(user)
    return sla_selectors.list_sources(since=now - timedelta(days=90), team_ids=teams, limit=limit)


def open_lead_owned_by(user: User, lead_id: int) -> bool:
    """The lead is one of ``user``'s own leads (what a rep may act on from the inbox)."""
    from embudo.leads.models import Lead

    return Lead.objects.filter(pk=lead_id, owner_id=user.pk).exists()


# -- the manager's team view -------------------------------------------------------------------------------


def can_see_team_view(user: User) -> bool:
    return user.is_active and user.role in ("manager", "admin")


def team_scope(user: User) -> list[int] | None:
    """Teams whose queues ``user`` oversees (None: all, for admins)."""
    if user.role == "admin":
        return None
    return accounts_selectors.team_ids_of(user)


@dataclass(frozen=True)
class UnassignedLead:
    lead_id: int
    name: str
    company: str
    grade: str
    score: int
    team_id: int | None
    team_name: str
    created_at: datetime


@dataclass
class RepLoad:
    user_id: int
    name: str
    team_ids: list[int]
    open_leads: int = 0
    hot_leads: int = 0
    at_risk: int = 0
    open_tasks: int = 0
    overdue_tasks: int = 0


@dataclass
class TeamView:
    unassigned: list[UnassignedLead]
    breaching: list[sla_selectors.BreachingClock]
    workload: list[RepLoad]
    now: datetime
    reps_by_team: dict[int | None, list[RepLoad]] = field(default_factory=dict)

    def reps_for(self, team_id: int | None) -> list[RepLoad]:
        return self.reps_by_team.get(team_id) or self.workload


def list_unassigned(team_ids: list[int] | None, *, limit: int = 50) -> list[UnassignedLead]:
    """Open leads waiting in the team queues (no owner), oldest first (``lead_team_unassigned_idx``)."""
    team = "l.team_id = ANY(%(teams)s)" if team_ids is not None else "TRUE"
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            SELECT l.id, coalesce(nullif(trim(concat_ws(' ', l.first_name, l.last_name)), ''), l.email, ''),
                   l.company_name, l.grade, l.score, l.team_id, coalesce(t.name, ''), l.created_at
            FROM leads_lead l LEFT JOIN accounts_team t ON t.id = l.team_id
            WHERE l.owner_id IS NULL AND {team} AND {OPEN_LEAD_SQL}
            ORDER BY l.created_at, l.id
            LIMIT %(limit)s
            """,  # noqa: S608 - constant clauses
            {"teams": team_ids or [], "limit": limit},
        )
        return [UnassignedLead(int(r[0]), str(r[1]), str(r[2]), str(r[3]), int(r[4]), r[5], str(r[6]), r[7])
                for r in cursor.fetchall()]  # fmt: skip


def list_team_reps(team_ids: list[int] | None) -> list[RepLoad]:
    users = User.objects.filter(is_active=True, role__in=("sales_rep", "manager"))
    if team_ids is not None:
        users = users.filter(teams__id__in=team_ids)
    reps: dict[int, RepLoad] = {}
    for uid, name, email, team_id in users.values_list("id", "full_name", "email", "teams__id").order_by(
        "full_name", "id"
    ):
        rep = reps.setdefault(uid, RepLoad(uid, name or email, []))
        if team_id is not None and (team_ids is None or team_id in team_ids):
            rep.team_ids.append(team_id)
    return list(reps.values())


def workload(reps: list[RepLoad], *, now: datetime) -> list[RepLoad]:
    """Fill each rep's open and hot leads (one query over ``lead_owner_open_idx``), SLAs at risk (sla) and
    open/overdue tasks (followups)."""
    ids = [r.user_id for r in reps]
    if not ids:
        return reps
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT l.owner_id, count(*), count(*) FILTER (WHERE l.grade = 'hot') FROM leads_lead l "  # noqa: S608
            f"WHERE l.owner_id = ANY(%s) AND {OPEN_LEAD_SQL} GROUP BY l.owner_id",
            [ids],
        )
        leads = {int(r[0]): (int(r[1]), int(r[2])) for r in cursor.fetchall()}
    risk = sla_selectors.count_at_risk_by_owner(ids, now=now)
    tasks: dict[int, tuple[int, int]] = {}
    try:
        from embudo.followups import selectors as followups_selectors

        count = getattr(followups_selectors, "count_open_and_overdue_by_assignee", None)
        if count is not None:
            tasks = count(ids, now=now)
    except ImportError:  # pragma: no cover
        pass
    for rep in reps:
        rep.open_leads, rep.hot_leads = leads.get(rep.user_id, (0, 0))
        rep.at_risk = risk.get(rep.user_id, 0)
        rep.open_tasks, rep.overdue_tasks = tasks.get(rep.user_id, (0, 0))
    return reps


def team_view(user: User, *, now: datetime, with_workload: bool = True) -> TeamView:
    """The manager's view. ``with_workload=False`` skips the per-rep lead counts (they read every open lead of
    the team: the page loads them as a fragment of their own, after the urgent lists)."""
    teams = team_scope(user)
    reps = list_team_reps(teams)
    if with_workload:
        reps = workload(reps, now=now)
    by_team: dict[int | None, list[RepLoad]] = {}
    for rep in reps:
        for team_id in rep.team_ids:
            by_team.setdefault(team_id, []).append(rep)
    return TeamView(
        unassigned=list_unassigned(teams),
        breaching=sla_selectors.list_breaching(team_ids=teams, now=now),
        workload=reps,
        now=now,
        reps_by_team=by_team,
    )


def team_workload(user: User, *, now: datetime) -> list[RepLoad]:
    return workload(list_team_reps(team_scope(user)), now=now)


def saved_views_queryset(user: User) -> QuerySet[SavedView]:
    return SavedView.objects.filter(user=user)
