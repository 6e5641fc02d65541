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
    return list(SlaPolicy.objects.filter(active=True, trigger=trigger).order_by("id"))


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
