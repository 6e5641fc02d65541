"""``embudo bench import``: a realistic seeded CSV (default 1,000,000 rows) through the bulk import path.

The file mixes Spanish, Mexican and US people; emails in mixed case on free-mail and business
domains; phones in local and international formats read with the row's country; ~10% rows are
existing leads of the database (by email, some by phone only), ~5% repeat an earlier row of the
file, ~5% are invalid (bad email, phone with too few digits, unknown country). The timed part is
``imports.run_import`` (read, normalize, COPY to staging, set-based apply, commit); generating the
file is not. Unless ``--keep``, what the import added (leads, events, submissions, companies,
attribution) is deleted afterwards so the benchmark database stays at its seeded size.
"""

from __future__ import annotations

import csv
import os
import random
import resource
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from django.db import connection

from embudo.bench import intake_api
from embudo.bench.intake_api import Outcome
from embudo.capture import imports
from embudo.leads import services as leads_services

FIRST = {
    "ES": ["María", "Carmen", "José", "Antonio", "Lucía", "Javier", "Marta", "Pablo", "Elena", "Álvaro", "Nuria"],
    "MX": ["Guadalupe", "Juan", "Alejandro", "Ximena", "Sofía", "Diego", "Fernanda", "Luis", "Valeria", "Emiliano"],
    "US": ["James", "Mary", "Robert", "Patricia", "Michael", "Jennifer", "David", "Linda", "Sarah", "Kevin"],
}
LAST = {
    "ES": ["García", "Fernández", "González", "Rodríguez", "López", "Martínez", "Sánchez", "Pérez", "de la Fuente"],
    "MX": ["Hernández", "Ramírez", "Flores", "Cruz", "Morales", "Reyes", "Jiménez", "Gutiérrez", "Mendoza"],
    "US": ["Smith", "Johnson", "Williams", "Brown", "Jones", "Miller", "Davis", "McDonald", "O'Neill"],
}
CITIES = {
    "ES": ["Madrid", "Barcelona", "Valencia", "Sevilla", "Bilbao", "Málaga"],
    "MX": ["Ciudad de México", "Guadalajara", "Monterrey", "Puebla", "Mérida"],
    "US": ["New York", "Austin", "Chicago", "Miami", "Seattle"],
}
COUNTRY_TEXT = {
    "ES": ["España", "ES", "Spain", "españa"],
    "MX": ["México", "MX", "Mexico"],
    "US": ["USA", "US", "EEUU"],
}
FREE = {"ES": ["gmail.com", "hotmail.es", "yahoo.es", "outlook.es"], "MX": ["gmail.com", "hotmail.com", "yahoo.com.mx"],
        "US": ["gmail.com", "yahoo.com", "outlook.com", "aol.com"]}  # fmt: skip
TITLES = ["CEO", "CTO", "Director de Marketing", "Sales Manager", "Compras", "Gerente", "Analyst", ""]
HEADER = ["Nombre", "Apellidos", "Correo", "Teléfono", "Empresa", "Web", "Cargo", "Ciudad", "País", "Origen"]
MAPPING = {
    "Nombre": "first_name", "Apellidos": "last_name", "Correo": "email", "Teléfono": "phone",
    "Empresa": "company_name", "Web": "company_domain", "Cargo": "job_title", "Ciudad": "city", "País": "country",
    "Origen": "custom:origen",
}  # fmt: skip


def _phone(rng: random.Random, country: str) -> str:
    if country == "ES":
        n = f"6{rng.randrange(10**8):08d}"
        return rng.choice([f"{n[:3]} {n[3:5]} {n[5:7]} {n[7:]}", f"+34 {n}", f"0034{n}", n])
    if country == "MX":
        n = f"55{rng.randrange(10**8):08d}"
        return rng.choice([f"{n[:2]} {n[2:6]} {n[6:]}", f"+52 1 {n[:2]} {n[2:6]} {n[6:]}", f"+52{n}", n])
    area = rng.choice(["212", "512", "312", "305", "206", "415"])
    n = f"{rng.randrange(2, 10)}{rng.randrange(10**6):06d}"
    return rng.choice([f"({area}) {n[:3]}-{n[3:]}", f"+1 {area} {n[:3]} {n[3:]}", f"{area}.{n[:3]}.{n[3:]}"])


def _ascii(text: str) -> str:
    table = str.maketrans("áéíóúñÁÉÍÓÚÑü' ", "aeiounAEIOUNu..")
    return text.translate(table).lower()


@dataclass
class Generated:
    path: Path
    rows: int
    existing: int = 0
    file_duplicates: int = 0
    invalid: int = 0


def generate(path: Path, *, rows: int, seed: int = 42) -> Generated:
    """Write the CSV; existing leads are sampled from the database (``TABLESAMPLE``, seeded)."""
    rng = random.Random(seed)  # noqa: S311 - test data, not secrets
    want_existing = rows // 10
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT email, phone, first_name FROM leads_lead TABLESAMPLE SYSTEM (20) REPEATABLE (%s) "
            "WHERE email <> '' LIMIT %s",
            [seed, want_existing],
        )
        existing = cursor.fetchall()
    words = [rng.choice(["acme", "grupo", "tecno", "soluciones", "global"]) for _ in range(5000)]
    businesses = [f"{w}{i}.{rng.choice(['es', 'com', 'mx', 'io'])}" for i, w in enumerate(words)]
    made: list[list[str]] = []
    info = Generated(path=path, rows=rows)
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(HEADER)
        for i in range(rows):
            roll = rng.random()
            if roll < 0.10 and existing:
                email, phone, first = existing[rng.randrange(len(existing))]
                info.existing += 1
                if rng.random() < 0.2 and phone:
                    row = ["", "", "", phone, "", "", rng.choice(TITLES), "", "", "feria"]
                else:
                    row = [first, "", email.upper() if rng.random() < 0.3 else email, "", "", "",
                           rng.choice(TITLES), "", "", "feria"]  # fmt: skip
            elif roll < 0.15 and made:
                earlier = list(made[rng.randrange(len(made))])
                earlier[2] = earlier[2].upper() if rng.random() < 0.5 else earlier[2]
                earlier[7] = "" if rng.random() < 0.5 else earlier[7]
                earlier[6] = rng.choice(TITLES)
                row = earlier
                info.file_duplicates += 1
            else:
                country = rng.choices(["ES", "MX", "US"], weights=[5, 3, 2])[0]
                first = rng.choice(FIRST[country])
                last = rng.choice(LAST[country])
                business = rng.random() < 0.4
                domain = rng.choice(businesses) if business else rng.choice(FREE[country])
                email = f"{_ascii(first)}.{_ascii(last)}.{i}@{domain}"
                if rng.random() < 0.3:
                    email = email.title()
                row = [
                    first.lower() if rng.random() < 0.2 else first,
                    last.upper() if rng.random() < 0.1 else last,
                    email,
                    _phone(rng, country) if rng.random() < 0.85 else "",
                    f"{domain.split('.')[0].title()} SL" if business else "",
                    f"https://www.{domain}/" if business and rng.random() < 0.5 else "",
                    rng.choice(TITLES),
                    rng.choice(CITIES[country]),
                    rng.choice(COUNTRY_TEXT[country]),
                    rng.choice(["web", "feria", "partner", ""]),
                ]
                if rng.random() < 0.055:
                    info.invalid += 1
                    kind = rng.randrange(3)
                    if kind == 0:
                        row[2] = row[2].replace("@", "@@")
                    elif kind == 1:
                        row[3] = "12"
                    else:
                        row[8] = "Narnia"
                elif len(made) < 200_000:
                    made.append(row)
            writer.writerow(row)
    return info


def _process_cpu(pid: int) -> float:
    """User + system CPU seconds of a process of this machine (the embedded server's backend)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:  # not on this machine (DATABASE_URL) or not Linux
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _server_cpu(backend: int) -> float:
    """CPU seconds of the whole embedded server: its live processes (the import's backends, the GIN merger's,
    the timeline writer's, autovacuum, the WAL writer…) plus those that ended, which the postmaster reaped
    (their time is in its children's counters)."""
    try:
        postmaster = int(Path(f"/proc/{backend}/stat").read_text().rsplit(")", 1)[1].split()[1])
        fields = Path(f"/proc/{postmaster}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, ValueError):
        return 0.0
    total = int(fields[11]) + int(fields[12]) + int(fields[13]) + int(fields[14])
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            child = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:  # ended meanwhile
            continue
        if int(child[1]) == postmaster:
            total += int(child[11]) + int(child[12])
    return total / os.sysconf("SC_CLK_TCK")


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _cleanup(before: dict[str, int], started: Any) -> None:
    statements = [
        ("UPDATE leads_lead SET company_id = NULL WHERE company_id > %s", before["leads_company"]),
        ("DELETE FROM core_domainevent WHERE id > %s", before["core_domainevent"]),
        ("DELETE FROM capture_submission WHERE id > %s", before["capture_submission"]),
        ("DELETE FROM capture_leadattribution WHERE last_at >= %s AND last_channel = 'import'", started),
        ("DELETE FROM dedupe_leadkey WHERE lead_id > %s", before["leads_lead"]),
        ("DELETE FROM leads_lead WHERE id > %s", before["leads_lead"]),
        ("DELETE FROM leads_company WHERE id > %s", before["leads_company"]),
    ]
    with connection.cursor() as cursor:
        for sql, param in statements:
            cursor.execute(sql, [param])
    # The import's writes and these deletions queued their companies (leads_companystatspending): recount them
    # now, as the worker's drain would (~7 s for a run's ~300k rows), so no benchmark inherits the backlog.
    leads_services.drain_company_stats()
    with connection.cursor() as cursor:
        if not connection.in_atomic_block:
            # The deleted rows are dead until vacuumed, in every index: left there, they slow every later
            # benchmark that reads these tables (a million leads and two million events per run).
            for table in ("leads_lead", "leads_leadscorerank", "core_domainevent", "capture_submission",
                          "capture_leadattribution", "dedupe_leadkey", "leads_company",
                          "leads_companystatspending"):  # fmt: skip
                cursor.execute(f"VACUUM {table}")
            # Vacuumed indexes keep their size, and the next run's inserts land between the old entries: over nine
            # runs in a day lead_search_trgm grew from 167 MB to 1.9 GB and the lead B-trees 3-8x, which every
            # later benchmark then read. Rebuilt, the tables' indexes are as the seed left them (~32 s at 1M leads).
            # The events' indexes are left: the deleted events were the newest, their pages are reused as a whole.
            for table in REBUILT_AFTER_A_RUN:
                cursor.execute(f"REINDEX TABLE {table}")


# The tables whose indexes a run grows with rows spread over the whole index, then deletes.
REBUILT_AFTER_A_RUN = ("leads_lead", "leads_leadscorerank", "capture_submission", "capture_leadattribution")


def run(*, rows: int, seed: int, workers: int | None, keep: bool, stdout: Any) -> Outcome:
    from embudo.core import clock

    with tempfile.TemporaryDirectory(prefix="embudo-bench-import-") as tmp:
        path = Path(tmp) / "leads.csv"
        t = time.perf_counter()
        generated = generate(path, rows=rows, seed=seed)
        generate_s = time.perf_counter() - t
        stdout.write(f"generated {rows:,} rows ({path.stat().st_size / 2**20:.0f} MiB) in {generate_s:.1f} s\n")
        before = intake_api.max_ids()
        started = clock.now()
        job = imports.create_job_for_file(path=path, mapping=MAPPING, source="bench-import")

        def progress(done: int, total: int) -> None:
            stdout.write(f"  {done:,} / {total:,} rows applied ({time.perf_counter() - t:.1f} s)\n")

        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_backend_pid()")
            backend = int(cursor.fetchone()[0])
        cpu = (_process_cpu(backend), time.process_time(), _children_cpu(), _server_cpu(backend))
        t = time.perf_counter()
        summary = imports.run_import(job_id=job.pk, workers=workers, progress=progress)
        seconds = time.perf_counter() - t
        # CPU seconds of each side (2 cores: their sum over 2 is the floor of the wall time).
        cpu_s = {
            "database_backend": round(_process_cpu(backend) - cpu[0], 1),
            "database_all": round(_server_cpu(backend) - cpu[3], 1),
            "python_parent": round(time.process_time() - cpu[1], 1),
            "python_normalizers": round(_children_cpu() - cpu[2], 1),
        }
        if not keep:
            t = time.perf_counter()
            _cleanup(before, started)
            stdout.write(f"cleaned up in {time.perf_counter() - t:.1f} s\n")
    figures = {
        "rows": summary.rows,
        "seconds": round(seconds, 1),
        "rows_per_s": round(summary.rows / seconds) if seconds else 0,
        "created": summary.created,
        "merged": summary.merged,
        "rejected": summary.rejected,
        "goal_seconds": 60,
        "phases_s": summary.phases,
        "gin_merges_during_apply": summary.gin_merges,
        "cpu_s": cpu_s,
    }
    parameters = {
        "rows": rows,
        "seed": seed,
        "workers": workers,
        "existing_rows": generated.existing,
        "file_duplicate_rows": generated.file_duplicates,
        "invalid_rows": generated.invalid,
        "generate_seconds": round(generate_s, 1),
    }
    return Outcome(parameters=parameters, figures=figures)
