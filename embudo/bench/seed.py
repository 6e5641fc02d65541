"""``bench seed``: bulk-generate realistic companies, leads and timelines with PostgreSQL COPY.

Faker is too slow for a million rows, so each locale gets pools of a few thousand Faker values
that a seeded RNG combines. Emails are unique by construction (they embed the lead id). Rows are
streamed through psycopg 3's ``cursor.copy()`` in chunks, all in one transaction; when the insert
is large compared with what is there, the secondary indexes are dropped first and rebuilt after
(much faster than maintaining them row by row), then the tables are analyzed.
"""

from __future__ import annotations

import json
import random
import time
from bisect import bisect
from dataclasses import dataclass, field
from datetime import UTC, datetime
from itertools import accumulate
from typing import Any

from django.db import connection, transaction
from faker import Faker

from embudo.accounts import selectors as accounts_selectors
from embudo.accounts import services as accounts_services
from embudo.accounts.models import User
from embudo.core import clock
from embudo.dedupe import services as dedupe_services
from embudo.demo import catalog
from embudo.demo import seed as demo_seed
from embudo.leads import services as leads_services

SEED = 424242
POOL = 3000
DAYS = 730
CHUNK = 20_000
UNASSIGNED_SHARE = 0.10
REPS_PER_TEAM = 10
BIG_TABLES = ("leads_lead", "core_domainevent", "leads_company")


@dataclass(frozen=True)
class BenchRegion:
    locale: str
    country: str
    dial_code: str
    language: str
    team: str
    time_zone: str
    tlds: tuple[str, ...]
    weight: int


REGIONS = (
    BenchRegion("es_ES", "ES", "+34", "es", "Iberia", "Europe/Madrid", (".es", ".com"), 30),
    BenchRegion("es_MX", "MX", "+52", "es", "Americas", "America/Mexico_City", (".com.mx", ".mx"), 25),
    BenchRegion("en_US", "US", "+1", "en", "North America", "America/New_York", (".com", ".io"), 25),
    BenchRegion("es_CO", "CO", "+57", "es", "Andes", "America/Bogota", (".com.co", ".co"), 10),
    BenchRegion("en_GB", "GB", "+44", "en", "UK & Ireland", "Europe/London", (".co.uk", ".com"), 10),
)


@dataclass
class Pools:
    first: list[str]
    last: list[str]
    first_slug: list[str]
    last_slug: list[str]
    street: list[str]
    place: list[tuple[str, str, str]]  # city, region, postal code
    company: list[str]


@dataclass
class SeedResult:
    leads: int = 0
    companies: int = 0
    events: int = 0
    seconds: float = 0.0
    total_leads: int = 0
    total_companies: int = 0
    total_events: int = 0
    keys: int = 0  # dedupe blocking keys filed for the new leads
    phases: dict[str, float] = field(default_factory=dict)


def _esc(value: str) -> str:
    """Escape a value for COPY's text format."""
    if "\\" in value or "\t" in value or "\n" in value or "\r" in value:
        return value.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n").replace("\r", "\\r")
    return value


def _ts(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, UTC).isoformat(sep=" ")


def build_pools(region: BenchRegion, size: int = POOL) -> Pools:
    fake = Faker(region.locale)
    fake.seed_instance(SEED)
    first = [_esc(fake.first_name()) for _ in range(size)]
    last = [_esc(fake.last_name()) for _ in range(size)]
    state = getattr(fake, "state", None) or getattr(fake, "county", None) or fake.city
    return Pools(
        first=first,
        last=last,
        first_slug=[catalog.ascii_slug(v) or "info" for v in first],
        last_slug=[catalog.ascii_slug(v) or "contacto" for v in last],
        street=[_esc(fake.street_address()) for _ in range(size)],
        place=[(_esc(fake.city()), _esc(state()), _esc(fake.postcode())) for _ in range(size // 3)],
        company=[_esc(fake.company()) for _ in range(size)],
    )


def ensure_sales_org(
    *, reps_per_team: int = REPS_PER_TEAM, stdout: catalog.Output | None = None
) -> dict[str, list[int]]:
    """Teams, ``reps_per_team`` reps in each, and the demo personas when absent; returns rep ids by team."""
    if User.objects.filter(email__in=[p.email for p in demo_seed.PERSONAS]).count() != len(demo_seed.PERSONAS):
        password = demo_seed.resolve_password(None)
        demo_seed.ensure_personas(password)
        if stdout is not None:
            stdout.write(f"Created the demo personas (password: {password}).\n")
    for region in REGIONS:
        accounts_services.ensure_team(name=region.team, default_country=region.country, time_zone=region.time_zone)
    existing = set(User.objects.filter(email__endswith="@bench.embudo.demo").values_list("email", flat=True))
    fake = Faker("en_US")
    fake.seed_instance(SEED)
    for t, region in enumerate(REGIONS):
        for n in range(reps_per_team):
            email = f"rep{t + 1}{n + 1:02d}@bench.embudo.demo"
            name = fake.name()
            if email not in existing:
                accounts_services.create_user(
                    email=email, role="sales_rep", password=None, full_name=name, team_names=[region.team]
                )
    reps: dict[str, list[int]] = {}
    teams = {team.name: team for team in accounts_selectors.list_teams()}
    for region in REGIONS:
        members = teams[region.team].members.filter(role="sales_rep", is_active=True).order_by("id")
        reps[region.team] = list(members.values_list("id", flat=True))
    return reps


def _count(table: str) -> int:
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT count(*) FROM {table}")  # noqa: S608 - fixed table names
        row = cursor.fetchone()
    return int(row[0]) if row else 0


def _max_id(table: str) -> int:
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT coalesce(max(id), 0) FROM {table}")  # noqa: S608 - fixed table names
        row = cursor.fetchone()
    return int(row[0]) if row else 0


def _secondary_indexes(table: str) -> list[tuple[str, str]]:
    """(name, definition) of the indexes of ``table`` that no constraint owns."""
    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT i.indexrelid::regclass::text, pg_get_indexdef(i.indexrelid)
            FROM pg_index i
            WHERE i.indrelid = %s::regclass AND NOT i.indisprimary
              AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = i.indexrelid)
            ORDER BY 1
            """,
            [table],
        )
        return [(str(name), str(definition)) for name, definition in cursor.fetchall()]


def _execute(sql: str, params: list[Any] | None = None) -> None:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)


def _copy(sql: str, text: str) -> None:
    raw = connection.connection
    if raw is None:  # pragma: no cover - callers run inside a transaction, so connected
        raise RuntimeError("No database connection.")
    with raw.cursor() as cursor, cursor.copy(sql) as copy:
        copy.write(text.encode())


COMPANY_COLUMNS = "(id, name, domain, industry, size, country, lead_count, last_lead_at, created_at, updated_at)"
LEAD_COLUMNS = (
    "(id, first_name, last_name, email, phone, job_title, company_id, company_name, street_address, address_line2,"
    " city, region, postal_code, country, language, source, owner_id, team_id, lifecycle_stage, status, score,"
    " grade, custom_fields, created_at, updated_at)"
)
EVENT_COLUMNS = "(type, occurred_at, lead_id, actor_id, payload)"


def _companies_text(start_id: int, count: int, rng: random.Random, pools: dict[str, Pools], now: float) -> str:
    lines = []
    region_cum = list(accumulate(r.weight for r in REGIONS))
    size_cum = list(accumulate(catalog.COMPANY_SIZE_WEIGHTS))
    for cid in range(start_id, start_id + count):
        region = REGIONS[bisect(region_cum, rng.random() * region_cum[-1])]
        name = rng.choice(pools[region.locale].company)
        slug = catalog.ascii_slug(name, sep="-")[:40].strip("-") or "empresa"
        domain = f"{slug}-{cid}{rng.choice(region.tlds)}"
        size = catalog.COMPANY_SIZES[bisect(size_cum, rng.random() * size_cum[-1])]
        created = _ts(now - DAYS * 86400 * rng.random())
        lines.append(
            f"{cid}\t{name}\t{domain}\t{rng.choice(catalog.INDUSTRIES)}\t{size}\t{region.country}\t0\t\\N\t{created}\t{created}\n"
        )
    return "".join(lines)


def _company_index() -> dict[str, list[tuple[int, str, str]]]:
    """Companies by country: (id, name, domain), for matching leads to companies of their region."""
    by_country: dict[str, list[tuple[int, str, str]]] = {r.country: [] for r in REGIONS}
    with connection.cursor() as cursor:
        cursor.execute("SELECT id, name, domain, country FROM leads_company WHERE domain <> '' ORDER BY id")
        for cid, name, domain, country in cursor.fetchall():
            if country in by_country:
                by_country[country].append((cid, _esc(name), domain))
    return by_country


def _phone(rng: random.Random, region: BenchRegion) -> str:
    digits = str(rng.randrange(10**8, 10**9))
    if region.country == "ES":
        return f"+34{rng.choice('679')}{digits[:8]}"
    if region.country == "MX":
        return f"+52{rng.choice(('55', '33', '81', '22'))}{digits[:8]}"
    if region.country == "CO":
        return f"+573{digits}"
    if region.country == "GB":
        return f"+447{digits}"
    return f"+1{rng.randint(201, 989)}{rng.randint(2, 9)}{digits[:6]}"


class _LeadWriter:
    """Generates one chunk of leads (COPY text) and their events (COPY text)."""

    def __init__(
        self,
        *,
        rng: random.Random,
        pools: dict[str, Pools],
        companies: dict[str, list[tuple[int, str, str]]],
        reps: dict[str, list[int]],
        team_ids: dict[str, int],
        events_per_lead: int,
        now: float,
    ) -> None:
        self.rng = rng
        self.pools = pools
        self.companies = companies
        self.reps = reps
        self.team_ids = team_ids
        # Unassigned leads only have their LeadCreated event; the others make up for it on average.
        self.extra_events_max = max(0, round(2 * (events_per_lead - 1) / (1 - UNASSIGNED_SHARE)))
        self.now = now
        self.region_cum = list(accumulate(r.weight for r in REGIONS))
        self.source_cum = list(accumulate(catalog.SOURCE_WEIGHTS))
        self.statuses = list(catalog.STATUS_WEIGHTS)
        self.status_cum = list(accumulate(catalog.STATUS_WEIGHTS.values()))
        self.grade_cum = {s: list(accumulate(w)) for s, w in catalog.GRADE_WEIGHTS_OF_STATUS.items()}
        self.notes = {
            lang: [_esc(json.dumps({"text": note}, ensure_ascii=False)) for note in notes]
            for lang, notes in catalog.NOTES.items()
        }
        self.updates = {
            status: [_esc(json.dumps({"changes": {"status": [old, new]}})) for old, new in path]
            for status, path in catalog.STATUS_PATHS.items()
        }

    def chunk(self, start_id: int, count: int) -> tuple[str, str, int]:
        rng = self.rng
        random_ = rng.random
        leads: list[str] = []
        events: list[str] = []
        n_events = 0
        for lid in range(start_id, start_id + count):
            region = REGIONS[bisect(self.region_cum, random_() * self.region_cum[-1])]
            pools = self.pools[region.locale]
            i, j = int(random_() * len(pools.first)), int(random_() * len(pools.last))
            first, last = pools.first[i], pools.last[j]
            company_id: int | str = "\\N"
            company_name = ""
            options = self.companies[region.country]
            if options and random_() < 0.75:
                company_id, company_name, domain = options[int(random_() * len(options))]
                if random_() < 0.2:
                    domain = rng.choice(catalog.FREE_MAIL[region.language])
            else:
                domain = rng.choice(catalog.FREE_MAIL[region.language])
            if random_() < 0.7:
                email = f"{pools.first_slug[i]}.{pools.last_slug[j]}.{lid}@{domain}"
            else:
                email = f"{pools.first_slug[i][0]}{pools.last_slug[j]}.{lid}@{domain}"
            phone = _phone(rng, region)
            city, state, postcode = pools.place[int(random_() * len(pools.place))]
            street = pools.street[int(random_() * len(pools.street))]
            job = rng.choice(catalog.JOB_TITLES[region.language])
            source = catalog.SOURCES[bisect(self.source_cum, random_() * self.source_cum[-1])]
            reps = self.reps[region.team]
            owner = None if not reps or random_() < UNASSIGNED_SHARE else reps[int(random_() * len(reps))]
            status = "new" if owner is None else self.statuses[bisect(self.status_cum, random_() * self.status_cum[-1])]
            stage = rng.choice(catalog.STAGE_OF_STATUS[status])
            gcum = self.grade_cum[status]
            grade = catalog.GRADES[bisect(gcum, random_() * gcum[-1])]
            low, high = catalog.GRADE_SCORES[grade]
            score = low + int(random_() * (high - low + 1))
            created = self.now - DAYS * 86400 * random_() ** 1.2
            created_s = _ts(created)
            owner_s = "\\N" if owner is None else str(owner)
            fields = {
                "first_name": first, "last_name": last, "email": email, "phone": phone, "job_title": job,
                "street_address": street, "city": city, "region": state, "postal_code": postcode,
                "country": region.country, "language": region.language, "source": source,
            }  # fmt: skip
            if company_name:
                fields["company_name"] = company_name
            payload = json.dumps(
                {"source": source, "channel": catalog.CHANNEL_OF_SOURCE[source], "fields": fields}, ensure_ascii=False
            )
            events.append(f"leads.LeadCreated\t{created_s}\t{lid}\t\\N\t{_esc(payload)}\n")
            when = created
            extra = rng.randint(0, self.extra_events_max) if self.extra_events_max and owner is not None else 0
            updates = self.updates[status][:extra]
            actor = owner_s
            for update in updates:
                when = min(self.now, when + 300 + random_() * 86400 * 5)
                events.append(f"leads.LeadUpdated\t{_ts(when)}\t{lid}\t{actor}\t{update}\n")
            notes = self.notes[region.language]
            for _ in range(extra - len(updates)):
                when = min(self.now, when + 600 + random_() * 86400 * 4)
                events.append(f"leads.NoteAdded\t{_ts(when)}\t{lid}\t{actor}\t{notes[int(random_() * len(notes))]}\n")
            n_events += 1 + extra
            updated_s = _ts(when)
            leads.append(
                f"{lid}\t{first}\t{last}\t{email}\t{phone}\t{job}\t{company_id}\t{company_name}\t{street}\t\t"
                f"{city}\t{state}\t{postcode}\t{region.country}\t{region.language}\t{source}\t{owner_s}\t"
                f"{self.team_ids[region.team]}\t{stage}\t{status}\t{score}\t{grade}\t{{}}\t{created_s}\t{updated_s}\n"
            )
        return "".join(leads), "".join(events), n_events


def _say(stdout: catalog.Output | None, message: str) -> None:
    if stdout is not None:
        stdout.write(message + "\n")
        flush = getattr(stdout, "flush", None)
        if flush is not None:
            flush()


def _key_progress(stdout: catalog.Output | None) -> Any:
    def report(done: int, total: int) -> None:
        if done == total or done % 200_000 < 20_000:
            _say(stdout, f"  dedupe keys: {done:,} / {total:,} leads")

    return report


def seed(
    *,
    leads: int,
    events_per_lead: int = 10,
    companies: int | None = None,
    reset: bool = False,
    stdout: catalog.Output | None = None,
) -> SeedResult:
    """Top the database up to ``leads`` leads and ``companies`` companies (``--reset`` truncates first)."""
    started = time.perf_counter()
    companies = companies if companies is not None else max(10, leads // 10)
    result = SeedResult()
    with transaction.atomic():
        if reset:
            # leads_leadscorerank and the dedupe tables have no foreign key to leads (see their models), so CASCADE
            # does not reach them; the key index's position (dedupe_scanstate) starts again from the first lead.
            _execute(
                "TRUNCATE leads_lead, leads_leadscorerank, leads_company, core_domainevent, dedupe_leadkey,"
                " dedupe_scanstate, dedupe_duplicatecandidate, dedupe_merge RESTART IDENTITY CASCADE"
            )
        reps = ensure_sales_org(stdout=stdout)
        team_ids = {team.name: team.pk for team in accounts_selectors.list_teams()}
        have_leads, have_companies = _count("leads_lead"), _count("leads_company")
        new_leads, new_companies = max(0, leads - have_leads), max(0, companies - have_companies)
        if not new_leads and not new_companies:
            _say(stdout, f"Already {have_leads:,} leads and {have_companies:,} companies; nothing to add.")
        _execute("SET LOCAL maintenance_work_mem = '1GB'")
        _execute("SET LOCAL max_parallel_maintenance_workers = 2")
        try:
            # Rows are consistent by construction: skip the per-row foreign key triggers (superuser only).
            with transaction.atomic():
                _execute("SET LOCAL session_replication_role = replica")
        except Exception:  # noqa: BLE001 - not a superuser: keep the checks
            _say(stdout, "(foreign key checks stay on: not a superuser)")
        rebuild: list[tuple[str, str]] = []
        for table, have, adding in (
            ("leads_lead", have_leads, new_leads),
            ("core_domainevent", have_leads, new_leads),
            ("leads_company", have_companies, new_companies),
        ):
            if adding > have:
                for name, definition in _secondary_indexes(table):
                    _execute(f"DROP INDEX {name}")
                    rebuild.append((name, definition))
        result.phases["prepare"] = time.perf_counter() - started

        rng = random.Random(SEED + have_leads + 7 * have_companies)  # noqa: S311 - reproducible data
        now = clock.now().timestamp()
        t0 = time.perf_counter()
        pools = {region.locale: build_pools(region) for region in REGIONS}
        result.phases["pools"] = time.perf_counter() - t0

        t0 = time.perf_counter()
        if new_companies:
            start = _max_id("leads_company") + 1
            for offset in range(0, new_companies, CHUNK * 5):
                n = min(CHUNK * 5, new_companies - offset)
                _copy(
                    f"COPY leads_company {COMPANY_COLUMNS} FROM STDIN",
                    _companies_text(start + offset, n, rng, pools, now),
                )
            _execute(
                "SELECT setval(pg_get_serial_sequence('leads_company', 'id'), (SELECT max(id) FROM leads_company))"
            )
            result.companies = new_companies
            _say(stdout, f"  companies: {new_companies:,} in {time.perf_counter() - t0:.1f}s")
        result.phases["companies"] = time.perf_counter() - t0

        t0 = time.perf_counter()
        if new_leads:
            writer = _LeadWriter(
                rng=rng,
                pools=pools,
                companies=_company_index(),
                reps=reps,
                team_ids=team_ids,
                events_per_lead=events_per_lead,
                now=now,
            )
            start = first_new_lead = _max_id("leads_lead") + 1
            for offset in range(0, new_leads, CHUNK):
                n = min(CHUNK, new_leads - offset)
                lead_text, event_text, n_events = writer.chunk(start + offset, n)
                _copy(f"COPY leads_lead {LEAD_COLUMNS} FROM STDIN", lead_text)
                _copy(f"COPY core_domainevent {EVENT_COLUMNS} FROM STDIN", event_text)
                result.leads += n
                result.events += n_events
                if (offset // CHUNK) % 10 == 9 or offset + n == new_leads:
                    elapsed = time.perf_counter() - t0
                    _say(
                        stdout, f"  leads: {result.leads:,} / {new_leads:,}, events: {result.events:,} ({elapsed:.0f}s)"
                    )
            _execute("SELECT setval(pg_get_serial_sequence('leads_lead', 'id'), (SELECT max(id) FROM leads_lead))")
        result.phases["leads_and_events"] = time.perf_counter() - t0

        t0 = time.perf_counter()
        for name, definition in rebuild:
            t1 = time.perf_counter()
            _execute(definition)
            _say(stdout, f"  index {name}: {time.perf_counter() - t1:.1f}s")
        result.phases["indexes"] = time.perf_counter() - t0

        t0 = time.perf_counter()
        if new_leads:
            # What leads.services.drain_company_stats computes (its triggers are off here: replica role).
            _execute(
                """
                UPDATE leads_company c SET lead_count = s.n, last_lead_at = s.last
                FROM (SELECT company_id, count(*) AS n, max(created_at) AS last FROM leads_lead
                      WHERE company_id IS NOT NULL GROUP BY company_id) s
                WHERE c.id = s.company_id AND (c.lead_count, c.last_lead_at) IS DISTINCT FROM (s.n, s.last)
                """
            )
        result.phases["company_stats"] = time.perf_counter() - t0
        if new_leads:
            # The leads' storage triggers did not fire under session_replication_role = replica: fill what they
            # keep (the score sort keys, the owners' open-lead counts). Without replica mode they did fire.
            t0 = time.perf_counter()
            _execute(
                "INSERT INTO leads_leadscorerank (lead_id, score) SELECT id, score FROM leads_lead WHERE id >= %s"
                " ON CONFLICT (lead_id) DO NOTHING",
                [first_new_lead],
            )
            leads_services.rebuild_owner_loads()
            result.phases["derived"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    # The fuzzy matcher's key index, as the job that follows a bulk write (an import) fills it: without it every
    # intake benchmark would match against an empty index, i.e. measure intake as if no lead were stored.
    keys = dedupe_services.build_key_index(progress=_key_progress(stdout))
    result.keys = keys.keys
    result.phases["dedupe_keys"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    # VACUUM sets the visibility map (index-only scans) as autovacuum eventually would; it cannot
    # run inside a transaction (e.g. in tests), where plain ANALYZE has to do.
    command = "ANALYZE" if connection.in_atomic_block else "VACUUM (ANALYZE)"
    for table in BIG_TABLES:
        _execute(f"{command} {table}")
    result.phases["analyze"] = time.perf_counter() - t0
    result.seconds = time.perf_counter() - started
    result.total_leads, result.total_companies = _count("leads_lead"), _count("leads_company")
    result.total_events = _count("core_domainevent")
    return result


def summary(result: SeedResult) -> dict[str, Any]:
    rows = result.leads + result.companies + result.events
    return {
        "leads": result.leads,
        "companies": result.companies,
        "events": result.events,
        "seconds": round(result.seconds, 1),
        "rows_per_s": round(rows / result.seconds) if result.seconds else 0,
        "total_leads": result.total_leads,
        "total_companies": result.total_companies,
        "total_events": result.total_events,
        "dedupe_keys": result.keys,
        "phases_s": {k: round(v, 1) for k, v in result.phases.items()},
    }
