"""Rep's-day benchmark data for the board: a deal for every owned lead of the bench database.

``ensure_bench_deals`` is set-based (one ``INSERT … SELECT … ON CONFLICT DO NOTHING``) and idempotent: a second run
adds nothing. Stages follow a realistic funnel (most deals in New/Contacted, few closed), amounts a skewed
spread, ``stage_entered_at`` a few days to two months after the lead arrived. Leads are not touched.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from django.db import connection, transaction

from embudo.accounts import selectors as accounts_selectors
from embudo.accounts.models import User
from embudo.pipeline import services

# Cumulative per-mille thresholds of the funnel: new 34%, contacted 26%, interested 15%, proposal 9%,
# won 6%, lost 10%.
_FUNNEL = (("new", 340), ("contacted", 600), ("interested", 750), ("proposal_sent", 840), ("won", 900), ("lost", 1000))
LOST_REASONS = ("No budget", "Chose a competitor", "No decision", "Not a fit", "Went silent")

_INSERT = """
WITH funnel(key, upper_bound) AS (SELECT * FROM unnest(%(keys)s::text[], %(bounds)s::int[])),
picked AS (
    SELECT l.id, l.owner_id, l.team_id, l.created_at,
           (SELECT f.key FROM funnel f WHERE f.upper_bound > abs(hashint8(l.id)) %% 1000
             ORDER BY f.upper_bound LIMIT 1) AS key,
           abs(hashint8(l.id * 7 + 1)) AS h
      FROM leads_lead l
     WHERE l.owner_id IS NOT NULL AND l.id > %(after)s AND l.id <= %(until)s
)
INSERT INTO pipeline_deal (lead_id, stage_id, amount, currency, owner_id, team_id, lost_reason, stage_entered_at,
                           created_at, updated_at, closed_at)
SELECT p.id, COALESCE(ts.id, ds.id),
       round((300 + (p.h %% 1000) * (p.h %% 1000) / 20.0)::numeric, -1), 'EUR', p.owner_id, p.team_id,
       CASE WHEN p.key = 'lost' THEN (%(reasons)s::text[])[1 + (p.h %% 5)::int] ELSE '' END,
       LEAST(now(), p.created_at + ((p.h / 1000) %% 60) * interval '1 day'), p.created_at,
       LEAST(now(), p.created_at + ((p.h / 1000) %% 60) * interval '1 day'),
       CASE WHEN p.key IN ('won', 'lost') THEN LEAST(now(), p.created_at + ((p.h / 1000) %% 60) * interval '1 day') END
  FROM picked p
  JOIN pipeline_stage ds ON ds.team_id IS NULL AND ds.key = p.key
  LEFT JOIN pipeline_stage ts ON ts.team_id = p.team_id AND ts.key = p.key
ON CONFLICT (lead_id) DO NOTHING
"""
BATCH = 200_000


def ensure_bench_deals() -> int:
    """Give every owned lead a deal (idempotent, set-based, in batches of lead ids); returns the number of deals."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT coalesce(max(id), 0) FROM leads_lead")
        row = cursor.fetchone()
        top = int(row[0]) if row else 0
        cursor.execute("SELECT count(*) FROM leads_lead WHERE owner_id IS NOT NULL")
        owned_row = cursor.fetchone()
        cursor.execute("SELECT count(*) FROM pipeline_deal")
        deal_row = cursor.fetchone()
    if owned_row and deal_row and int(deal_row[0]) >= int(owned_row[0]):
        return int(deal_row[0])  # already there: nothing to add
    services.ensure_default_stages()
    params: dict[str, Any] = {
        "keys": [k for k, _ in _FUNNEL],
        "bounds": [b for _, b in _FUNNEL],
        "reasons": list(LOST_REASONS),
    }
    for after in range(0, top, BATCH):
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(_INSERT, {**params, "after": after, "until": after + BATCH})
    services.rebuild_totals()
    with connection.cursor() as cursor:
        # VACUUM sets the visibility map: the board's index-only scans then skip the heap (not possible inside
        # a transaction, e.g. a test's).
        cursor.execute("VACUUM ANALYZE pipeline_deal" if connection.get_autocommit() else "ANALYZE pipeline_deal")
        cursor.execute("ANALYZE pipeline_stagetotal")
        cursor.execute("SELECT count(*) FROM pipeline_deal")
        final = cursor.fetchone()
    return int(final[0]) if final else 0


def board_urls(user: User) -> list[str]:
    """The boards a person opens during the day: their default board (reps: their deals; managers: their teams'),
    everyone visible, and for managers one team's board and their own deals. Filtered boards (grade, amount,
    search) and the list view are measured apart (see the pipeline notes): they read the deals themselves."""
    urls = ["/pipeline/", "/pipeline/?" + urlencode({"owner": "all"})]
    if user.role == "manager":
        urls.append("/pipeline/?" + urlencode({"owner": "me"}))
        for team_id in accounts_selectors.team_ids_of(user)[:2]:
            urls.append("/pipeline/?" + urlencode({"owner": "all", "team": team_id}))
    return urls


def extra_urls() -> list[str]:
    """Filtered boards and the list view (live aggregates over the deals)."""
    return ["/pipeline/?grade=hot", "/pipeline/?min=20000", "/pipeline/?view=list", "/pipeline/?view=list&sort=-amount"]


def grade_urls() -> list[str]:
    """The grade-filtered boards: counts, totals and cards from the deal's own ``grade`` (no join to leads)."""
    return ["/pipeline/?" + urlencode({"grade": grade}) for grade in ("hot", "warm", "cold")]
