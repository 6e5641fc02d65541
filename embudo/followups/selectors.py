"""Reads of the followups context. Permission-scoped reads are ``*_visible_to(user)``.

Visibility: a task is visible to its assignee, and to anyone who sees its lead (reps their own leads,
managers their teams', admins and marketing everything: ``leads.selectors.leads_visible_to``).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django.conf import settings
from django.db.models import Count, Q, QuerySet

from embudo.accounts import domain as accounts_domain
from embudo.accounts import selectors as accounts_selectors
from embudo.accounts.models import Team, User
from embudo.followups import domain
from embudo.followups.models import Task, TaskRule
from embudo.leads import selectors as leads_selectors

SECTION_LIMIT = 100
# Rows per section on "my day" (the rest is counted, and one section at a time can be expanded).
DAY_LIMITS = {"overdue": 25, "today": 50, "upcoming": 25, "done": 10}
EXPANDED_LIMIT = 200


def time_zone_of(user: User) -> ZoneInfo:
    """The user's time zone: their first team's (users have no zone of their own), else the server's."""
    cached = getattr(user, "_followups_tz", None)
    if cached is not None:
        return cached  # type: ignore[no-any-return]
    name = (
        Team.objects.filter(members=user.pk).exclude(time_zone="").order_by("id").values_list("time_zone", flat=True)
        .first()
    ) or settings.TIME_ZONE  # fmt: skip
    try:
        tz = ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        tz = ZoneInfo(settings.TIME_ZONE)
    user._followups_tz = tz  # type: ignore[attr-defined]
    return tz


def tasks_visible_to(user: User) -> QuerySet[Task]:
    tasks = Task.objects.all()
    if accounts_domain.sees_all_leads(user.role):
        return tasks
    return tasks.filter(Q(assignee_id=user.pk) | Q(lead_id__in=leads_selectors.leads_visible_to(user).values("id")))


def get_task_visible_to(user: User, task_id: int) -> Task | None:
    return (
        tasks_visible_to(user).select_related("lead", "assignee", "created_by", "completed_by").filter(pk=task_id)
        .first()
    )  # fmt: skip


def get_task(task_id: int) -> Task | None:
    return Task.objects.select_related("lead", "assignee").filter(pk=task_id).first()


def can_see_team_view(user: User) -> bool:
    return user.role in ("manager", "admin")


def assignees_visible_to(user: User) -> list[User]:
    """Whose tasks ``user`` may list and to whom they may (re)assign: themselves plus their team mates
    (everyone for admins and marketing)."""
    users = list(accounts_selectors.list_users_visible_to(user))
    if all(u.pk != user.pk for u in users):
        users.insert(0, user)
    return users


# -- my day ----------------------------------------------------------------------------------------------


@dataclass
class Section:
    key: str
    tasks: list[Task] = field(default_factory=list)
    total: int = 0

    @property
    def more(self) -> int:
        return max(0, self.total - len(self.tasks))


@dataclass
class Day:
    window: domain.Window
    overdue: Section
    today: Section
    upcoming: Section
    done: Section

    @property
    def sections(self) -> list[Section]:
        return [self.overdue, self.today, self.upcoming, self.done]

    @property
    def open_count(self) -> int:
        return self.overdue.total + self.today.total + self.upcoming.total


def _with_rows(tasks: QuerySet[Task]) -> QuerySet[Task]:
    return tasks.select_related("lead", "assignee").only(
        "id", "kind", "title", "notes", "due_at", "remind_at", "completed_at", "assignee_id", "lead_id", "rule_id",
        "lead__first_name", "lead__last_name", "lead__email", "lead__company_name", "lead__grade",
        "assignee__full_name", "assignee__email",
    )  # fmt: skip


def my_day(assignee_ids: Iterable[int], *, now: datetime, tz: ZoneInfo, limits: dict[str, int] | None = None) -> Day:
    """The open tasks of ``assignee_ids`` by bucket (overdue, today, next 7 days) and those done today.

    Four row queries (each an index range scan on ``(assignee_id, due_at)`` / ``(assignee_id,
    completed_at)``, at most ``limits[section]`` rows; ``DAY_LIMITS`` by default) and one count query
    (two when more was done today than shown).
    """
    lim = {**DAY_LIMITS, **(limits or {})}
    ids = list(assignee_ids)
    w = domain.window(now, tz)
    open_tasks = Task.objects.filter(assignee_id__in=ids, completed_at__isnull=True)
    counts = open_tasks.filter(due_at__lt=w.upcoming_end).aggregate(
        overdue=Count("id", filter=Q(due_at__lt=now)),
        today=Count("id", filter=Q(due_at__gte=now, due_at__lt=w.tomorrow_start)),
        upcoming=Count("id", filter=Q(due_at__gte=w.tomorrow_start)),
    )
    done_q = Task.objects.filter(assignee_id__in=ids, completed_at__gte=w.today_start)
    rows = _with_rows(open_tasks)
    overdue = list(rows.filter(due_at__lt=now).order_by("due_at", "id")[: lim["overdue"]]) if counts["overdue"] else []
    today = (
        list(rows.filter(due_at__gte=now, due_at__lt=w.tomorrow_start).order_by("due_at", "id")[: lim["today"]])
        if counts["today"] else []
    )  # fmt: skip
    upcoming = (
        list(rows.filter(due_at__gte=w.tomorrow_start, due_at__lt=w.upcoming_end)
             .order_by("due_at", "id")[: lim["upcoming"]])
        if counts["upcoming"] else []
    )  # fmt: skip
    done = list(_with_rows(done_q).order_by("-completed_at", "-id")[: lim["done"] + 1])
    done_total = len(done) if len(done) <= lim["done"] else done_q.count()
    return Day(
        window=w,
        overdue=Section("overdue", overdue, counts["overdue"]),
        today=Section("today", today, counts["today"]),
        upcoming=Section("upcoming", upcoming, counts["upcoming"]),
        done=Section("done", done[: lim["done"]], done_total),
    )


# -- the lead page ----------------------------------------------------------------------------------------


def open_tasks_of_lead(lead_id: int) -> list[Task]:
    return list(
        Task.objects.filter(lead_id=lead_id, completed_at__isnull=True).select_related("assignee")
        .order_by("due_at", "id")[:50]
    )  # fmt: skip


def done_tasks_of_lead(lead_id: int, *, limit: int = 5) -> list[Task]:
    return list(
        Task.objects.filter(lead_id=lead_id, completed_at__isnull=False).select_related("assignee", "completed_by")
        .order_by("-completed_at", "-id")[:limit]
    )  # fmt: skip


# -- the API ----------------------------------------------------------------------------------------------


def list_tasks_visible_to(
    user: User,
    *,
    now: datetime,
    tz: ZoneInfo,
    due: str = "",
    assignee_id: int | None = None,
    lead_id: int | None = None,
    include_done: bool = False,
    limit: int = 100,
) -> list[Task]:
    """Tasks for the API: the user's own by default; ``assignee_id``/``lead_id`` filters within what the user
    sees; ``due`` = overdue | today | upcoming (open tasks only)."""
    tasks = tasks_visible_to(user)
    if lead_id is not None:
        tasks = tasks.filter(lead_id=lead_id)
        if assignee_id is not None:
            tasks = tasks.filter(assignee_id=assignee_id)
    else:
        tasks = tasks.filter(assignee_id=assignee_id if assignee_id is not None else user.pk)
    if due or not include_done:
        tasks = tasks.filter(completed_at__isnull=True)
    w = domain.window(now, tz)
    if due == "overdue":
        tasks = tasks.filter(due_at__lt=now)
    elif due == "today":
        tasks = tasks.filter(due_at__gte=now, due_at__lt=w.tomorrow_start)
    elif due == "upcoming":
        tasks = tasks.filter(due_at__gte=w.tomorrow_start, due_at__lt=w.upcoming_end)
    return list(tasks.select_related("lead", "assignee").order_by("due_at", "id")[:limit])


# -- for the inbox (contract) -----------------------------------------------------------------------------


def next_open_task_by_lead(lead_ids: Iterable[int]) -> dict[int, Task]:
    """The earliest-due open task of each lead (one query: DISTINCT ON over the open-by-lead index)."""
    ids = list(lead_ids)
    if not ids:
        return {}
    tasks = (
        Task.objects.filter(lead_id__in=ids, completed_at__isnull=True)
        .order_by("lead_id", "due_at", "id")
        .distinct("lead_id")
        .only("id", "lead_id", "assignee_id", "kind", "title", "due_at", "remind_at", "completed_at")
    )
    return {t.lead_id: t for t in tasks}


def count_open_and_overdue_by_assignee(
    user_ids: Iterable[int], *, now: datetime | None = None
) -> dict[int, tuple[int, int]]:
    """``{user_id: (open tasks, overdue tasks)}`` for each user (0, 0 for users without tasks); one query."""
    from embudo.core import clock

    ids = list(user_ids)
    if not ids:
        return {}
    at = now or clock.now()
    rows = (
        Task.objects.filter(assignee_id__in=ids, completed_at__isnull=True)
        .values("assignee_id")
        .annotate(open=Count("id"), overdue=Count("id", filter=Q(due_at__lt=at)))
        .order_by()
    )
    found = {int(r["assignee_id"]): (int(r["open"]), int(r["overdue"])) for r in rows}
    return {uid: found.get(uid, (0, 0)) for uid in ids}


# -- rules ------------------------------------------------------------------------------------------------


def can_manage_rules(user: User) -> bool:
    return user.role in ("manager", "admin")


def list_rules_visible_to(user: User) -> list[TaskRule]:
    rules = TaskRule.objects.select_related("team")
    if user.role != "admin":
        rules = rules.filter(Q(team__isnull=True) | Q(team_id__in=accounts_selectors.team_ids_of(user)))
    return list(rules.order_by("-active", "stage_key", "delay_days", "delay_hours", "id"))


def matching_rules(stage_key: str, team_id: int | None) -> list[TaskRule]:
    rules = TaskRule.objects.filter(active=True, stage_key=stage_key)
    rules = rules.filter(Q(team__isnull=True) | Q(team_id=team_id)) if team_id else rules.filter(team__isnull=True)
    return list(rules.order_by("id"))


def due_reminder_ids(now: datetime, *, limit: int) -> list[int]:
    return list(
        Task.objects.filter(completed_at__isnull=True, reminded_at__isnull=True, remind_at__lte=now)
        .order_by("remind_at").values_list("id", flat=True)[:limit]
    )  # fmt: skip
