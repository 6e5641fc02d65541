"""``bench dedupe-lookup``: fuzzy candidate lookup for one incoming lead with 1M leads stored.

Each sample is what intake does after its exact-key match found nothing: preparing the incoming
lead and hashing its blocking keys, the key-table query (``dedupe.selectors.find_candidates_by_keys``:
≤ 50 leads sharing the most keys, keys of ≥ ``MAX_BLOCK_SIZE`` leads skipped) plus scoring every
candidate with the pure matcher. Incoming leads are drawn reproducibly: half are stored leads with
realistic corruptions (accents dropped, a typo in the surname, another email, a nickname), half are
new people (names recombined from stored leads, unknown emails). Goal: p99 ≤ 20 ms.
"""

from __future__ import annotations

import random
import time
import unicodedata
from dataclasses import dataclass, field
from typing import Any

from django.db import connection, transaction

from embudo.bench.pages import NotSeeded, percentile
from embudo.dedupe import selectors

GOAL_P99_MS = 20.0
NICKNAMES = {"josé": "pepe", "francisco": "paco", "robert": "bob", "william": "bill", "manuel": "manolo",
             "jose": "pepe", "maría": "mari", "dolores": "lola", "ignacio": "nacho", "michael": "mike"}  # fmt: skip


@dataclass
class Outcome:
    parameters: dict[str, Any]
    figures: dict[str, Any]
    extra: dict[str, Any] = field(default_factory=dict)


def _fold(text: str) -> str:
    return "".join(c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c))


def _corrupt(row: dict[str, Any], rng: random.Random) -> dict[str, Any]:
    values = dict(row)
    values.pop("id", None)
    first, last = str(values.get("first_name") or ""), str(values.get("last_name") or "")
    choice = rng.randrange(4)
    if choice == 0:
        values["first_name"], values["last_name"] = _fold(first), _fold(last)
    elif choice == 1 and len(last) > 4:
        i = rng.randrange(1, len(last) - 1)
        values["last_name"] = last[:i] + last[i + 1] + last[i] + last[i + 2 :]
    elif choice == 2:
        values["first_name"] = NICKNAMES.get(first.lower(), first).title()
    values["email"] = f"{_fold(first).lower()[:1]}{_fold(last).lower().replace(' ', '')}{rng.randrange(99)}@gmail.com"
    values["email_domain_kind"] = "free"
    if rng.random() < 0.5:
        values["phone"] = ""
    return values


def _samples(n: int, seed: int) -> list[dict[str, Any]]:
    rng = random.Random(seed)  # noqa: S311 - reproducible sampling, not security
    with connection.cursor() as cursor:
        cursor.execute("SELECT min(id), max(id) FROM leads_lead")
        low, high = cursor.fetchone()
        rows: list[dict[str, Any]] = []
        for _ in range(n):
            cursor.execute(f"SELECT {', '.join(selectors.RECORD_FIELDS)} FROM leads_lead WHERE id >= %s "  # noqa: S608
                           "ORDER BY id LIMIT 1", [rng.randint(low, high)])  # fmt: skip
            names = [c.name for c in cursor.description]
            rows.append(dict(zip(names, cursor.fetchone(), strict=True)))
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


def _explain(values: dict[str, Any]) -> list[str]:
    sql, params = selectors.candidate_query(selectors.lead_keys(values))
    with connection.cursor() as cursor:
        cursor.execute("EXPLAIN (ANALYZE, BUFFERS) " + sql, params)
        return [r[0] for r in cursor.fetchall()]


def run(*, samples: int = 1000, warmup: int = 100, seed: int = 42, min_leads: int = 1_000_000,
        stdout: Any = None) -> Outcome:  # fmt: skip
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM leads_lead")
        leads = int(cursor.fetchone()[0])
    if leads < min_leads:
        raise NotSeeded(f"{leads} leads stored; seed at least {min_leads} (embudo bench seed).")
    incoming = _samples(samples + warmup, seed)
    times: list[float] = []
    found = candidates_total = 0
    for i, values in enumerate(incoming):
        t0 = time.perf_counter()
        with transaction.atomic():
            m = selectors._matcher()
            prepared = selectors.prepare(values)
            rows = selectors.find_candidates_by_keys(selectors.keys_of(prepared))
            scores = [m.compare(prepared, m.prepare(selectors._record(r, r["id"]))).score for r in rows]
        elapsed = (time.perf_counter() - t0) * 1000
        if i >= warmup:
            times.append(elapsed)
            candidates_total += len(rows)
            found += bool(scores and max(scores) >= float(m.REVIEW))
        if stdout is not None and i and i % 200 == 0:
            stdout.write(f"  {i}/{len(incoming)} lookups")
    figures = {
        "leads": leads,
        "p50_ms": round(percentile(times, 0.50), 2),
        "p99_ms": round(percentile(times, 0.99), 2),
        "max_ms": round(max(times), 2),
        "mean_candidates": round(candidates_total / len(times), 1),
        "share_with_match": round(found / len(times), 3),
        "goal_p99_ms": GOAL_P99_MS,
        "goal_met": percentile(times, 0.99) <= GOAL_P99_MS,
    }
    explain = {"corrupted_existing": _explain(incoming[warmup]), "new_person": _explain(incoming[warmup + 1])}
    return Outcome(parameters={"samples": samples, "warmup": warmup, "seed": seed,
                               "max_candidates": selectors.MAX_CANDIDATES,
                               "max_block_size": selectors.MAX_BLOCK_SIZE},
                   figures=figures, extra={"explain": explain})  # fmt: skip


GOAL_SCAN_SECONDS = 600.0


def run_scan(*, rebuild_keys: bool = False, limit: int | None = None, min_leads: int = 1_000_000,
             stdout: Any = None) -> Outcome:  # fmt: skip
    """``bench dedupe-scan``: (optionally) rebuild the blocking-key index, then scan every lead from the start.

    The scan's pairs and position are removed afterwards so the run can be repeated on the same data.
    """
    from embudo.dedupe import services
    from embudo.dedupe.models import DuplicateCandidate, LeadKey, ScanState

    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM leads_lead")
        leads = int(cursor.fetchone()[0])
    if leads < min_leads:
        raise NotSeeded(f"{leads} leads stored; seed at least {min_leads} (embudo bench seed).")

    def progress(label: str) -> Any:
        def report(done: int, total: int) -> None:
            if stdout is not None and (done == total or done % 100_000 < 10_000):
                stdout.write(f"  {label}: {done}/{total}")

        return report

    figures: dict[str, Any] = {"leads": leads, "stale_keys_removed": services.remove_keys_of_deleted_leads()}
    if rebuild_keys:
        built = services.build_key_index(since_id=0, progress=progress("key index"))
        figures |= {"key_index_seconds": built.seconds, "keys": built.keys}
    else:
        figures["keys"] = LeadKey.objects.count()
    last_candidate = DuplicateCandidate.objects.order_by("-id").values_list("id", flat=True).first() or 0
    state = ScanState.objects.filter(name=services.SCAN_NAME).values_list("last_lead_id", flat=True).first()
    try:
        result = services.scan(since_id=0, limit=limit, progress=progress("scan"))
    finally:
        DuplicateCandidate.objects.filter(id__gt=last_candidate).delete()
        ScanState.objects.filter(name=services.SCAN_NAME).update(last_lead_id=state or 0)
    figures |= {
        "scanned": result.scanned,
        "scan_seconds": result.seconds,
        "leads_per_second": round(result.scanned / result.seconds) if result.seconds else None,
        "candidates": result.candidates,
        "goal_scan_seconds": GOAL_SCAN_SECONDS,
        "goal_met": result.scanned == leads and result.seconds < GOAL_SCAN_SECONDS,
    }
    return Outcome(parameters={"rebuild_keys": rebuild_keys, "limit": limit, "per_lead": services.SCAN_PER_LEAD,
                               "scan_block_size": services.SCAN_BLOCK_SIZE}, figures=figures)  # fmt: skip
