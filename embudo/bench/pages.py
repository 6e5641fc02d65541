"""``bench pages``: server time of the lead list, search and lead page on a seeded database.

Requests go through the whole Django stack in-process (``django.test.Client`` with
``force_login``: middleware, view, selectors, template), so the time is what the server spends,
without network or browser. Each scenario is warmed up first, then timed request by request.
"""

from __future__ import annotations

import logging
import math
import random
import re
import time
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.db import connection
from django.db.models import QuerySet
from django.test import Client
from django.test.utils import override_settings

from embudo.accounts.models import User
from embudo.bench import report
from embudo.demo import catalog
from embudo.leads import selectors
from embudo.leads.models import Lead
from embudo.leads.selectors import LeadFilters

GOAL_MS = 150.0
SEED = 777
REP_EMAIL = "lucia@embudo.demo"
MANAGER_EMAIL = "manager@embudo.demo"
ADMIN_EMAIL = "admin@embudo.demo"
PLAN_NODE = re.compile(r"(Index Only Scan|Index Scan|Bitmap Index Scan)(?: Backward)? (?:using|on) (\w+)")


class NotSeeded(Exception):
    """The database holds fewer leads than the benchmark needs."""


@dataclass
class Outcome:
    parameters: dict[str, Any]
    figures: dict[str, Any]
    scenarios: list[dict[str, Any]] = field(default_factory=list)
    explain: dict[str, Any] = field(default_factory=dict)


def percentile(samples: list[float], q: float) -> float:
    """Nearest-rank percentile (``q`` in 0..1)."""
    ordered = sorted(samples)
    return ordered[max(0, min(len(ordered) - 1, math.ceil(q * len(ordered)) - 1))]


def _estimated_leads() -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM leads_lead")
        row = cursor.fetchone()
    return int(row[0]) if row else 0


def _user(email: str, role: str) -> User:
    user = User.objects.filter(email=email, role=role, is_active=True).first()
    if user is None:
        user = User.objects.filter(role=role, is_active=True).exclude(teams=None).order_by("id").first()
    if user is None and role == "admin":
        user = User.objects.filter(role=role, is_active=True).order_by("id").first()
    if user is None:
        raise NotSeeded(f"No active {role} user; run `embudo bench seed` first.")
    return user


def _sample_leads(user: User, n: int, rng: random.Random) -> list[Lead]:
    """``n`` random leads visible to ``user`` (random id probes, so it stays cheap at 1M rows)."""
    visible = selectors.leads_visible_to(user)
    bounds = Lead.objects.order_by("id").values_list("id", flat=True)
    low, high = bounds.first() or 0, bounds.last() or 0
    found: dict[int, Lead] = {}
    for _ in range(50):
        if len(found) >= n:
            break
        probes = [rng.randint(low, high) for _ in range(max(200, n * 20))]
        for lead in visible.filter(id__in=probes)[: n - len(found)]:
            found[lead.pk] = lead
    if len(found) < n:  # small or sparse data: take what there is
        for lead in visible.order_by("-created_at")[: n * 3]:
            found.setdefault(lead.pk, lead)
    leads = list(found.values())
    rng.shuffle(leads)
    return (leads * (n // max(1, len(leads)) + 1))[:n] if leads else []


def search_terms(leads: list[Lead], rng: random.Random) -> list[str]:
    """A mix of what people type: name fragments, email fragments, company fragments, phone digits."""
    terms: list[str] = []
    for i, lead in enumerate(leads):
        kind = i % 5
        if kind == 0:
            term = lead.last_name
        elif kind == 1:
            term = f"{lead.first_name} {lead.last_name[:3]}".strip()
        elif kind == 2:
            term = lead.email.split("@")[0][: rng.randint(6, 12)] if lead.email else lead.last_name
        elif kind == 3:
            term = lead.company_name.split(" ")[0] if lead.company_name else lead.first_name
        else:
            digits = "".join(ch for ch in lead.phone if ch.isdigit())
            term = digits[-7:] if len(digits) >= 7 else lead.last_name
        terms.append(term or "a")
    return terms


@dataclass
class Scenario:
    name: str
    kind: str  # list, search, page
    role: str
    urls: list[str]
    warmup_urls: list[str]


@dataclass
class Timing:
    samples_ms: list[float]
    queries: int
    statuses: set[int]


@contextmanager
def _quiet_request_log() -> Iterator[None]:
    logger = logging.getLogger("embudo.request")
    level = logger.level
    logger.setLevel(logging.WARNING)
    try:
        yield
    finally:
        logger.setLevel(level)


@contextmanager
def _static_files() -> Iterator[None]:
    """Render ``{% static %}`` without the manifest, which needs an up-to-date ``collectstatic``
    (a dictionary lookup either way, so the measured time is the same)."""
    storages = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }
    with override_settings(STORAGES=storages), warnings.catch_warnings():
        # WhiteNoise warns about the missing STATIC_ROOT once per process; not relevant here.
        warnings.filterwarnings("ignore", message="No directory at")
        yield


class _QueryCounter:
    """A database execute wrapper that counts the queries of one request."""

    def __init__(self) -> None:
        self.queries = 0

    def __call__(self, execute: Callable[..., Any], sql: str, params: Any, many: bool, context: Any) -> Any:
        self.queries += 1
        return execute(sql, params, many, context)


def _time(client: Client, urls: list[str], warmup_urls: list[str]) -> Timing:
    for url in warmup_urls:
        client.get(url)
    count = _QueryCounter()
    with connection.execute_wrapper(count):
        client.get(urls[0])
    samples: list[float] = []
    statuses: set[int] = set()
    for url in urls:
        started = time.perf_counter()
        response = client.get(url)
        samples.append((time.perf_counter() - started) * 1000)
        statuses.add(response.status_code)
    return Timing(samples_ms=samples, queries=count.queries, statuses=statuses)


def explain(queryset: QuerySet[Lead]) -> dict[str, Any]:
    """``EXPLAIN (ANALYZE, BUFFERS)`` of a queryset, with the indexes its plan uses."""
    sql = str(queryset.query)
    plan = queryset.explain(analyze=True, buffers=True)
    indexes = sorted({m.group(2) for m in PLAN_NODE.finditer(plan)})
    match = re.search(r"Execution Time: ([\d.]+) ms", plan)
    return {
        "sql": sql,
        "plan": plan,
        "indexes": indexes,
        "uses_index": bool(indexes),
        "execution_ms": float(match.group(1)) if match else None,
    }


def _rep_list_queryset(user: User) -> QuerySet[Lead]:
    return selectors.filter_leads(selectors.leads_visible_to(user), LeadFilters()).order_by("-created_at", "-id")[:51]


def _search_queryset(user: User, term: str) -> QuerySet[Lead]:
    filters = LeadFilters(search=term)
    return selectors.filter_leads(selectors.leads_visible_to(user), filters).order_by("-created_at", "-id")[:51]


def _prepare_rep_day_data(stdout: catalog.Output | None) -> dict[str, int]:
    """Give the seeded leads what a rep's day reads: deals on the board and open follow-up tasks
    (idempotent, set-based; a second run adds nothing)."""
    from embudo.followups import bench as followups_bench
    from embudo.pipeline import bench as pipeline_bench

    started = time.perf_counter()
    deals = pipeline_bench.ensure_bench_deals()
    tasks = followups_bench.ensure_bench_tasks()
    if stdout is not None:
        stdout.write(f"rep's day data: {deals:,} deals, {tasks:,} open tasks ({time.perf_counter() - started:.1f} s)\n")
    return {"deals": deals, "open_tasks": tasks}


def _rep_day_scenarios(
    rep: User, manager: User, rep_leads: list[Lead], *, requests: int, warmup: int
) -> list[Scenario]:
    """The inbox, the board, "my day" and the lead page's htmx panels (each a request of its own)."""
    from embudo.inbox import bench as inbox_bench
    from embudo.pipeline import bench as pipeline_bench

    def cycle(urls: list[str], n: int) -> list[str]:
        return (urls * (n // max(1, len(urls)) + 1))[:n] if urls else []

    scenarios: list[Scenario] = []
    for role, user in (("sales_rep", rep), ("manager", manager)):
        label = "rep" if role == "sales_rep" else "manager"
        inbox = inbox_bench.inbox_urls(user)
        board = pipeline_bench.board_urls(user)
        scenarios.append(Scenario(f"inbox · {label}", "inbox", role, cycle(inbox, requests), cycle(inbox, warmup)))
        scenarios.append(Scenario(f"board · {label}", "board", role, cycle(board, requests), cycle(board, warmup)))
        by_grade = pipeline_bench.grade_urls()
        scenarios.append(
            Scenario(f"board by grade · {label}", "board", role, cycle(by_grade, requests), cycle(by_grade, warmup))
        )
        scenarios.append(Scenario(f"my day · {label}", "tasks", role, ["/tasks/"] * requests, ["/tasks/"] * warmup))
    panels = ["interactions", "pipeline", "tasks"]
    panel_urls = [_panel_url(name, lead.pk) for lead in rep_leads for name in panels]
    scenarios.append(
        Scenario("lead panels · rep", "panel", "sales_rep", panel_urls[warmup:][:requests], panel_urls[:warmup])
    )
    return scenarios


def _panel_url(name: str, lead_id: int) -> str:
    from django.urls import reverse

    namespace = {"interactions": "interactions", "pipeline": "pipeline", "tasks": "followups"}[name]
    return reverse(f"{namespace}:lead_panel", args=[lead_id])


def run(*, requests: int, warmup: int, min_leads: int, stdout: catalog.Output | None = None) -> Outcome:
    total = _estimated_leads()
    if total < min_leads:
        raise NotSeeded(
            f"The database has {total:,} leads; this benchmark needs at least {min_leads:,}. "
            f"Seed it first: `embudo bench seed --leads {min_leads}` (or pass --min-leads)."
        )
    rng = random.Random(SEED)  # noqa: S311 - reproducible samples, not secrets
    rep, admin = _user(REP_EMAIL, "sales_rep"), _user(ADMIN_EMAIL, "admin")
    manager = _user(MANAGER_EMAIL, "manager")
    prepared = _prepare_rep_day_data(stdout)
    n = requests + warmup
    rep_leads, admin_leads = _sample_leads(rep, n, rng), _sample_leads(admin, n, rng)
    rep_terms, admin_terms = search_terms(rep_leads, rng), search_terms(admin_leads, rng)

    def search_urls(terms: list[str]) -> list[str]:
        from urllib.parse import urlencode

        return [f"/leads/?{urlencode({'search': t})}" for t in terms]

    scenarios = [
        Scenario("lead list · rep", "list", "sales_rep", ["/leads/"] * requests, ["/leads/"] * warmup),
        Scenario("lead list · admin", "list", "admin", ["/leads/"] * requests, ["/leads/"] * warmup),
        Scenario(
            "search · rep", "search", "sales_rep", search_urls(rep_terms)[warmup:], search_urls(rep_terms)[:warmup]
        ),
        Scenario(
            "search · admin", "search", "admin", search_urls(admin_terms)[warmup:], search_urls(admin_terms)[:warmup]
        ),
        Scenario(
            "lead page · rep",
            "page",
            "sales_rep",
            [f"/leads/{lead.pk}/" for lead in rep_leads[warmup:]],
            [f"/leads/{lead.pk}/" for lead in rep_leads[:warmup]],
        ),
        Scenario(
            "lead page · admin",
            "page",
            "admin",
            [f"/leads/{lead.pk}/" for lead in admin_leads[warmup:]],
            [f"/leads/{lead.pk}/" for lead in admin_leads[:warmup]],
        ),
    ]
    scenarios += _rep_day_scenarios(rep, manager, rep_leads, requests=requests, warmup=warmup)
    clients: dict[str, Client] = {}
    for role, user in (("sales_rep", rep), ("admin", admin), ("manager", manager)):
        client = Client(SERVER_NAME=settings.ALLOWED_HOSTS[0] if settings.ALLOWED_HOSTS else "localhost")
        client.force_login(user)
        clients[role] = client

    results: list[dict[str, Any]] = []
    slowest_terms: dict[str, tuple[float, str]] = {}
    with _quiet_request_log(), _static_files():
        for scenario in scenarios:
            if not scenario.urls:
                continue
            timing = _time(clients[scenario.role], scenario.urls, scenario.warmup_urls)
            if scenario.kind == "search":
                slowest = max(range(len(timing.samples_ms)), key=lambda i: timing.samples_ms[i])
                terms = rep_terms if scenario.role == "sales_rep" else admin_terms
                slowest_terms[scenario.role] = (timing.samples_ms[slowest], terms[warmup + slowest])
            results.append(
                {
                    "scenario": scenario.name,
                    "kind": scenario.kind,
                    "role": scenario.role,
                    "requests": len(timing.samples_ms),
                    "p50_ms": round(percentile(timing.samples_ms, 0.50), 1),
                    "p95_ms": round(percentile(timing.samples_ms, 0.95), 1),
                    "max_ms": round(max(timing.samples_ms), 1),
                    "mean_ms": round(sum(timing.samples_ms) / len(timing.samples_ms), 1),
                    "queries": timing.queries,
                    "statuses": sorted(timing.statuses),
                }
            )

    def worst(kind: str) -> float:
        values = [r["p95_ms"] for r in results if r["kind"] == kind]
        return max(values) if values else 0.0

    figures: dict[str, Any] = {
        "lead_list_p95_ms": worst("list"),
        "search_p95_ms": worst("search"),
        "lead_page_p95_ms": worst("page"),
        "lead_panels_p95_ms": worst("panel"),
        "inbox_p95_ms": worst("inbox"),
        "board_p95_ms": worst("board"),
        "tasks_p95_ms": worst("tasks"),
        "leads": total,
        **prepared,
        "goal_ms": GOAL_MS,
    }
    for r in results:
        key = r["scenario"].replace(" · ", "_").replace(" ", "_")
        figures[f"{key}_p50_ms"] = r["p50_ms"]
        figures[f"{key}_p95_ms"] = r["p95_ms"]
        figures[f"{key}_max_ms"] = r["max_ms"]

    explains: dict[str, Any] = {"rep_list": explain(_rep_list_queryset(rep))}
    for role, user in (("sales_rep", rep), ("admin", admin)):
        if role in slowest_terms:
            ms, term = slowest_terms[role]
            explains[f"slowest_search_{role}"] = {
                "term": term,
                "request_ms": round(ms, 1),
                **explain(_search_queryset(user, term)),
            }

    outcome = Outcome(
        parameters={
            "requests": requests,
            "warmup": warmup,
            "rep": rep.email,
            "admin": admin.email,
            "manager": manager.email,
            "leads": total,
        },
        figures=figures,
        scenarios=results,
        explain=explains,
    )
    if stdout is not None:
        _print(outcome, stdout)
    return outcome


def _print(outcome: Outcome, stdout: catalog.Output) -> None:
    write: Callable[[str], Any] = stdout.write
    rows = [
        (r["scenario"], r["requests"], r["p50_ms"], r["p95_ms"], r["max_ms"], r["queries"],
         "ok" if r["p95_ms"] <= GOAL_MS else "MISS")
        for r in outcome.scenarios
    ]  # fmt: skip
    write(f"{outcome.figures['leads']:,} leads; server time in ms (goal: p95 ≤ {GOAL_MS:.0f} ms)\n\n")
    write(report.table(["scenario", "requests", "p50", "p95", "max", "queries", "goal"], rows) + "\n\n")
    for key in (
        "lead_list_p95_ms",
        "search_p95_ms",
        "lead_page_p95_ms",
        "lead_panels_p95_ms",
        "inbox_p95_ms",
        "board_p95_ms",
        "tasks_p95_ms",
    ):
        write(f"{key}: {outcome.figures[key]}\n")
    rep_list = outcome.explain["rep_list"]
    write(
        "\nEXPLAIN (ANALYZE, BUFFERS) of the rep's lead list query"
        f" (indexes: {', '.join(rep_list['indexes']) or 'NONE'}):\n"
    )
    write(rep_list["sql"] + "\n\n" + rep_list["plan"] + "\n")
    for key, value in outcome.explain.items():
        if key.startswith("slowest_search"):
            write(
                f"\nSlowest search ({key.removeprefix('slowest_search_')}): {value['term']!r}"
                f" took {value['request_ms']} ms;"
            )
            write(f" its query runs {value['execution_ms']} ms using {', '.join(value['indexes']) or 'no index'}:\n")
            write(value["plan"] + "\n")
