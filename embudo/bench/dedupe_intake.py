"""``bench dedupe-intake``: what fuzzy matching adds to one intake with 1M leads stored.

Each sample times ``dedupe.services.find_fuzzy_match`` end to end, as intake calls it after its
exact-key match found nothing: preparing the incoming lead and hashing its keys, the candidate query
(top ``selectors.INTAKE_CANDIDATES`` leads by shared keys, only the matcher's columns), the cheap
first pass and the full comparison of the candidates that survive it. The incoming leads are shaped
as in ``bench dedupe-lookup`` (drawn uniformly from the stored rows): half corrupted copies of
stored leads, half new people.

The same samples are then answered the previous way (the top ``selectors.MAX_CANDIDATES`` = 50
candidates, keys of up to ``MAX_BLOCK_SIZE`` = 300 leads, every one fully compared, untimed) to show
what the cut costs in answers: the share of samples where both ways pick the same lead (or both
none) and make the same decision (auto-merge, review, nothing). Goal: p99 ≤ 3 ms added per intake.
"""

from __future__ import annotations

import random
import time
from typing import Any

from django.db import connection, transaction

from embudo.bench.dedupe_lookup import Outcome, _corrupt
from embudo.bench.pages import NotSeeded, percentile
from embudo.dedupe import selectors, services

# The goal for a candidate lookup at intake (this times the whole match, lookup included), and the
# tighter budget we set ourselves for what fuzzy matching adds to an API intake.
GOAL_P99_MS = 20.0
INTAKE_BUDGET_P99_MS = 3.0


def _samples(n: int, seed: int) -> list[dict[str, Any]]:
    """Incoming leads drawn uniformly from the stored rows (a reproducible Bernoulli sample, whatever the
    gaps in the ids): even ones corrupted copies of stored leads, odd ones new people, as dedupe-lookup."""
    rng = random.Random(seed)  # noqa: S311 - reproducible sampling, not security
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM leads_lead")
        total = int(cursor.fetchone()[0])
        percent = min(100.0, 100.0 * 3 * n / max(total, 1))
        cursor.execute(f"SELECT {', '.join(selectors.RECORD_FIELDS)} FROM leads_lead "  # noqa: S608
                       "TABLESAMPLE BERNOULLI (%s) REPEATABLE (%s) ORDER BY id", [percent, seed])  # fmt: skip
        names = [c.name for c in cursor.description]
        rows = [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]
    rows = rng.sample(rows, min(n, len(rows)))
    incoming = []
    for i, row in enumerate(rows):
        if i % 2 == 0:
            incoming.append(_corrupt(row, rng))
        else:
            other = rows[rng.randrange(len(rows))]
            incoming.append({"first_name": row["first_name"], "last_name": other["last_name"], "city": row["city"],
                             "email": f"new{seed}_{i}@example.net", "email_domain_kind": "business",
                             "phone": f"+3469{rng.randrange(10**7):07d}"})  # fmt: skip
    return incoming


def _decision(score: float | None) -> str:
    auto, review = selectors.thresholds()
    if score is None or score < review:
        return "none"
    return "auto_merge" if score >= auto else "review"


def _full_scoring(values: dict[str, Any]) -> tuple[int | None, float | None]:
    """The previous answer: the 50 best-sharing candidates, each fully compared; the first best wins."""
    m = selectors._matcher()
    incoming = selectors.prepare(values)
    rows = selectors.find_candidates_by_keys(selectors.keys_of(incoming), limit=selectors.MAX_CANDIDATES,
                                             block_size=selectors.MAX_BLOCK_SIZE)  # fmt: skip
    best: tuple[int, float] | None = None
    for row in rows:
        score = m.compare(incoming, m.prepare(selectors._record(row, row["id"]))).score
        if best is None or score > best[1]:
            best = (int(row["id"]), score)
    if best is None or best[1] < float(m.REVIEW):
        return None, None
    return best


def _explain(values: dict[str, Any]) -> list[str]:
    sql, params = selectors.candidate_query(selectors.lead_keys(values), limit=selectors.INTAKE_CANDIDATES,
                                            block_size=selectors.INTAKE_BLOCK_SIZE)  # fmt: skip
    with connection.cursor() as cursor:
        cursor.execute("EXPLAIN (ANALYZE, BUFFERS) " + sql, params)
        return [r[0] for r in cursor.fetchall()]


def run(*, samples: int = 1000, warmup: int = 100, seed: int = 42, min_leads: int = 1_000_000,
        candidates: int | None = None, stdout: Any = None) -> Outcome:  # fmt: skip
    """``candidates``: how many candidates intake fetches (default ``selectors.INTAKE_CANDIDATES``)."""
    if candidates is not None:
        selectors.INTAKE_CANDIDATES = candidates
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM leads_lead")
        leads = int(cursor.fetchone()[0])
    if leads < min_leads:
        raise NotSeeded(f"{leads} leads stored; seed at least {min_leads} (embudo bench seed).")
    # Keys of leads other benchmarks deleted in bulk would crowd the candidates out (a cleanup, idempotent).
    stale_keys = services.remove_keys_of_deleted_leads()
    incoming = _samples(samples + warmup, seed)
    times: list[float] = []
    answers: list[tuple[int | None, float | None]] = []
    stats = selectors.Scored()
    for i, values in enumerate(incoming):
        measured = i >= warmup
        run_stats = selectors.Scored()
        t0 = time.perf_counter()  # one statement: intake runs it inside its own transaction
        match = services.find_fuzzy_match(values, stats=run_stats)
        elapsed = (time.perf_counter() - t0) * 1000
        if measured:
            times.append(elapsed)
            stats.candidates += run_stats.candidates
            stats.compared += run_stats.compared
            answers.append((match.lead_id, match.score) if match else (None, None))
        if stdout is not None and i and i % 200 == 0:
            stdout.write(f"  {i}/{len(incoming)} lookups")
    same_lead = same_decision = 0
    decisions = {"auto_merge": 0, "review": 0, "none": 0}
    for values, (lead_id, score) in zip(incoming[warmup:], answers, strict=True):
        with transaction.atomic():
            old_id, old_score = _full_scoring(values)
        same_lead += old_id == lead_id
        same_decision += _decision(old_score) == _decision(score)
        decisions[_decision(score)] += 1
    n = len(times)
    figures = {
        "leads": leads,
        "p50_ms": round(percentile(times, 0.50), 2),
        "p99_ms": round(percentile(times, 0.99), 2),
        "max_ms": round(max(times), 2),
        "mean_candidates_fetched": round(stats.candidates / n, 2),
        "mean_candidates_compared": round(stats.compared / n, 2),
        "share_auto_merge": round(decisions["auto_merge"] / n, 3),
        "share_review": round(decisions["review"] / n, 3),
        "same_lead_as_50_full": round(same_lead / n, 4),
        "same_decision_as_50_full": round(same_decision / n, 4),
        "goal_p99_ms": GOAL_P99_MS,
        "goal_met": percentile(times, 0.99) <= GOAL_P99_MS,
        "intake_budget_p99_ms": INTAKE_BUDGET_P99_MS,
        "intake_budget_met": percentile(times, 0.99) <= INTAKE_BUDGET_P99_MS,
    }
    explain = {"corrupted_existing": _explain(incoming[warmup]), "new_person": _explain(incoming[warmup + 1])}
    parameters = {
        "samples": samples, "warmup": warmup, "seed": seed, "intake_candidates": selectors.INTAKE_CANDIDATES,
        "intake_block_size": selectors.INTAKE_BLOCK_SIZE, "previous_block_size": selectors.MAX_BLOCK_SIZE,
    }  # fmt: skip
    return Outcome(parameters=parameters, figures=figures, extra={"explain": explain, "stale_keys_removed": stale_keys})
