"""Reads of the SLA context: policies, calendars, clocks, compliance and speed-to-lead percentiles.

Speed-to-lead reads routing's ``routing_speedtolead`` table (one row per lead, first value of each
mark wins) with set-based SQL: ``percentile_cont`` per group over the ``received_at`` period, which
routing indexes (``received_at``; ``team_id, received_at``).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Literal

from django.db import connection
from django.db.models import Count, Q, QuerySet

from embudo.accounts import selectors as accounts_selectors
from embudo.accounts.models import Team, User
from embudo.core import rows
from embudo.sla.domain.calendar import BusinessCalendar, CalendarError
from embudo.sla.models import ClockStatus, Holiday, SlaClock, SlaPolicy

VIEW_ROLES = frozenset({"admin", "manager", "marketing"})
MANAGE_ROLES = frozenset({"admin", "manager"})
GroupBy = Literal["team", "source", "rep"]
# (label, start mark column, end mark column)
SPANS: tuple[tuple[str, str, str], ...] = (
    ("assigned", "received_at", "assigned_at"),
    ("notified", "received_at", "notified_at"),
    ("first_touch", "received_at", "first_touch_at"),
)


def can_view_dashboard(user: User) -> bool:
    return user.is_active and user.role in VIEW_ROLES


def can_manage_policies(user: User) -> bool:
    return user.is_active and user.role in MANAGE_ROLES


def scoped_team_ids(user: User) -> list[int] | None:
    """Teams whose figures ``user`` may see (None: all of them)."""
    if user.role in ("admin", "marketing"):
        return None
    return accounts_selectors.team_ids_of(user)


# -- policies and calendars -----------------------------------------------------------------------------


def list_policies() -> QuerySet[SlaPolicy]:
    return SlaPolicy.objects.select_related("team").order_by("name", "id")


def get_policy(policy_id: int) -> SlaPolicy | None:
    return SlaPolicy.objects.filter(pk=policy_id).first()


def active_policies(trigger: str) -> list[SlaPolicy]:
    # Plain SQL (``core.rows``): read for every routed lead; the ORM's compilation cost ~1 ms here.
    plan = rows.row_plan(SlaPolicy, "p")
    with connection.cursor() as cursor:
        sql = f"SELECT {plan.columns} FROM sla_slapolicy p WHERE p.active AND p.trigger = %s"  # noqa: S608
        cursor.execute(sql + " ORDER BY p.id", [trigger])
        return [rows.instance_from_row(plan, row) for row in cursor.fetchall()]


def leads_with_open_clocks(lead_ids: Sequence[int]) -> set[int]:
    """Which of ``lead_ids`` have an open SLA clock (one index range per lead)."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT DISTINCT lead_id FROM sla_slaclock WHERE lead_id = ANY(%s) AND status = %s",
            [list(lead_ids), ClockStatus.OPEN],
        )
        return {int(row[0]) for row in cursor.fetchall()}


def list_holidays() -> QuerySet[Holiday]:
    return Holiday.objects.select_related("team").order_by("date", "id")


def calendar_for(*, owner_id: int | None, team_id: int | None) -> BusinessCalendar:
    """The owner's business calendar: their routing schedule (time zone and hours) when they have one,
    else their team's time zone 09:00–18:00 Monday to Friday; closed on global and team holidays."""
    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT s.time_zone, s.hours, t.time_zone,
                   ARRAY(SELECT h.date FROM sla_holiday h WHERE h.team_id IS NULL OR h.team_id = %s)
            FROM (SELECT 1) one
            LEFT JOIN routing_repschedule s ON s.user_id = %s
            LEFT JOIN accounts_team t ON t.id = %s
            """,
            [team_id, owner_id, team_id],
        )
        row = cursor.fetchone()
    rep_zone, rep_hours, team_zone, holidays = row if row else (None, None, None, [])
    holiday_dates: Iterable[date] = holidays or []
    if rep_zone and rep_hours and any(rep_hours.values()):
        try:
            hours = rep_hours if isinstance(rep_hours, dict) else {}
            return BusinessCalendar.from_hours(rep_zone, hours, holidays=holiday_dates)
        except CalendarError:
            pass  # a broken schedule falls back to office hours rather than stopping the clock
    try:
        return BusinessCalendar.office_hours(team_zone or rep_zone or "UTC", holidays=holiday_dates)
    except CalendarError:
        return BusinessCalendar.office_hours("UTC", holidays=holiday_dates)


def manager_ids(team_id: int | None) -> list[int]:
    """Who hears about a breach: the active managers of the lead's team (admins when it has none)."""
    users = User.objects.filter(is_active=True)
    if team_id is not None:
        found = list(users.filter(role="manager", teams__id=team_id).values_list("id", flat=True).distinct())
        if found:
            return found
    return list(users.filter(role="admin").values_list("id", flat=True))


def lead_was_touched(lead_id: int) -> bool:
    """A first touch is on record (routing's speed-to-lead mark, or a clock met by a touch)."""
    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT EXISTS (SELECT 1 FROM routing_speedtolead WHERE lead_id = %s AND first_touch_at IS NOT NULL)
                OR EXISTS (SELECT 1 FROM sla_slaclock WHERE lead_id = %s AND met_at IS NOT NULL)
            """,
            [lead_id, lead_id],
        )
        row = cursor.fetchone()
    return bool(row and row[0])


# -- clocks ------------------------------------------------------------------------------------------------


def clocks_visible_to(user: User) -> QuerySet[SlaClock]:
    """Admins and marketing see every clock, managers their teams' (and their own), reps their own."""
    clocks = SlaClock.objects.all()
    if user.role in ("admin", "marketing"):
        return clocks
    if user.role == "manager":
        teams = accounts_selectors.team_ids_of(user)
        return clocks.filter(Q(lead__team_id__in=teams) | Q(team_id__in=teams) | Q(owner_id=user.pk))
    return clocks.filter(owner_id=user.pk)


def list_clocks_visible_to(
    user: User, *, status: str = ClockStatus.OPEN, team_id: int | None = None, limit: int = 50
) -> list[SlaClock]:
    """Clocks by deadline (the most urgent first), with lead, owner and policy."""
    clocks = clocks_visible_to(user).filter(status=status)
    if team_id is not None:
        clocks = clocks.filter(team_id=team_id)
    order = ("due_at", "id") if status == ClockStatus.OPEN else ("-started_at", "-id")
    return list(clocks.select_related("lead", "owner", "policy").order_by(*order)[:limit])


@dataclass(frozen=True)
class Compliance:
    policy_id: int
    policy_name: str
    met: int
    breached: int
    open: int

    @property
    def decided(self) -> int:
        return self.met + self.breached

    @property
    def percent(self) -> float | None:
        return round(100 * self.met / self.decided, 1) if self.decided else None


def compliance(*, since: datetime, until: datetime, team_ids: Sequence[int] | None = None) -> list[Compliance]:
    """Per policy: clocks started in the period that were met, breached, or are still open."""
    clocks = SlaClock.objects.filter(started_at__gte=since, started_at__lt=until)
    if team_ids is not None:
        clocks = clocks.filter(team_id__in=list(team_ids))
    rows = (
        clocks.values("policy_id", "policy__name")
        .annotate(
            met=Count("id", filter=Q(status=ClockStatus.MET)),
            breached=Count("id", filter=Q(status=ClockStatus.BREACHED)),
            open=Count("id", filter=Q(status=ClockStatus.OPEN)),
        )
        .order_by("policy__name")
    )
    return [Compliance(r["policy_id"], r["policy__name"], r["met"], r["breached"], r["open"]) for r in rows]


# -- speed to lead --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SpanStats:
    count: int
    p50_seconds: float | None
    p95_seconds: float | None


@dataclass(frozen=True)
class SpeedRow:
    key: str  # team id, source or rep id as text; "" for none; "all" for the total row
    label: str
    leads: int
    spans: dict[str, SpanStats]


_GROUP_SQL: dict[str, str] = {"team": "s.team_id::text", "source": "s.source", "rep": "s.owner_id::text"}


def speed_to_lead(
    *,
    since: datetime,
    until: datetime,
    group_by: GroupBy | None = None,
    team_ids: Sequence[int] | None = None,
    source: str = "",
) -> list[SpeedRow]:
    """p50/p95 of received→assigned, received→notified and received→first touch (seconds), for leads
    received in [since, until), per group (the total row first, key "all")."""
    where = ["s.received_at >= %s", "s.received_at < %s"]
    params: list[Any] = [since, until]
    if team_ids is not None:
        where.append("s.team_id = ANY(%s)")
        params.append(list(team_ids))
    if source:
        where.append("s.source = %s")
        params.append(source)
    measures = ", ".join(
        f"count(s.{end}) AS n_{name}, "
        f"percentile_cont(ARRAY[0.5, 0.95]) WITHIN GROUP "
        f"(ORDER BY extract(epoch FROM s.{end} - s.{start})) AS p_{name}"
        for name, start, end in SPANS
    )
    # Only constants of this module are interpolated (column names, SPANS); values are parameters.
    if group_by:
        key = _GROUP_SQL[group_by]
        select_key = f"CASE WHEN GROUPING({key}) = 1 THEN 'all' ELSE coalesce({key}, '') END"
        grouping, order = f"GROUPING SETS ((), ({key}))", f"GROUPING({key}) DESC, count(*) DESC, 1"
    else:
        select_key, grouping, order = "'all'", "()", "1"
    sql = (
        f"SELECT {select_key} AS key, count(*) AS leads, {measures} "  # noqa: S608
        f"FROM routing_speedtolead s WHERE {' AND '.join(where)} GROUP BY {grouping} ORDER BY {order}"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        rows = cursor.fetchall()
    labels = _labels(group_by, [str(r[0]) for r in rows])
    result = []
    for row in rows:
        spans: dict[str, SpanStats] = {}
        for i, (name, _start, _end) in enumerate(SPANS):
            count, percentiles = row[2 + 2 * i], row[3 + 2 * i]
            p50, p95 = (percentiles or [None, None])[:2]
            spans[name] = SpanStats(int(count), _float(p50), _float(p95))
        result.append(SpeedRow(key=str(row[0]), label=labels.get(str(row[0]), str(row[0])), leads=int(row[1]),
                               spans=spans))  # fmt: skip
    return result


def _float(value: object) -> float | None:
    return None if value is None else round(float(value), 3)  # type: ignore[arg-type]


def _labels(group_by: GroupBy | None, keys: list[str]) -> dict[str, str]:
    ids = [int(k) for k in keys if k.isdigit()]
    labels: dict[str, str] = {"all": "all", "": "—"}
    if group_by == "team" and ids:
        labels |= {str(t.pk): t.name for t in Team.objects.filter(pk__in=ids)}
    elif group_by == "rep" and ids:
        labels |= {str(u.pk): u.display_name for u in User.objects.filter(pk__in=ids)}
    return labels


def list_sources(*, since: datetime, team_ids: Sequence[int] | None = None, limit: int = 50) -> list[str]:
    """Sources seen in the period (for the dashboard's filter)."""
    where, params = "received_at >= %s AND source <> ''", [since]
    if team_ids is not None:
        where += " AND team_id = ANY(%s)"
        params.append(list(team_ids))  # type: ignore[arg-type]
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT source FROM routing_speedtolead WHERE {where} "  # noqa: S608 - constant clauses
            "GROUP BY source ORDER BY count(*) DESC LIMIT %s",
            [*params, limit],
        )
        return [r[0] for r in cursor.fetchall()]


# -- for the inbox: pending deadlines per lead ----------------------------------------------------------------

# A lead's pending deadline: its open clocks, and the clocks breached in the last BREACH_LOOKBACK whose lead
# nobody touched since (no interaction, no met clock after the deadline). Breached clocks are closed by the
# breach job, but the lead still waits for its first touch: it stays at the top of the inbox.
BREACH_LOOKBACK_DAYS = 7
_PENDING_WHERE = """
    (c.status = 'open'
     OR (c.status = 'breached' AND c.met_at IS NULL AND c.breached_at >= %(sla_since)s
         AND NOT EXISTS (SELECT 1 FROM core_domainevent e
                          WHERE e.lead_id = c.lead_id AND e.occurred_at > c.due_at
                            AND e.type IN ('interactions.InteractionLogged', 'sla.SlaMet'))))
"""


def pending_deadlines_sql(*, owner_param: str | None = None) -> str:
    """SQL of a relation ``(lead_id, due_at)``: each lead's earliest pending deadline (see above).

    Named parameters: ``sla_since`` (now − BREACH_LOOKBACK_DAYS, from :func:`pending_params`) and, when
    ``owner_param`` is given, that parameter holding the clocks' owner id (the rep's inbox).
    """
    owner = f" AND c.owner_id = %({owner_param})s" if owner_param else ""
    return (
        "SELECT c.lead_id, min(c.due_at) AS due_at FROM sla_slaclock c "  # noqa: S608 - constant SQL
        f"WHERE {_PENDING_WHERE}{owner} GROUP BY c.lead_id"
    )


def pending_params(now: datetime) -> dict[str, Any]:
    from datetime import timedelta

    return {"sla_since": now - timedelta(days=BREACH_LOOKBACK_DAYS)}


@dataclass(frozen=True)
class LeadDeadline:
    lead_id: int
    due_at: datetime
    policy_name: str
    breached: bool  # the clock was closed as breached (not merely past due)


def open_deadlines(lead_ids: Sequence[int], *, now: datetime) -> dict[int, LeadDeadline]:
    """The earliest pending deadline of each lead (open clock, or breached and not touched since)."""
    if not lead_ids:
        return {}
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT DISTINCT ON (c.lead_id) c.lead_id, c.due_at, p.name, c.status = 'breached' "  # noqa: S608
            "FROM sla_slaclock c JOIN sla_slapolicy p ON p.id = c.policy_id "
            f"WHERE c.lead_id = ANY(%(ids)s) AND {_PENDING_WHERE} ORDER BY c.lead_id, c.due_at, c.id",
            {"ids": list(lead_ids), **pending_params(now)},
        )
        rows = cursor.fetchall()
    return {int(r[0]): LeadDeadline(int(r[0]), r[1], str(r[2]), bool(r[3])) for r in rows}


@dataclass(frozen=True)
class BreachingClock:
    clock_id: int
    lead_id: int
    lead_name: str
    lead_grade: str
    owner_id: int | None
    owner_name: str
    team_id: int | None
    policy_name: str
    due_at: datetime
    breached: bool


def list_breaching(
    *, team_ids: Sequence[int] | None, now: datetime, within_minutes: int = 60, limit: int = 50
) -> list[BreachingClock]:
    """Clocks breached (and the lead not touched since) or due within ``within_minutes``, of open leads in
    ``team_ids`` (None: every team), most overdue first.

    Two branches, each in deadline order with its own LIMIT: open clocks walk ``sla_clock_open_due_idx``;
    breached ones are the last BREACH_LOOKBACK_DAYS of breaches, on ``sla_clock_breached_pending_idx``."""
    from datetime import timedelta

    params: dict[str, Any] = {**pending_params(now), "soon": now + timedelta(minutes=within_minutes),
                              "limit": limit}  # fmt: skip
    team = ""
    if team_ids is not None:
        team = " AND (l.team_id = ANY(%(teams)s) OR c.team_id = ANY(%(teams)s))"
        params["teams"] = list(team_ids)
    lead_open = "l.outcome = '' AND l.is_open"
    branch = (
        "(SELECT c.id, c.lead_id, c.policy_id, c.due_at, c.status FROM sla_slaclock c"  # noqa: S608 - constants
        " JOIN leads_lead l ON l.id = c.lead_id WHERE {cond} AND " + lead_open + team +
        " ORDER BY c.due_at, c.id LIMIT %(limit)s)"
    )  # fmt: skip
    open_branch = branch.format(cond="c.status = 'open' AND c.due_at <= %(soon)s")
    breached_branch = branch.format(
        cond="c.status = 'breached' AND c.met_at IS NULL AND c.breached_at >= %(sla_since)s"
        " AND NOT EXISTS (SELECT 1 FROM core_domainevent e WHERE e.lead_id = c.lead_id AND e.occurred_at > c.due_at"
        " AND e.type IN ('interactions.InteractionLogged', 'sla.SlaMet'))"
    )
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            SELECT x.id, x.lead_id,
                   coalesce(nullif(trim(concat_ws(' ', l.first_name, l.last_name)), ''), l.email, ''),
                   l.grade, l.owner_id, coalesce(nullif(u.full_name, ''), u.email, ''), l.team_id, p.name, x.due_at,
                   x.status = 'breached'
            FROM ({open_branch} UNION ALL {breached_branch}) x
            JOIN leads_lead l ON l.id = x.lead_id
            JOIN sla_slapolicy p ON p.id = x.policy_id
            LEFT JOIN accounts_user u ON u.id = l.owner_id
            ORDER BY x.due_at, x.id
            LIMIT %(limit)s
            """,  # noqa: S608 - constant clauses; values are parameters
            params,
        )
        rows = cursor.fetchall()
    return [
        BreachingClock(int(r[0]), int(r[1]), str(r[2]), str(r[3]), r[4], str(r[5]), r[6], str(r[7]), r[8], bool(r[9]))
        for r in rows
    ]


def count_at_risk_by_owner(owner_ids: Sequence[int], *, now: datetime, within_minutes: int = 60) -> dict[int, int]:
    """Per owner: leads with a deadline breached (untouched) or due within ``within_minutes``."""
    from datetime import timedelta

    if not owner_ids:
        return {}
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT c.owner_id, count(DISTINCT c.lead_id) FROM sla_slaclock c "  # noqa: S608 - constant SQL
            f"WHERE c.owner_id = ANY(%(owners)s) AND c.due_at <= %(soon)s AND {_PENDING_WHERE} GROUP BY c.owner_id",
            {"owners": list(owner_ids), "soon": now + timedelta(minutes=within_minutes), **pending_params(now)},
        )
        return {int(r[0]): int(r[1]) for r in cursor.fetchall()}
