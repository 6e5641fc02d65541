"""Reads of the pipeline context: stages, the board (columns with counts/totals and their first cards),
the list view and one lead's deal. Everything a user sees is scoped like ``leads_visible_to``.

Scale (1M deals): the visible set is split into disjoint *scopes* that each match one board index —
``owner_id = me`` (``deal_owner_stage_idx``) or ``team_id = t`` (``deal_team_stage_idx``, one scope per team
so each column's "newest 50" is a LIMIT on an index range, merged in Python). Counts and totals per
column are one ``UNION ALL`` of per-scope ``GROUP BY stage_id`` aggregates (index-only scans: the indexes
carry ``amount``); the cards of every column are one ``UNION ALL`` of per-(scope, column) ``LIMIT 51``
index scans, then one query loads those deals with their lead, company and owner.
The grade filter reads the deal's own copy of the lead's grade (``Deal.grade``, kept by ``pipeline.sync_grades``):
counts/totals are index-only scans of ``deal_owner_grade_idx`` / ``deal_team_grade_idx`` and the cards a LIMIT on
them, without joining ``leads_lead``.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field, replace
from datetime import datetime
from decimal import Decimal
from typing import Any

from django.db.models import Count, Q, QuerySet, Sum
from django.utils.translation import gettext_lazy as _

from embudo.accounts import domain as accounts_domain
from embudo.accounts import selectors as accounts_selectors
from embudo.accounts.models import Team, User
from embudo.core import clock
from embudo.core.pagination import RowLessThan, decode_cursor, encode_cursor
from embudo.pipeline.domain import stages as domain
from embudo.pipeline.models import Deal, Stage, StageTotal

CARDS_PER_COLUMN = 50
LIST_PAGE = 50
MAX_LIST_PAGES = 200
GRADES = ("hot", "warm", "cold")
DEFAULT_LABELS: dict[str, Any] = {
    "new": _("New"),
    "contacted": _("Contacted"),
    "interested": _("Interested"),
    "proposal_sent": _("Proposal sent"),
    "won": _("Won"),
    "lost": _("Lost"),
}
DEFAULT_NAMES = {spec.key: spec.name for spec in domain.DEFAULT_STAGES}
LIST_SORTS: dict[str, tuple[str, ...]] = {
    "-updated": ("-updated_at", "-id"),
    "updated": ("updated_at", "id"),
    "-amount": ("-amount", "-id"),
    "amount": ("amount", "id"),
    "stage": ("stage__position", "stage_id", "-updated_at", "-id"),
    "-stage": ("-stage__position", "-stage_id", "-updated_at", "-id"),
}


def stage_label(stage: Stage) -> str:
    """Default stages show their translated label (unless renamed); custom stages their name."""
    if DEFAULT_NAMES.get(stage.key) == stage.name:
        return str(DEFAULT_LABELS[stage.key])
    return stage.name


# --- Stages ------------------------------------------------------------------------------------------


def team_has_own_stages(team_id: int | None) -> bool:
    return team_id is not None and Stage.objects.filter(team_id=team_id).exists()


def list_stages(team_id: int | None, *, include_inactive: bool = False) -> list[Stage]:
    """The pipeline of ``team_id``: its own stages if it has any, else the default ones, in board order."""
    if team_id is not None:
        own = Stage.objects.filter(team_id=team_id)
        if not include_inactive:
            own = own.filter(active=True)
        stages = list(own.order_by("position", "id"))
        if stages or Stage.objects.filter(team_id=team_id).exists():
            return stages
    defaults = Stage.objects.filter(team__isnull=True)
    if not include_inactive:
        defaults = defaults.filter(active=True)
    return list(defaults.order_by("position", "id"))


def pipeline_stages_for_lead(team_id: int | None) -> list[Stage]:
    """All stages (active or not) a deal of a lead in ``team_id`` may be in."""
    return list_stages(team_id, include_inactive=True)


def get_stage(stage_id: int) -> Stage | None:
    return Stage.objects.filter(pk=stage_id).first()


def refs(stages: list[Stage]) -> list[domain.StageRef]:
    return [domain.StageRef(id=s.pk, key=s.key, kind=s.kind, active=s.active) for s in stages]


def stage_deal_counts(stage_ids: list[int]) -> dict[int, int]:
    rows = Deal.objects.filter(stage_id__in=stage_ids).values("stage_id").annotate(n=Count("id"))
    return {r["stage_id"]: r["n"] for r in rows}


def configurable_teams(user: User) -> list[Team]:
    """Teams whose stages ``user`` may configure: all for admins, their teams for managers."""
    if user.role == "admin":
        return list(accounts_selectors.list_teams())
    if user.role == "manager":
        return list(Team.objects.filter(pk__in=accounts_selectors.team_ids_of(user)).order_by("name"))
    return []


# --- Visibility --------------------------------------------------------------------------------------


def deals_visible_to(user: User) -> QuerySet[Deal]:
    """Same rule as ``leads_visible_to`` on the deal's denormalised owner/team."""
    deals = Deal.objects.all()
    if accounts_domain.sees_all_leads(user.role):
        return deals
    team_ids = accounts_selectors.team_ids_of(user)
    if user.role == "manager":
        return deals.filter(Q(team_id__in=team_ids) | Q(owner_id=user.pk))
    return deals.filter(Q(owner_id=user.pk) | Q(owner_id__isnull=True, team_id__in=team_ids))


def get_deal_for_lead(lead_id: int) -> Deal | None:
    return Deal.objects.select_related("stage").filter(lead_id=lead_id).first()


# --- Board filters -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class BoardFilters:
    owner: str = ""  # "me", "all" or a user id ("" = the role's default)
    team_id: int | None = None
    search: str = ""
    grade: str = ""
    amount_min: Decimal | None = None
    amount_max: Decimal | None = None
    sort: str = "-updated"

    def owner_for(self, user: User) -> str:
        if self.owner in ("me", "all") or self.owner.isdigit():
            return self.owner
        return "me" if user.role == "sales_rep" else "all"

    def query_items(self, user: User) -> list[tuple[str, str]]:
        items = [("owner", self.owner_for(user))]
        if self.team_id is not None:
            items.append(("team", str(self.team_id)))
        for name, value in (("q", self.search), ("grade", self.grade)):
            if value:
                items.append((name, value))
        if self.amount_min is not None:
            items.append(("min", str(self.amount_min)))
        if self.amount_max is not None:
            items.append(("max", str(self.amount_max)))
        return items


def _scopes(user: User, filters: BoardFilters) -> list[Q]:
    """Disjoint conditions whose union is what ``user`` sees under ``filters``; each one an index range."""
    owner = filters.owner_for(user)
    team_ids = accounts_selectors.team_ids_of(user)
    if owner == "me":
        scopes = [Q(owner_id=user.pk)]
    elif accounts_domain.sees_all_leads(user.role):
        scopes = [Q(team_id=t) for t in _all_team_ids()] + [Q(team_id__isnull=True)]
    elif user.role == "manager":
        scopes = [Q(team_id=t) for t in team_ids] + [Q(owner_id=user.pk) & ~Q(team_id__in=team_ids)]
    else:
        scopes = [Q(owner_id=user.pk)] + [Q(owner_id__isnull=True, team_id=t) for t in team_ids]
    if owner.isdigit():
        scopes = [s & Q(owner_id=int(owner)) for s in scopes]
    if filters.team_id is not None:
        scopes = [s & Q(team_id=filters.team_id) for s in scopes]
    return scopes


def _all_team_ids() -> list[int]:
    return list(Team.objects.order_by("id").values_list("id", flat=True))


def _filtered(deals: QuerySet[Deal], filters: BoardFilters) -> QuerySet[Deal]:
    if filters.amount_min is not None:
        deals = deals.filter(amount__gte=filters.amount_min)
    if filters.amount_max is not None:
        deals = deals.filter(amount__lte=filters.amount_max)
    if filters.grade in GRADES:
        deals = deals.filter(grade=filters.grade)  # the deal's copy: no join
    terms = " ".join(filters.search.split()).lower()
    if terms and "\x00" not in terms:
        deals = deals.filter(lead__search_text__contains=terms)
    return deals


def pipeline_team_id(user: User, filters: BoardFilters) -> int | None:
    """Whose stages the board shows: the filtered team's, else the viewer's first team with its own stages."""
    if filters.team_id is not None:
        return filters.team_id if team_has_own_stages(filters.team_id) else None
    team_ids = accounts_selectors.team_ids_of(user)
    if not team_ids:
        return None
    own = Stage.objects.filter(team_id__in=team_ids).order_by("team_id").values_list("team_id", flat=True).first()
    return own


# --- Board -------------------------------------------------------------------------------------------


@dataclass
class Card:
    deal: Deal
    days_in_stage: int


@dataclass
class Column:
    stage: Stage
    label: str
    count: int = 0
    total: Decimal = Decimal("0")
    cards: list[Card] = field(default_factory=list)
    next_cursor: str | None = None

    @property
    def weighted(self) -> Decimal:
        return domain.weighted(self.total, self.stage.probability)


@dataclass
class Board:
    columns: list[Column]
    count: int
    total: Decimal
    elsewhere: int  # deals in stages of other pipelines (pick their team to see them)


def _cards_for(
    scopes: list[Q], filters: BoardFilters, stage_ids: list[int], *, after: tuple[datetime, int] | None = None
) -> dict[int, list[tuple[datetime, int]]]:
    """(updated_at, id) of the newest ``CARDS_PER_COLUMN + 1`` deals per stage, in one UNION ALL query."""
    parts: list[QuerySet[Deal, Any]] = []
    for stage_id in stage_ids:
        for scope in scopes:
            qs = _filtered(Deal.objects.filter(scope, stage_id=stage_id), filters)
            if after is not None:
                qs = qs.filter(RowLessThan(["updated_at", "id"], [after[0], after[1]]))
            parts.append(qs.order_by("-updated_at", "-id").values_list("stage_id", "updated_at", "id")[
                : CARDS_PER_COLUMN + 1
            ])  # fmt: skip
    found: dict[int, set[tuple[datetime, int]]] = defaultdict(set)
    if not parts:
        return {}
    union = parts[0].union(*parts[1:], all=True) if len(parts) > 1 else parts[0]
    for stage_id, updated_at, deal_id in union:
        found[stage_id].add((updated_at, deal_id))
    return {s: sorted(rows, reverse=True)[: CARDS_PER_COLUMN + 1] for s, rows in found.items()}


def _load_deals(ids: list[int]) -> dict[int, Deal]:
    if not ids:
        return {}
    deals = Deal.objects.filter(pk__in=ids).select_related("lead", "lead__company", "owner", "stage")
    return {d.pk: d for d in deals}


def _cards(rows: list[tuple[datetime, int]], deals: dict[int, Deal], now: datetime) -> list[Card]:
    return [
        Card(deal=deals[i], days_in_stage=domain.days_between(deals[i].stage_entered_at, now))
        for _, i in rows
        if i in deals
    ]


def _cursor(rows: list[tuple[datetime, int]]) -> str | None:
    if len(rows) <= CARDS_PER_COLUMN:
        return None
    updated_at, deal_id = rows[CARDS_PER_COLUMN - 1]
    return encode_cursor([updated_at, deal_id])


def _needs_live_totals(filters: BoardFilters) -> bool:
    return bool(filters.search.strip() or filters.grade or filters.amount_min is not None
                or filters.amount_max is not None)  # fmt: skip


def _column_totals(scopes: list[Q], filters: BoardFilters) -> list[dict[str, Any]]:
    """(stage_id, n, total) rows: from the kept totals (a few rows per owner) unless a filter on the deal or
    the lead needs the deals themselves (one UNION ALL of per-scope aggregates)."""
    if not scopes:
        return []
    parts: list[QuerySet[Any, dict[str, Any]]]
    if _needs_live_totals(filters):
        parts = [
            _filtered(Deal.objects.filter(scope), filters)
            .values("stage_id")
            .annotate(n=Count("*"), total=Sum("amount"))  # COUNT(*): index-only
            for scope in scopes
        ]
    else:
        parts = [
            StageTotal.objects.filter(scope).values("stage_id").annotate(n=Sum("deals"), total=Sum("amount"))
            for scope in scopes
        ]
    union = parts[0].union(*parts[1:], all=True) if len(parts) > 1 else parts[0]
    return list(union.order_by())


def board_stages(user: User, filters: BoardFilters) -> list[Stage]:
    """The columns of the board ``user`` sees under ``filters``."""
    return list_stages(pipeline_team_id(user, filters))


def get_board(user: User, filters: BoardFilters, *, stages: list[Stage] | None = None) -> Board:
    """The kanban: one column per active stage of the pipeline, with the count and total of the whole
    filtered set and its newest cards."""
    stages = stages if stages is not None else board_stages(user, filters)
    scopes = _scopes(user, filters)
    columns = [Column(stage=s, label=stage_label(s)) for s in stages]
    by_id = {c.stage.pk: c for c in columns}
    elsewhere = 0
    for row in _column_totals(scopes, filters):
        column = by_id.get(row["stage_id"])
        if column is None:
            elsewhere += row["n"]
            continue
        column.count += row["n"]
        column.total += row["total"] or Decimal("0")
    wanted = [c.stage.pk for c in columns if c.count]
    rows = _cards_for(scopes, filters, wanted)
    shown = {i for stage_rows in rows.values() for _, i in stage_rows[:CARDS_PER_COLUMN]}
    deals = _load_deals(sorted(shown))
    now = clock.now()
    for column in columns:
        stage_rows = rows.get(column.stage.pk, [])
        column.cards = _cards(stage_rows[:CARDS_PER_COLUMN], deals, now)
        column.next_cursor = _cursor(stage_rows)
    return Board(
        columns=columns,
        count=sum(c.count for c in columns),
        total=sum((c.total for c in columns), Decimal("0")),
        elsewhere=elsewhere,
    )


def get_column_page(user: User, filters: BoardFilters, *, stage_id: int, cursor: str) -> tuple[list[Card], str | None]:
    """The next cards of one column after ``cursor`` ("load more")."""
    try:
        raw = decode_cursor(cursor)
        after = (datetime.fromisoformat(str(raw[0])), int(raw[1]))
    except (ValueError, TypeError, IndexError):
        return [], None
    rows = _cards_for(_scopes(user, filters), filters, [stage_id], after=after).get(stage_id, [])
    deals = _load_deals([i for _, i in rows[:CARDS_PER_COLUMN]])
    return _cards(rows[:CARDS_PER_COLUMN], deals, clock.now()), _cursor(rows)


# --- List view ---------------------------------------------------------------------------------------


@dataclass
class DealPage:
    items: list[Card]
    page: int
    has_next: bool
    count: int
    total: Decimal


def list_deals(
    user: User, filters: BoardFilters, *, page: int = 1, per_page: int = LIST_PAGE, stages: list[Stage] | None = None
) -> DealPage:
    """The same deals as the board, as one sorted table (OFFSET pages, capped). Newest first is one LIMIT per
    scope on the board's indexes, merged here; other sorts read the visible set in one query."""
    page = max(1, min(page, MAX_LIST_PAGES))
    scopes = _scopes(user, filters)
    if not scopes:
        return DealPage(items=[], page=1, has_next=False, count=0, total=Decimal("0"))
    stage_ids = [s.pk for s in (stages if stages is not None else board_stages(user, filters))]
    start = (page - 1) * per_page
    wanted = start + per_page + 1
    related = ("lead", "lead__company", "owner", "stage")
    if filters.sort == "-updated":
        # One LIMIT per (scope, stage): each an index range of deal_owner_stage_idx / deal_team_stage_idx.
        parts = [
            _filtered(Deal.objects.filter(scope, stage_id=stage_id), filters)
            .order_by("-updated_at", "-id")
            .values_list("updated_at", "id")[:wanted]
            for scope in scopes
            for stage_id in stage_ids
        ]
        union = parts[0].union(*parts[1:], all=True) if len(parts) > 1 else parts[0]
        ids = [i for _, i in sorted(set(union), reverse=True)[start:wanted]]
        loaded = _load_deals(ids)
        rows = [loaded[i] for i in ids if i in loaded]
    else:
        condition = scopes[0]
        for scope in scopes[1:]:
            condition |= scope
        base = _filtered(Deal.objects.filter(condition, stage_id__in=stage_ids), filters)
        order = LIST_SORTS.get(filters.sort, LIST_SORTS["-updated"])
        rows = list(base.select_related(*related).order_by(*order)[start:wanted])
    count, total = 0, Decimal("0")
    for row in _column_totals(scopes, filters):
        if row["stage_id"] in stage_ids:
            count += row["n"]
            total += row["total"] or Decimal("0")
    now = clock.now()
    cards = [Card(deal=d, days_in_stage=domain.days_between(d.stage_entered_at, now)) for d in rows[:per_page]]
    return DealPage(
        items=cards, page=page, has_next=len(rows) > per_page and page < MAX_LIST_PAGES, count=count, total=total
    )


def with_sort(filters: BoardFilters, sort: str) -> BoardFilters:
    return replace(filters, sort=sort if sort in LIST_SORTS else "-updated")
