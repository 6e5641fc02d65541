"""CSV import: the bulk path of intake (``COPY`` + set-based SQL) with the per-submission path's rules.

Every CSV row becomes a ``Submission`` (channel ``import``, payload = the raw row, context with the
import job, row number, default region and team) whose final status says what happened, so the
reconciliation (``capture.selectors.reconcile``) balances for imports too.

Phases of :func:`run_import`, as a pipeline:

1. **normalize** — the file is streamed (``csv``, encoding from ``detect_encoding``, sniffed delimiter), the column
   mapping applied and each row normalized and enriched with the same pure functions as the
   per-submission path (:mod:`embudo.capture.domain.normalize` / ``enrich``), through per-run caches
   (names, cities, countries, email domains repeat a lot), an exact fast path for plain emails and
   one ``phonenumbers`` parse per phone for the E.164 form, the country and the time zone. Large
   files are normalized by a pool of processes (by default one per CPU but one) that run ahead of
   the parent while it applies, and build each row's ``COPY`` line.
2. **apply** — per batch of ``BATCH_ROWS`` rows, one transaction: ``COPY`` into an UNLOGGED staging
   table, then set-based SQL: rows are grouped (within-file duplicates: same email, else same phone,
   as a row-by-row import would find them), each group is matched to an existing lead by
   ``lower(email)`` then phone (newest lead, as ``leads.selectors.find_lead_by_keys``; leads created
   by earlier batches are existing leads by then), groups that end on the same lead are folded, and
   survivorship is applied per field exactly as if the rows had been processed one after the other
   in file order (``SURVIVORSHIP``: identity fields keep the first known value, the others take the
   latest non-empty value; never an empty value over a known one). Matching probes the indexes once
   per group, matched leads are read by primary key: a batch never reads the whole lead table. New
   leads are inserted (a plain ``INSERT`` in a savepoint, again with ``ON CONFLICT ((lower(email)))``
   when a lead stored concurrently by another channel has one of the emails: that group turns into a
   merge), companies are created for business domains and linked, existing
   leads are updated only where something changes, then the Submission rows, the ``leads.LeadUpdated``
   events and the attribution rows are inserted with ``INSERT … SELECT``. The same transaction advances the
   checkpoint ``ImportJob.processed_rows`` and the counts (the progress the UI shows), and defers the
   scoring and routing jobs (:func:`_apply_scoring_and_routing`).
3. **timeline** — the ``leads.LeadCreated`` and ``capture.LeadCaptured`` events of a committed batch are
   written from its submissions by a transaction of their own, on another connection, while the next
   batch applies (:class:`_TimelineWriter`); it advances the second checkpoint
   ``ImportJob.timeline_through_submission_id``, and the next batch commits only after it.
4. **reactions** — subscribers of those events that the import does not handle itself
   (``HANDLED_BY_THE_IMPORT``) get one job per event (``batch_defer``), in the transaction that wrote them.

Trigram index entries of new leads wait in the GIN pending list, merged every 0.25 s from another connection
(``leads.search_index.PendingListMerger``) so that no other channel's insert has to.
A crash or failure leaves the job ``running``/``failed`` with whole batches applied; running it
again (the ``capture.run_import`` job is idempotent) first writes the timeline of committed batches that
lack it, then skips the rows of committed batches and goes on, so every row becomes exactly one Submission
and every processed row exactly one ``LeadCaptured``. ``resume_import`` (the import page's Resume button,
``embudo import leads --resume JOB_ID``) runs a failed job again, or a ``running`` one whose run died: a run holds
a session advisory lock on its job (``is_stalled``), so a live run is never run twice. New leads are routed or not
for the whole job (``routes_new_leads``), never per batch.
Rejected rows (invalid values, no contact) are Submissions with status ``rejected``, reason and
per-field messages, and are also written to ``<DATA_DIR>/imports/<job id>-rejected.csv``.
"""

from __future__ import annotations

import codecs
import csv
import functools
import hashlib
import json
import multiprocessing
import os
import queue
import re
import threading
import time
import unicodedata
import uuid
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import phonenumbers
from django.conf import settings
from django.db import DatabaseError, IntegrityError, connection, transaction
from django.db.models import F
from django.db.models.functions import Greatest
from email_validator import EmailNotValidError, validate_email
from phonenumbers import timezone as phone_timezone
from procrastinate.contrib.django import app as procrastinate_app

from config import event_map
from embudo.accounts import selectors as accounts_selectors
from embudo.capture import mapping as capture_mapping
from embudo.capture.domain import enrich, normalize, survivorship
from embudo.capture.models import Channel, FieldMapping, ImportJob, ImportStatus
from embudo.core import clock
from embudo.core.exceptions import DomainError
from embudo.leads import search_index

CHUNK_ROWS = 20_000
# Rows applied per transaction (one checkpoint each); normalization of the next batch overlaps.
BATCH_ROWS = 100_000
PREVIEW_ROWS = 20
# A file of up to this many rows is a list: its new leads are routed (jobs deferred per batch). A bigger file is a
# migration of existing data: its new leads wait unassigned in the team queue for a manager, as the import page
# says. Decided once per job from the file's rows (``routes_new_leads``), never per batch.
ROUTE_IMPORTED_MAX = 5000
MAX_COLUMNS = 200
IGNORE = ""
CUSTOM_PREFIX = "custom:"
# Lead columns written by intake (``leads.services.INTAKE_FIELDS`` minus ``source``), in SQL order.
LEAD_COLUMNS = (
    "first_name", "last_name", "email", "phone", "job_title", "company_name", "street_address",
    "address_line2", "city", "region", "postal_code", "country", "language", "time_zone", "email_domain_kind",
)  # fmt: skip
MAPPABLE_FIELDS = capture_mapping.LEAD_FIELD_NAMES

# Column headers that map themselves (folded: lower-case ASCII letters and digits only).
SYNONYMS: Mapping[str, str] = {
    **{f.replace("_", ""): f for f in MAPPABLE_FIELDS},
    "name": "first_name", "firstname": "first_name", "givenname": "first_name", "nombre": "first_name",
    "nombres": "first_name", "surname": "last_name", "lastname": "last_name", "familyname": "last_name",
    "apellido": "last_name", "apellidos": "last_name", "email": "email", "mail": "email",
    "emailaddress": "email", "correo": "email", "correoelectronico": "email", "telephone": "phone",
    "tel": "phone", "mobile": "phone", "mobilephone": "phone", "cell": "phone", "telefono": "phone",
    "movil": "phone", "celular": "phone", "phonenumber": "phone", "whatsapp": "whatsapp_id",
    "company": "company_name", "companyname": "company_name", "organization": "company_name",
    "organisation": "company_name", "empresa": "company_name", "compania": "company_name",
    "website": "company_domain", "web": "company_domain", "domain": "company_domain",
    "sitioweb": "company_domain", "paginaweb": "company_domain", "title": "job_title", "jobtitle": "job_title",
    "position": "job_title", "cargo": "job_title", "puesto": "job_title", "address": "street_address",
    "street": "street_address", "direccion": "street_address", "city": "city", "town": "city",
    "ciudad": "city", "localidad": "city", "state": "region", "province": "region", "provincia": "region",
    "estado": "region", "region": "region", "zip": "postal_code", "zipcode": "postal_code",
    "postcode": "postal_code", "codigopostal": "postal_code", "cp": "postal_code", "country": "country",
    "pais": "country", "language": "language", "idioma": "language", "lang": "language",
}  # fmt: skip


class ImportError_(DomainError):  # ``ImportError`` is a builtin
    code = "import_invalid"


class BadImportFile(ImportError_):
    code = "import_bad_file"


class BadImportMapping(ImportError_):
    code = "import_bad_mapping"


# --- files, preview, mapping --------------------------------------------------------------------


def imports_dir() -> Path:
    directory = Path(settings.DATA_DIR) / "imports"
    directory.mkdir(parents=True, exist_ok=True)
    return directory


def max_upload_bytes() -> int:
    return int(getattr(settings, "IMPORT_MAX_BYTES", 200 * 1024 * 1024))


def _fold(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    return "".join(ch for ch in decomposed if ch.isascii() and ch.isalnum())


# Encodings a CSV file is read in (see ``detect_encoding``), with the name the import page shows.
ENCODING_NAMES: Mapping[str, str] = {
    "utf-8-sig": "UTF-8",
    "utf-16": "UTF-16",
    "cp1252": "Windows-1252",
    "latin-1": "ISO-8859-1 (Latin-1)",
}
_ENCODING_BLOCK = 1 << 20
# ``detect_encoding`` and ``count_rows`` per file version (path, size, mtime): the pages ask again at every poll.
_FILE_FACTS: dict[tuple[str, int, int, str], Any] = {}


def _file_key(path: Path, what: str) -> tuple[str, int, int, str]:
    stat = path.stat()
    return (str(path), stat.st_size, stat.st_mtime_ns, what)


def _decodes(handle: IO[bytes], encoding: str) -> bool:
    """Whether the whole file decodes strictly in ``encoding`` (read in blocks: memory stays flat)."""
    handle.seek(0)
    decoder = codecs.getincrementaldecoder(encoding)("strict")
    try:
        for block in iter(lambda: handle.read(_ENCODING_BLOCK), b""):
            decoder.decode(block)
        decoder.decode(b"", final=True)
    except UnicodeDecodeError:
        return False
    return True


def detect_encoding(path: Path) -> str:
    """The encoding the file is read in: UTF-16 when it starts with a UTF-16 byte-order mark; else UTF-8 (a
    UTF-8 BOM is dropped) when the whole file is valid UTF-8; else Windows-1252, what Excel writes for "CSV" on
    Windows in Spanish and English locales (Latin-1 when one of the five bytes Windows-1252 leaves undefined
    occurs). The whole file is checked (a non-UTF-8 byte may come after any sample): a strict decode in 1 MB
    blocks, about 0.1 s per 100 MB, once per file version. The same file always gets the same answer, so the
    preview, the run and a resumed run read the same columns and rows."""
    key = _file_key(path, "encoding")
    known = _FILE_FACTS.get(key)
    if known is not None:
        return str(known)
    with path.open("rb") as handle:
        head = handle.read(2)
        if head in (codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE):
            encoding = "utf-16"
        elif _decodes(handle, "utf-8"):
            encoding = "utf-8-sig"
        elif _decodes(handle, "cp1252"):
            encoding = "cp1252"
        else:
            encoding = "latin-1"
    if len(_FILE_FACTS) > 256:
        _FILE_FACTS.clear()
    _FILE_FACTS[key] = encoding
    return encoding


def _open_text(path: Path) -> IO[str]:
    # ``replace`` only matters for a UTF-16 file with a broken surrogate or a file changed since its detection.
    return path.open(newline="", encoding=detect_encoding(path), errors="replace")


def _dialect(sample: str) -> type[csv.Dialect] | csv.Dialect:
    try:
        return csv.Sniffer().sniff(sample, delimiters=",;\t|")
    except csv.Error:
        return csv.excel


def read_rows(path: Path) -> tuple[list[str], Iterator[list[str]], IO[str]]:
    """``(columns, rows, file)``: the header and an iterator of raw rows (caller closes ``file``)."""
    handle = _open_text(path)
    sample = handle.read(64 * 1024)
    handle.seek(0)
    if not sample.strip():
        handle.close()
        raise BadImportFile("The file is empty.")
    reader = csv.reader(handle, _dialect(sample))
    try:
        header = next(reader)
    except (StopIteration, csv.Error) as exc:
        handle.close()
        raise BadImportFile("The file has no header row.") from exc
    if not any(c.strip() for c in header):
        handle.close()
        raise BadImportFile("The file has no header row.")
    if len(header) > MAX_COLUMNS:
        handle.close()
        raise BadImportFile(f"The file has more than {MAX_COLUMNS} columns.")
    return column_names(header), reader, handle


def column_names(header: Sequence[str]) -> list[str]:
    """Unique column names for a header row: an empty header cell (Excel pads rows with them: ``email,name,,``)
    is named ``Column N`` after its position, a repeated name gets its count (``phone``, ``phone (2)``).

    The names are the keys of the mapping and of each submission's payload, so they never depend on the UI
    language."""
    names = [cell.strip() or f"Column {position}" for position, cell in enumerate(header, start=1)]
    taken = set(names)
    seen: set[str] = set()
    unique: list[str] = []
    for name in names:
        if name in seen:
            count = 2
            while f"{name} ({count})" in taken:
                count += 1
            name = f"{name} ({count})"
            taken.add(name)
        seen.add(name)
        unique.append(name)
    return unique


@dataclass(frozen=True)
class Preview:
    columns: list[str]
    rows: list[list[str]]
    encoding: str = "utf-8-sig"  # a key of ENCODING_NAMES

    @property
    def encoding_name(self) -> str:
        return ENCODING_NAMES.get(self.encoding, self.encoding)


def preview(path: Path, *, rows: int = PREVIEW_ROWS) -> Preview:
    columns, reader, handle = read_rows(path)
    try:
        first: list[list[str]] = []
        for raw in reader:
            first.append([(raw[i] if i < len(raw) else "") for i in range(len(columns))])
            if len(first) >= rows:
                break
    except csv.Error as exc:
        raise BadImportFile(f"The file is not a readable CSV: {exc}") from exc
    finally:
        handle.close()
    return Preview(columns=columns, rows=first, encoding=detect_encoding(path))


def guess_field(column: str) -> str:
    """The lead field a column named like one (or a common English/Spanish synonym) maps to."""
    folded = _fold(column)
    if folded.startswith(("email", "correo", "mail")) and folded not in SYNONYMS:
        return "email"
    return SYNONYMS.get(folded, IGNORE)


def propose_mapping(columns: Sequence[str], *, source: str = "") -> dict[str, str]:
    """The saved mapping of ``source`` where it knows a column, else the column's own name's guess."""
    saved: Mapping[str, str] = {}
    if source:
        saved = FieldMapping.objects.filter(source=source).values_list("mapping", flat=True).first() or {}
    taken: set[str] = set()
    proposal: dict[str, str] = {}
    for column in columns:
        target = saved.get(column) if column in saved else guess_field(column)
        target = target or IGNORE
        if target and not target.startswith(CUSTOM_PREFIX) and target in taken:
            target = IGNORE
        taken.add(target)
        proposal[column] = target
    return proposal


_CUSTOM_KEY = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.\- ]{0,63}$")


def validate_mapping(mapping: Mapping[str, str], columns: Sequence[str]) -> dict[str, str]:
    """A clean ``{column: field | custom:<key> | ""}``; raises ``BadImportMapping`` with field messages."""
    errors: dict[str, list[str]] = {}
    clean: dict[str, str] = {}
    seen: dict[str, str] = {}
    for column, target in mapping.items():
        target = (target or "").strip()
        if column not in columns:
            errors[column] = [f"Unknown column {column!r}."]
            continue
        if target and target not in MAPPABLE_FIELDS:
            key = target.removeprefix(CUSTOM_PREFIX)
            if not target.startswith(CUSTOM_PREFIX) or not _CUSTOM_KEY.match(key):
                errors[column] = [f"Unknown lead field {target!r}: use a lead field, custom:<key> or leave it empty."]
                continue
        if target and target in seen:
            errors[column] = [f"{target!r} is already mapped from column {seen[target]!r}."]
            continue
        if target:
            seen[target] = column
        clean[column] = target
    if not errors and not any(t in ("email", "phone", "whatsapp_id", "first_name", "last_name") for t in seen):
        errors["__all__"] = ["Map at least one of email, phone, first name or last name."]
    if errors:
        raise BadImportMapping("The column mapping is not valid.", fields=errors)
    return clean


def save_mapping(*, source: str, mapping: Mapping[str, str]) -> None:
    """Remember the mapping for the next import from ``source``."""
    if source:
        FieldMapping.objects.update_or_create(source=source[:64], defaults={"mapping": dict(mapping)})


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def store_upload(*, chunks: Iterable[bytes], file_name: str, created_by_id: int | None, source: str = "") -> ImportJob:
    """Store an uploaded CSV under ``DATA_DIR/imports/`` (size-checked, hashed) and create its job."""
    limit = max_upload_bytes()
    target = imports_dir() / f"{uuid.uuid4().hex}.csv"
    digest = hashlib.sha256()
    size = 0
    with target.open("wb") as out:
        for chunk in chunks:
            size += len(chunk)
            if size > limit:
                out.close()
                target.unlink(missing_ok=True)
                raise BadImportFile(f"The file is larger than {limit // (1024 * 1024)} MB.")
            digest.update(chunk)
            out.write(chunk)
    try:
        preview(target, rows=1)
    except BadImportFile:
        target.unlink(missing_ok=True)
        raise
    return ImportJob.objects.create(
        created_by_id=created_by_id,
        source=source[:64],
        file_name=Path(file_name).name[:255] or "import.csv",
        file_path=str(target),
        file_sha256=digest.hexdigest(),
    )


def create_job_for_file(
    *,
    path: Path,
    mapping: Mapping[str, str] | None,
    source: str = "",
    default_region: str = "",
    team_id: int | None = None,
    created_by_id: int | None = None,
) -> ImportJob:
    """An import job for a file already on disk (CLI, benchmarks); ``mapping`` None = proposed one."""
    info = preview(path, rows=1)
    chosen = validate_mapping(mapping if mapping is not None else propose_mapping(info.columns, source=source),
                              info.columns)  # fmt: skip
    return ImportJob.objects.create(
        created_by_id=created_by_id,
        source=source[:64],
        file_name=path.name[:255],
        file_path=str(path),
        file_sha256=sha256_of(path),
        mapping=chosen,
        default_region=_region(default_region) or accounts_selectors.team_default_country(team_id),
        team_id=team_id,
    )


def _region(text: str) -> str:
    text = (text or "").strip()
    if not text:
        return ""
    try:
        return normalize.normalize_country(text)
    except normalize.NormalizationError as exc:
        raise BadImportMapping("Unknown default country.", fields={"default_region": [str(exc)]}) from exc


def configure_job(
    *, job_id: int, mapping: Mapping[str, str], source: str, default_region: str, team_id: int | None
) -> ImportJob:
    """Set the mapping and options of an uploaded job, and save the mapping for ``source``."""
    job = ImportJob.objects.get(pk=job_id)
    if job.status != ImportStatus.UPLOADED:
        raise ImportError_("This import has already started.")
    info = preview(Path(job.file_path), rows=1)
    job.mapping = validate_mapping(mapping, info.columns)
    job.source = source[:64]
    # Numbers without a country code: the row's country, else this region, else the team's country.
    job.default_region = _region(default_region) or accounts_selectors.team_default_country(team_id)
    job.team_id = team_id
    job.save(update_fields=["mapping", "source", "default_region", "team_id"])
    save_mapping(source=job.source, mapping=job.mapping)
    return job


def start_import(*, job_id: int) -> None:
    """Queue the import for the worker (``capture.run_import``)."""
    with transaction.atomic():
        updated = ImportJob.objects.filter(pk=job_id, status=ImportStatus.UPLOADED).update(
            status=ImportStatus.RUNNING, started_at=clock.now()
        )
        if updated:
            procrastinate_app.configure_task("capture.run_import").defer(job_id=job_id)


def find_earlier_import(job: ImportJob) -> ImportJob | None:
    """The latest other import of the same file (same SHA-256) that has started: importing it again adds its
    rows again (a row with a name only becomes a second lead), so the mapping page warns about it."""
    if not job.file_sha256:
        return None
    return (
        ImportJob.objects.filter(file_sha256=job.file_sha256)
        .exclude(pk=job.pk)
        .exclude(status=ImportStatus.UPLOADED)
        .order_by("-created_at", "-id")
        .first()
    )


def count_rows(path: Path, *, limit: int) -> int:
    """The file's non-blank data rows (as the run counts them), counting no further than ``limit + 1``: cheap
    for any file size, exact up to ``limit``."""
    key = _file_key(path, f"rows<={limit}")
    known = _FILE_FACTS.get(key)
    if known is not None:
        return int(known)
    _columns, reader, handle = read_rows(path)
    count = 0
    try:
        for raw in reader:
            if any(v.strip() for v in raw):
                count += 1
                if count > limit:
                    break
    except csv.Error as exc:
        raise BadImportFile(f"The file is not a readable CSV: {exc}") from exc
    finally:
        handle.close()
    _FILE_FACTS[key] = count
    return count


def routes_new_leads(job: ImportJob) -> bool:
    """Whether the job's new leads are routed (``ROUTE_IMPORTED_MAX``), decided once for the whole file from
    its number of rows, so the import page can say it before the run starts."""
    if job.status == ImportStatus.DONE:
        return job.total_rows <= ROUTE_IMPORTED_MAX
    try:
        return count_rows(Path(job.file_path), limit=ROUTE_IMPORTED_MAX) <= ROUTE_IMPORTED_MAX
    except (OSError, BadImportFile):
        return job.total_rows <= ROUTE_IMPORTED_MAX


# Advisory lock held by a run of an import job for as long as it runs (its session's): a run whose worker died
# has lost it, so a job ``running`` without it is not running any more.
_RUN_LOCK = "SELECT pg_try_advisory_lock(hashtext('capture.import'), %s::integer)"
_RUN_UNLOCK = "SELECT pg_advisory_unlock(hashtext('capture.import'), %s::integer)"
# A job marked running this recently may be between its start and its run taking the lock.
STALLED_AFTER_SECONDS = 120


def _lock_key(job_id: int) -> int:
    return job_id % 2_147_483_647


def _take_run_lock(job_id: int) -> bool:
    with connection.cursor() as cursor:
        cursor.execute(_RUN_LOCK, [_lock_key(job_id)])
        return bool(cursor.fetchone()[0])


def _release_run_lock(job_id: int) -> None:
    try:
        with connection.cursor() as cursor:
            cursor.execute(_RUN_UNLOCK, [_lock_key(job_id)])
    except DatabaseError:  # pragma: no cover - the connection is gone, and the lock with its session
        pass


def is_stalled(job: ImportJob) -> bool:
    """A job marked ``running`` that no run is running and no worker job is waiting to run: its worker died
    (killed, out of memory, the machine restarted) after some batches, which stay committed."""
    if job.status != ImportStatus.RUNNING:
        return False
    if job.started_at and (clock.now() - job.started_at).total_seconds() < STALLED_AFTER_SECONDS:
        return False
    if not _take_run_lock(job.pk):
        return False  # a run holds it
    _release_run_lock(job.pk)
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT EXISTS (SELECT 1 FROM procrastinate_jobs WHERE task_name = 'capture.run_import' "
            "AND status = 'todo' AND args = %s::jsonb)",
            [json.dumps({"job_id": job.pk})],
        )
        queued = bool(cursor.fetchone()[0])
    return not queued


def is_resumable(job: ImportJob) -> bool:
    return job.status == ImportStatus.FAILED or is_stalled(job)


def resume_import(*, job_id: int, defer: bool = True) -> ImportJob:
    """Run a failed or stalled import again (``capture.run_import``, or by the caller when ``defer`` is false):
    the run goes on after the last committed batch, so no row is imported twice. Raises ``ImportError_`` for a
    job that is done, not started or still running."""
    with transaction.atomic():
        job = ImportJob.objects.select_for_update().get(pk=job_id)
        if not is_resumable(job):
            raise ImportError_("Only a failed import, or one whose run stopped, can be resumed.")
        job.status, job.error, job.finished_at = ImportStatus.RUNNING, "", None
        job.save(update_fields=["status", "error", "finished_at"])
        if defer:
            procrastinate_app.configure_task("capture.run_import").defer(job_id=job_id)
    return job


# --- per-row normalization (runs in worker processes; pure) -------------------------------------


def _copy_text(value: str) -> str:
    """A value in COPY text format (``\\N`` is never produced: empty is ``''``)."""
    if "\\" in value or "\t" in value or "\n" in value or "\r" in value:
        return value.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n").replace("\r", "\\r")
    return value


_LABEL = r"[a-z0-9](?:[a-z0-9\-]*[a-z0-9])?"
_PLAIN_EMAIL = re.compile(rf"^([a-z0-9_+\-]+(?:\.[a-z0-9_+\-]+)*)@({_LABEL}(?:\.{_LABEL})+)$")


@functools.lru_cache(maxsize=100_000)
def _email_domain(domain: str) -> str | None:
    """The validated ASCII domain of a plain email (``None`` when email-validator rejects it)."""
    try:
        return validate_email(f"a@{domain}", check_deliverability=False).ascii_domain.lower()
    except EmailNotValidError:
        return None


def _normalize_email(raw: str) -> str:
    """``normalize.normalize_email`` with an exact fast path for plain ASCII addresses."""
    text = raw.strip().lower()
    match = _PLAIN_EMAIL.match(text) if len(text) <= 254 else None
    if match and len(match.group(1)) <= 64:
        ascii_domain = _email_domain(match.group(2))
        if ascii_domain is not None:
            return f"{match.group(1)}@{ascii_domain}"
    return normalize.normalize_email(raw)


def _cached(function: Callable[..., str]) -> Callable[..., tuple[str, str]]:
    @functools.lru_cache(maxsize=200_000)
    def wrapper(*args: str) -> tuple[str, str]:
        try:
            return function(*args), ""
        except normalize.NormalizationError as exc:
            return "", str(exc)

    return wrapper


_name = _cached(normalize.normalize_name)
_country = _cached(normalize.normalize_country)
_domain = _cached(normalize.normalize_domain)
_language = _cached(normalize.normalize_language)
_text = _cached(normalize.clean_text)
# Keyed by the email's domain: the kind and the company domain depend only on it.
_kind = functools.lru_cache(maxsize=100_000)(enrich.email_domain_kind)
_company_domain = functools.lru_cache(maxsize=100_000)(enrich.company_domain_for)


_PHONE_TEXT = re.compile(r"^\+?[0-9 ().\-/]+(?:\s*(?:ext\.?|x|#)\s*[0-9]{1,10})?$", re.IGNORECASE)
_E164 = re.compile(r"^\+[1-9][0-9]{6,14}$")


@functools.lru_cache(maxsize=200_000)
def _phone_with_facts(raw: str, default_region: str | None) -> tuple[str, str, str, str]:
    """``(e164, error, country, time_zone)``: ``normalize.normalize_phone`` and then
    ``enrich.country_from_phone`` / ``time_zone_from_phone`` of its result, parsing the number once
    (the steps of ``normalize_phone``, repeated here; tests check the equivalence)."""
    text = unicodedata.normalize("NFKC", normalize.clean_text(raw, normalize.MAX_RAW_LENGTH))
    if not text:
        return "", "", "", ""
    if not _PHONE_TEXT.match(text):
        return _phone_error(raw, default_region)
    if text.startswith("00"):
        text = "+" + text[2:]
    region = (default_region or "").strip().upper() or None
    if not text.startswith("+") and region is None:
        return _phone_error(raw, default_region)
    try:
        number = phonenumbers.parse(text, region)
    except phonenumbers.NumberParseException:
        return _phone_error(raw, default_region)
    national = str(number.national_number)
    if number.country_code == 52 and len(national) == 11 and national.startswith("1"):
        number = phonenumbers.PhoneNumber(country_code=52, national_number=int(national[1:]))
    if phonenumbers.is_possible_number_with_reason(number) != phonenumbers.ValidationResult.IS_POSSIBLE:
        return _phone_error(raw, default_region)
    e164 = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
    if not _E164.match(e164):
        return _phone_error(raw, default_region)
    # The number as ``phonenumbers.parse(e164, None)`` reads it back (no extension, same leading zeros).
    canonical = phonenumbers.PhoneNumber(
        country_code=number.country_code,
        national_number=number.national_number,
        italian_leading_zero=number.italian_leading_zero,
        number_of_leading_zeros=number.number_of_leading_zeros,
    )
    return (e164, "", *_number_facts(canonical))


def _phone_error(raw: str, default_region: str | None) -> tuple[str, str, str, str]:
    """The per-submission function's own message for a number the fast path refuses."""
    try:
        e164 = normalize.normalize_phone(raw, default_region)
    except normalize.NormalizationError as exc:
        return "", str(exc), "", ""
    return (e164, "", *_phone_facts(e164))  # pragma: no cover - both paths refuse the same numbers


def _phone_facts(e164: str) -> tuple[str, str]:
    """``(enrich.country_from_phone(e164), enrich.time_zone_from_phone(e164))`` with one parse."""
    try:
        number = phonenumbers.parse(e164, None)
    except phonenumbers.NumberParseException:
        return "", ""
    return _number_facts(number)


def _number_facts(number: phonenumbers.PhoneNumber) -> tuple[str, str]:
    region = phonenumbers.region_code_for_number(number)
    country = region if region and len(region) == 2 and region.isalpha() else ""
    zones = [zone for zone in phone_timezone.time_zones_for_number(number) if zone != "Etc/Unknown"]
    if len(zones) == 1:
        return country, zones[0]
    main = enrich.MAIN_TIME_ZONES.get(country, "")
    return country, main if main in zones else ""


@dataclass(frozen=True)
class RowResult:
    ok: bool
    values: dict[str, str]
    errors: dict[str, list[str]]
    reason: str = ""
    company_domain: str = ""
    custom: dict[str, str] = field(default_factory=dict)
    enriched: tuple[str, ...] = ()


def normalize_row(fields: Mapping[str, str], custom: Mapping[str, str], *, default_region: str) -> RowResult:
    """One mapped row through normalization, validation and enrichment.

    Equivalent to ``normalize.normalize_lead_fields`` + the checks and ``enrich.enrich`` of
    ``capture.services.process_locked_submission`` (no form or browser language for imports), with caches.
    """
    values: dict[str, str] = {}
    errors: dict[str, list[str]] = {}

    def put(name: str, result: tuple[str, str]) -> None:
        value, error = result
        if error:
            errors[name] = [error]
        elif value:
            limit = normalize.MAX_LENGTHS[name]
            if len(value) > limit:
                errors[name] = [f"At most {limit} characters."]
            else:
                values[name] = value

    country = ""
    # Country and time zone of ``values["phone"]`` when it comes from the phone column (one parse).
    fields_phone = phone_country = phone_zone = ""
    if "country" in fields:
        put("country", _country(fields["country"]))
        country = values.get("country", "")
    # A number without its country code is read in the row's own country, else in the job's default region
    # (``normalize.normalize_local_phone``); the error, when neither reads it, is the first region's.
    region = country or default_region or None
    for name, raw in fields.items():
        if name == "country":
            continue
        if name == "email":
            try:
                put(name, (_normalize_email(raw), ""))
            except normalize.NormalizationError as exc:
                errors[name] = [str(exc)]
        elif name == "phone":
            e164, error, phone_country, phone_zone = _phone_with_facts(raw, region)
            if error and country and default_region and country != default_region:
                second = _phone_with_facts(raw, default_region)
                if not second[1]:
                    e164, error, phone_country, phone_zone = second
            put(name, (e164, error))
            fields_phone = values.get("phone", "")
        elif name == "whatsapp_id":
            try:
                put(name, (normalize.normalize_whatsapp_id(raw), ""))
            except normalize.NormalizationError as exc:
                errors[name] = [str(exc)]
        elif name in ("first_name", "last_name"):
            put(name, _name(raw))
        elif name == "company_domain":
            put(name, _domain(raw))
        elif name == "language":
            put(name, _language(raw))
        else:
            put(name, _text(raw, normalize.MAX_LENGTHS[name]))
    if errors:
        return RowResult(ok=False, values=values, errors=errors, reason="invalid")
    if not any(values.get(k) for k in ("email", "phone", "whatsapp_id", "first_name", "last_name")):
        return RowResult(ok=False, values=values, errors={"email": ["Give an email, a phone or a name."]},
                         reason="no_contact")  # fmt: skip
    if values.get("whatsapp_id") and not values.get("phone"):
        values["phone"] = values["whatsapp_id"]
    # enrich.enrich(values) with cached parts (tests check the equivalence).
    email = values.get("email", "")
    email_domain = email.rpartition("@")[2]
    phone = values.get("phone", "")
    if phone != fields_phone:
        phone_country, phone_zone = _phone_facts(phone) if phone else ("", "")
    inferred = {
        "company_domain": values.get("company_domain", "") or (_company_domain(email_domain) if email else ""),
        "country": values.get("country", "") or phone_country,
        "time_zone": phone_zone,
        "language": values.get("language", ""),
    }
    filled = tuple(k for k, v in inferred.items() if v and v != values.get(k, ""))
    for key in ("country", "time_zone", "language"):
        if inferred[key] and not values.get(key):
            values[key] = inferred[key]
    kind = _kind(email_domain) if email else ""
    if kind:
        values["email_domain_kind"] = kind
    clean_custom = {k: v.replace("\x00", "") for k, v in custom.items() if v.strip()}
    return RowResult(ok=True, values=values, errors={}, company_domain=inferred["company_domain"],
                     custom=clean_custom, enriched=filled)  # fmt: skip


def _map_row(raw: Sequence[str], plan: Sequence[tuple[int, str]]) -> tuple[dict[str, str], dict[str, str]]:
    fields: dict[str, str] = {}
    custom: dict[str, str] = {}
    for index, target in plan:
        value = raw[index] if index < len(raw) else ""
        if target.startswith(CUSTOM_PREFIX):
            custom[target[len(CUSTOM_PREFIX) :]] = value
        elif value.strip():
            fields[target] = value
    return fields, custom


STAGE_COLUMNS = (
    "row_no", "grp", "ok", "reason", "errors", "payload", *LEAD_COLUMNS, "company_domain", "custom",
    "enriched", "present",
)  # fmt: skip


_SORTED_COLUMNS = tuple(sorted(LEAD_COLUMNS))


@functools.lru_cache(maxsize=4096)
def _json_list(items: tuple[str, ...]) -> str:
    return json.dumps(list(items))


@functools.lru_cache(maxsize=4096)
def _json_object(items: tuple[tuple[str, str], ...]) -> str:
    return _copy_text(json.dumps(dict(items), ensure_ascii=False))


def _chunk_worker(args: tuple[list[str], list[tuple[int, str]], str, list[tuple[int, list[str]]]]) -> tuple[
    list[tuple[int, bool, str, str, str]], list[tuple[int, list[str], dict[str, list[str]]]]
]:  # fmt: skip
    """Normalize a chunk in a worker process.

    Returns ``[(row_no, ok, email, phone, copy_tail)]`` (``copy_tail``: the staging columns after
    ``grp`` in COPY text format, built here to keep the parent process free) and the rejected rows.
    """
    columns, plan, region, rows = args
    out: list[tuple[int, bool, str, str, str]] = []
    rejected: list[tuple[int, list[str], dict[str, list[str]]]] = []
    dumps = json.dumps
    width = len(columns)
    for row_no, raw in rows:
        clean = [v.replace("\x00", "") for v in raw] if any("\x00" in v for v in raw) else raw
        cells = clean if len(clean) >= width else [*clean, *([""] * (width - len(clean)))]
        payload = dict(zip(columns, cells[:width], strict=True))
        if len(clean) > width:
            payload["__extra__"] = clean[width:]  # type: ignore[assignment]
        fields, custom = _map_row(raw, plan)
        result = normalize_row(fields, custom, default_region=region)
        values = result.values
        tail = "\t".join(
            (
                "t" if result.ok else "f", result.reason,
                _copy_text(dumps(result.errors, ensure_ascii=False)) if result.errors else "{}",
                _copy_text(dumps(payload, ensure_ascii=False)),
                *[_copy_text(values.get(c, "")) for c in LEAD_COLUMNS],
                _copy_text(result.company_domain),
                _json_object(tuple(result.custom.items())) if result.custom else "{}",
                _json_list(result.enriched), _json_list(tuple(k for k in _SORTED_COLUMNS if k in values)),
            )
        )  # fmt: skip
        out.append((row_no, result.ok, values.get("email", ""), values.get("phone", ""), tail))
        if not result.ok:
            rejected.append((row_no, raw, result.errors))
    return out, rejected


# --- the run ------------------------------------------------------------------------------------


@dataclass
class ImportSummary:
    job_id: int
    rows: int = 0
    created: int = 0
    merged: int = 0
    rejected: int = 0
    seconds: float = 0.0
    phases: dict[str, float] = field(default_factory=dict)
    report_path: str = ""
    gin_merges: int = 0  # merges of the trigram index's pending list while the batches ran (leads.search_index)
    routes_new_leads: bool = False  # decided once per job (``routes_new_leads``)


def rejected_report_path(job_id: int) -> Path:
    return imports_dir() / f"{job_id}-rejected.csv"


# Characters that make a spreadsheet read a cell as a formula, with their full-width forms (Excel folds them).
_DANGEROUS = ("=", "+", "-", "@", "\t", "\r", "\n", "\uff1d", "\uff0b", "\uff0d", "\uff20")


def safe_cell(value: str) -> str:
    """A spreadsheet cannot run it as a formula (CSV injection): prefix risky cells with a quote, also when
    spaces come first (``" =1+1"``: spreadsheets skip them)."""
    return "'" + value if value.startswith(_DANGEROUS) or value.lstrip().startswith(_DANGEROUS) else value


def _report_writer(path: Path, columns: Sequence[str]) -> tuple[Any, IO[str]]:
    # ``utf-8-sig``: the BOM tells Excel the file is UTF-8 (without it, Excel in Spanish shows "JosÃ©").
    handle = path.open("w", newline="", encoding="utf-8-sig")
    writer = csv.writer(handle)
    writer.writerow(["row", "field", "message", *(safe_cell(c) for c in columns)])
    return writer, handle


def _write_rejected(writer: Any, rejected: Iterable[tuple[int, list[str], dict[str, list[str]]]]) -> None:
    for row_no, raw, errors in rejected:
        for name, messages in errors.items():
            for message in messages:
                writer.writerow([row_no, name, safe_cell(message), *(safe_cell(v) for v in raw)])


def _pool_size(rows_hint: int, workers: int | None) -> int:
    """Normalizer processes (0: normalize in this process). By default one process per CPU but one:
    the parent's database backend applies the previous batch meanwhile and needs a core of its own."""
    if workers is not None:
        return max(0, workers)
    if rows_hint < 4 * CHUNK_ROWS:
        return 0
    return max(1, min(2, (os.cpu_count() or 1) - 1))


def _lower_priority() -> None:
    os.nice(10)


def _chunks(reader: Iterator[list[str]], size: int, *, skip: int = 0) -> Iterator[list[tuple[int, list[str]]]]:
    """Non-blank rows in chunks of ``size``, after the first ``skip`` ones (already applied)."""
    chunk: list[tuple[int, list[str]]] = []
    # Row numbers as a spreadsheet shows them: the header is row 1.
    for row_no, raw in enumerate(reader, start=2):
        if not any(v.strip() for v in raw):
            continue
        if skip:
            skip -= 1
            continue
        chunk.append((row_no, raw))
        if len(chunk) >= size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


class _Grouper:
    """Within-file duplicates, as a row-by-row import would see them: a row joins the group of an
    earlier row with the same email, else with the same phone."""

    def __init__(self) -> None:
        self.by_email: dict[str, int] = {}
        self.by_phone: dict[str, int] = {}
        self.next = 0

    def group(self, email: str, phone: str) -> int:
        grp = self.by_email.get(email) if email else None
        if grp is None and phone:
            grp = self.by_phone.get(phone)
        if grp is None:
            self.next += 1
            grp = self.next
        if email:
            self.by_email.setdefault(email, grp)
        if phone:
            self.by_phone[phone] = grp
        return grp


def run_import(
    *,
    job_id: int,
    workers: int | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> ImportSummary:
    """Run an import job end to end (see the module docstring); idempotent once done, resumable.

    Rows are applied in batches of ``BATCH_ROWS``, each in its own transaction that also advances the
    checkpoint ``ImportJob.processed_rows`` (and the counts): a crashed or failed job resumes after the
    last committed batch, so every row becomes exactly one Submission.

    A run holds a session advisory lock on the job while it runs (``is_stalled`` tells a dead run by it); a
    second run of a job that is running raises ``ImportError_`` and leaves the job alone.
    """
    if not _take_run_lock(job_id):
        raise ImportError_(f"Import job {job_id} is already running.")
    try:
        return _run_locked(job_id, workers=workers, progress=progress)
    finally:
        _release_run_lock(job_id)


def _run_locked(job_id: int, *, workers: int | None, progress: Callable[[int, int], None] | None) -> ImportSummary:
    job = ImportJob.objects.get(pk=job_id)
    summary = ImportSummary(job_id=job.pk, report_path=str(rejected_report_path(job.pk)))
    if job.status == ImportStatus.DONE:
        summary.rows, summary.created = job.total_rows, job.created_count
        summary.merged, summary.rejected = job.merged_count, job.rejected_count
        summary.routes_new_leads = job.total_rows <= ROUTE_IMPORTED_MAX
        return summary
    started = time.perf_counter()
    ImportJob.objects.filter(pk=job.pk).update(
        status=ImportStatus.RUNNING, started_at=job.started_at or clock.now(), error=""
    )
    stage = f"capture_import_stage_{job.pk}"
    _grow_temp_buffers()
    try:
        # While the batches fill the trigram index's pending list (see leads.search_index), a lead arriving by
        # another channel must not be the one that merges it.
        with search_index.PendingListMerger() as merger:
            _stage_and_apply(job, stage, summary, workers=workers, progress=progress)
        summary.gin_merges = merger.merges
        t = time.perf_counter()
        search_index.merge_pending_lists()
        summary.phases["flush_gin_pending"] = round(time.perf_counter() - t, 2)
    except Exception as exc:
        ImportJob.objects.filter(pk=job.pk).update(
            status=ImportStatus.FAILED, error=str(exc)[:4000], finished_at=clock.now()
        )
        _drop_stage(stage)
        raise
    _drop_stage(stage)
    job.refresh_from_db()
    summary.rows = job.processed_rows
    summary.created, summary.merged, summary.rejected = job.created_count, job.merged_count, job.rejected_count
    summary.seconds = round(time.perf_counter() - started, 2)
    ImportJob.objects.filter(pk=job.pk).update(
        status=ImportStatus.DONE, total_rows=summary.rows, finished_at=clock.now()
    )
    return summary


def _grow_temp_buffers() -> None:
    """Room for the batch's temporary tables (tens of MB each) in memory: ``temp_buffers`` (8 MB by
    default) can only be raised before the session first uses a temporary table, so try, outside
    any transaction, and keep the default when it is too late."""
    if connection.in_atomic_block:
        return
    try:
        with connection.cursor() as cursor:
            cursor.execute("SET temp_buffers = '256MB'")
    except DatabaseError:
        pass


def _drop_stage(stage: str) -> None:
    with connection.cursor() as cursor:
        cursor.execute(f"DROP TABLE IF EXISTS {stage}")


def _estimate_rows(path: Path) -> int:
    size = path.stat().st_size
    with path.open("rb") as handle:
        sample = handle.read(256 * 1024)
    lines = sample.count(b"\n") or 1
    return int(size / (len(sample) / lines)) if sample else 0


@dataclass
class _Batch:
    lines: list[str] = field(default_factory=list)
    rejected: list[tuple[int, list[str], dict[str, list[str]]]] = field(default_factory=list)
    grouper: _Grouper = field(default_factory=lambda: _Grouper())


def _stage_and_apply(
    job: ImportJob,
    stage: str,
    summary: ImportSummary,
    *,
    workers: int | None,
    progress: Callable[[int, int], None] | None,
) -> None:
    """Normalize in worker processes while the parent applies the previous batch (a pipeline)."""
    path = Path(job.file_path)
    if not path.exists():
        raise BadImportFile(f"The file {job.file_name} is no longer on disk.")
    done = job.processed_rows  # the checkpoint: rows applied by committed batches of an earlier run
    if done and job.file_sha256 and sha256_of(path) != job.file_sha256:
        raise BadImportFile(f"The file {job.file_name} has changed since this import started; it cannot be resumed.")
    # Exact for files of up to ROUTE_IMPORTED_MAX rows (which decides the routing of the whole job), else estimated.
    counted = count_rows(path, limit=ROUTE_IMPORTED_MAX)
    summary.routes_new_leads = counted <= ROUTE_IMPORTED_MAX
    estimate = counted if summary.routes_new_leads else max(_estimate_rows(path), ROUTE_IMPORTED_MAX + 1)
    columns, reader, handle = read_rows(path)
    validate_mapping(job.mapping, columns)
    plan = [(columns.index(c), t) for c, t in job.mapping.items() if t]
    ImportJob.objects.filter(pk=job.pk).update(total_rows=max(estimate, done))
    lead_cols = ", ".join(f"{c} text NOT NULL DEFAULT ''" for c in LEAD_COLUMNS)
    with connection.cursor() as cursor:
        cursor.execute(f"DROP TABLE IF EXISTS {stage}")
        cursor.execute("SELECT pg_get_serial_sequence('capture_submission', 'id')")
        sub_seq = cursor.fetchone()[0]
        # Submission ids are taken by the COPY, in file order (the LeadCaptured events refer to them).
        cursor.execute(
            f"CREATE UNLOGGED TABLE {stage} (row_no integer NOT NULL, "
            f"sub_id bigint NOT NULL DEFAULT nextval('{sub_seq}'::regclass), grp integer, "
            f"ok boolean NOT NULL, reason text NOT NULL, errors jsonb NOT NULL, payload jsonb NOT NULL, "
            f"{lead_cols}, company_domain text NOT NULL, custom jsonb NOT NULL, enriched jsonb NOT NULL, "
            f"present jsonb NOT NULL)"
        )
    size = _pool_size(estimate - done, workers)
    report_path = rejected_report_path(job.pk)
    report: Any
    report_handle: IO[str]
    if done and report_path.exists():  # resuming: the rows of committed batches are in the report
        report_handle = report_path.open("a", newline="", encoding="utf-8")
        report = csv.writer(report_handle)
    else:
        report, report_handle = _report_writer(report_path, columns)
    timings = summary.phases
    for key in ("waiting_for_normalizers", "copy_to_stage", "apply_total"):
        timings[key] = 0.0
    t0 = time.perf_counter()
    # Normalizers run ahead of the apply, which is the critical path: they get the CPU it leaves.
    pool = multiprocessing.get_context("fork").Pool(size, initializer=_lower_priority) if size else None

    def apply(batch: _Batch) -> None:
        nonlocal done
        t = time.perf_counter()
        rows = len(batch.lines)
        with transaction.atomic():
            with connection.cursor() as cursor:
                cursor.execute(f"TRUNCATE {stage}")
            raw = connection.connection
            with raw.cursor() as cursor, cursor.copy(f"COPY {stage} ({', '.join(STAGE_COLUMNS)}) FROM STDIN") as copy:
                copy.write("".join(batch.lines).encode())
            with connection.cursor() as cursor:
                cursor.execute(f"SELECT max(sub_id) FROM {stage}")  # noqa: S608
                through = int(cursor.fetchone()[0])
            timings["copy_to_stage"] += time.perf_counter() - t
            t = time.perf_counter()
            created, merged, rejected = _apply(job, stage, summary)
            # The previous batch's timeline reads its new leads as created: they must not show this batch's
            # merges yet, so it ends before this batch commits (it takes a fraction of a batch's time).
            timeline.wait()
            ImportJob.objects.filter(pk=job.pk).update(
                processed_rows=F("processed_rows") + rows,
                created_count=F("created_count") + created,
                merged_count=F("merged_count") + merged,
                rejected_count=F("rejected_count") + rejected,
                total_rows=Greatest(F("total_rows"), F("processed_rows") + rows),
            )
        timings["apply_total"] += time.perf_counter() - t
        timeline.submit(through)
        _write_rejected(report, batch.rejected)
        report_handle.flush()
        done += rows
        if progress:
            progress(done, max(estimate, done))

    _catch_up_timeline(job, timings)
    timeline = _TimelineWriter(job, timings)
    failed = True
    try:
        tasks = ((columns, plan, job.default_region, chunk) for chunk in _chunks(reader, CHUNK_ROWS, skip=done))
        results: Iterator[Any] = pool.imap(_chunk_worker, tasks) if pool else map(_chunk_worker, tasks)
        batch = _Batch()
        while True:
            t = time.perf_counter()
            try:
                out, rejected = next(results)
            except StopIteration:
                break
            except csv.Error as exc:
                raise BadImportFile(f"The file is not a readable CSV: {exc}") from exc
            timings["waiting_for_normalizers"] += time.perf_counter() - t
            group = batch.grouper.group
            lines = batch.lines
            for row_no, ok, email, phone, tail in out:
                grp = str(group(email, phone)) if ok else "\\N"
                lines.append(f"{row_no}\t{grp}\t{tail}\n")
            batch.rejected.extend(rejected)
            # The first batch is small, so the database starts working while the rest is normalized.
            if len(batch.lines) >= (BATCH_ROWS if done else CHUNK_ROWS):
                apply(batch)
                batch = _Batch()
        if batch.lines:
            apply(batch)
        failed = False
    finally:
        if pool is not None:
            pool.terminate()
            pool.join()
        handle.close()
        report_handle.close()
        # The batches committed so far get their timeline even when a later one failed; a failure of the
        # writer fails the job (after the apply's own failure, which is the one raised then).
        timeline.close(quiet=failed)
    timings["read_normalize_apply"] = round(time.perf_counter() - t0, 2)
    for key in ("waiting_for_normalizers", "copy_to_stage", "apply_total"):
        timings[key] = round(timings[key], 2)
    timings["pool_processes"] = size


_COMPARED = frozenset(c for c in LEAD_COLUMNS)


def _first_or_last(column: str) -> str:
    """The surviving value of ``column`` from ``a.<column>``: the group's non-empty values in file order
    (one sort for every aggregate: they all share ``ORDER BY row_no``)."""
    rule = survivorship.SURVIVORSHIP.get(column, survivorship.DEFAULT_RULE)
    index = "1" if rule == "first_known" else f"cardinality(a.{column})"
    return f"coalesce(a.{column}[{index}], '')"


# Lead columns enrichment may infer from the phone (a row's ``enriched`` says when it did): an inferred value only
# fills a field the lead has empty, a stated one follows ``SURVIVORSHIP``. As a row-by-row import: the group's
# surviving stated value if any (and then it applies to a matched lead), else its first inferred value (filling an
# empty field; later inferred values find it filled).
INFERABLE = ("country", "time_zone")


def _arrays(column: str) -> str:
    """The group's non-empty values of ``column`` in file order (stated and inferred apart for INFERABLE)."""
    agg = f"array_agg(s.{column} ORDER BY s.row_no) FILTER (WHERE s.{column} <> ''"
    if column not in INFERABLE:
        return f"{agg}) AS {column}"
    return (f"{agg} AND NOT s.enriched ? '{column}') AS {column},\n"
            f"{agg} AND s.enriched ? '{column}') AS {column}_inferred")  # fmt: skip


def _surviving(column: str) -> str:
    if column not in INFERABLE:
        return f"{_first_or_last(column)} AS {column}"
    return (f"coalesce(nullif({_first_or_last(column)}, ''), a.{column}_inferred[1], '') AS {column}, "
            f"a.{column} IS NOT NULL AS {column}_stated")  # fmt: skip


# A new lead's target key is ``-grp`` (groups are numbered from 1), a matched lead's is its id: leads
# matched by several groups of the batch fold into one target.
_TKEY = "CASE WHEN x.lead_id IS NULL THEN -x.grp ELSE x.lead_id END"


def _apply(job: ImportJob, stage: str, summary: ImportSummary) -> tuple[int, int, int]:
    """The set-based phase, inside the caller's transaction. Returns (created, merged, rejected)."""
    now = clock.now()
    source = job.source or str(Channel.IMPORT.value)
    timings = summary.phases

    def run(label: str, sql: str, params: Sequence[Any] = ()) -> int:
        t = time.perf_counter()
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            count = cursor.rowcount
        timings[label] = round(timings.get(label, 0.0) + time.perf_counter() - t, 2)
        return count

    # Trigram (GIN) index entries of new leads go to the index's pending list and are merged once, in
    # bulk, at the end (``gin_clean_pending_list``) instead of every 4 MB; more memory for sorts/hashes.
    run("settings", "SET LOCAL gin_pending_list_limit = 2097151")
    run("settings", "SET LOCAL work_mem = '128MB'")
    run("settings", "SET LOCAL maintenance_work_mem = '512MB'")
    # A batch commits together with its checkpoint, so a server crash that loses an unflushed commit
    # loses the checkpoint with it and the resumed job applies the batch again: no need to wait for
    # the WAL flush here (the job's final status is written with a normal, synchronous commit).
    run("settings", "SET LOCAL synchronous_commit = off")
    # Temp tables of an earlier batch still exist when the caller's transaction is an outer one (tests).
    run("settings", "DROP TABLE IF EXISTS import_grp, import_target, import_update")
    run("analyze_stage", f"ANALYZE {stage} (row_no, grp, ok)")
    # 1. Groups and the lead each one matches: email first, then phone (newest lead). One index probe
    # per group (``lead_email_lower_uniq``, ``lead_phone_idx``): a join would read every lead per batch.
    run("groups_match", f"""
        CREATE TEMP TABLE import_grp ON COMMIT DROP AS
        SELECT x.grp, x.lead_id, {_TKEY} AS tkey
        FROM (SELECT y.grp, coalesce(
                  CASE WHEN y.email IS NOT NULL THEN
                      (SELECT l.id FROM leads_lead l WHERE l.email <> '' AND lower(l.email) = y.email) END,
                  CASE WHEN y.phone IS NOT NULL THEN
                      (SELECT l.id FROM leads_lead l WHERE l.phone <> '' AND l.phone = y.phone
                       ORDER BY l.created_at DESC, l.id DESC LIMIT 1) END) AS lead_id
              FROM (SELECT grp, (array_agg(email ORDER BY row_no) FILTER (WHERE email <> ''))[1] AS email,
                           (array_agg(phone ORDER BY row_no) FILTER (WHERE phone <> ''))[1] AS phone
                    FROM {stage} WHERE ok GROUP BY grp) y) x
    """)  # noqa: S608  # fmt: skip
    run("groups_match", "ANALYZE import_grp")
    # 2. One target per lead, survivorship per field as if the rows were applied one by one in file
    # order; custom fields: later rows win per key (as successive merges would). New leads take their
    # ids from the sequence in file order (volatile output columns are computed after the ORDER BY),
    # so ids (and the index entries of leads, submissions and events) grow together.
    arrays = ",\n".join(_arrays(c) for c in (*LEAD_COLUMNS, "company_domain"))
    fields_sql = ",\n".join(_surviving(c) for c in (*LEAD_COLUMNS, "company_domain"))
    seq = "pg_get_serial_sequence('leads_lead', 'id')"
    run("survivorship", f"""
        CREATE TEMP TABLE import_target ON COMMIT DROP AS
        SELECT a.tkey, a.lead_id, a.first_row, {fields_sql},
               a.company_name[cardinality(a.company_name)] AS company_label,
               CASE WHEN a.customs IS NULL THEN NULL WHEN cardinality(a.customs) = 1 THEN a.customs[1]
                    ELSE (SELECT jsonb_object_agg(kv.key, kv.value ORDER BY u.n)
                          FROM unnest(a.customs) WITH ORDINALITY u(c, n), jsonb_each(u.c) kv) END AS custom,
               NULL::bigint AS company_id,
               CASE WHEN a.lead_id IS NULL THEN nextval({seq}) END AS new_id
        FROM (SELECT g.tkey, max(g.lead_id) AS lead_id, min(s.row_no) AS first_row, {arrays},
                     array_agg(s.custom ORDER BY s.row_no) FILTER (WHERE s.custom <> '{{}}'::jsonb) AS customs
              FROM {stage} s JOIN import_grp g ON g.grp = s.grp
              WHERE s.ok GROUP BY g.tkey) a
        ORDER BY a.first_row
    """)  # noqa: S608  # fmt: skip
    run("survivorship", "ANALYZE import_target")
    # 3. Companies for business domains, linked to new leads and to matched leads without one.
    run("companies", """
        INSERT INTO leads_company (name, domain, industry, size, country, lead_count, created_at, updated_at)
        SELECT DISTINCT ON (t.company_domain) coalesce(t.company_label, t.company_domain), t.company_domain, '', '',
               t.country, 0, %s::timestamptz, %s::timestamptz
        FROM import_target t
        WHERE t.company_domain <> ''
          AND (t.lead_id IS NULL
               OR (SELECT l.company_id FROM leads_lead l WHERE l.id = t.lead_id) IS NULL)
        ORDER BY t.company_domain, t.first_row
        ON CONFLICT (domain) WHERE domain <> '' DO NOTHING
    """, [now, now])  # fmt: skip
    run("companies", """
        UPDATE import_target t SET company_id = c.id FROM leads_company c
        WHERE t.company_domain <> '' AND c.domain = t.company_domain
    """)  # fmt: skip
    # 4. New leads.
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM import_target WHERE new_id IS NOT NULL")
        new_leads = int(cursor.fetchone()[0])
    cols = ", ".join(LEAD_COLUMNS)
    t_cols = ", ".join(f"t.{c}" for c in LEAD_COLUMNS)
    insert_sql = f"""
        INSERT INTO leads_lead (id, {cols}, company_id, source, owner_id, team_id, lifecycle_stage, status,
                                score, grade, custom_fields, created_at, updated_at)
        SELECT t.new_id, {t_cols}, t.company_id, %s::text, NULL, %s::bigint, 'lead', 'new', 0, 'cold',
               coalesce(t.custom, '{{}}'::jsonb), %s::timestamptz, %s::timestamptz
        FROM import_target t
        WHERE t.new_id IS NOT NULL
        ORDER BY t.first_row
    """  # noqa: S608
    params = [source, job.team_id, now, now]
    # A plain INSERT (``ON CONFLICT`` costs a speculative insertion per row), in a savepoint: when
    # another channel stored one of the emails since the match, it is done again with ``ON CONFLICT``.
    try:
        with transaction.atomic():
            inserted = run("insert_leads", insert_sql, params)
    except IntegrityError:
        inserted = run("insert_leads", f"{insert_sql} ON CONFLICT ((lower(email))) WHERE email <> '' DO NOTHING",
                       params)  # fmt: skip
    # A lead stored meanwhile by another channel with the same email: merge into it instead. From here
    # on a target is a created lead exactly when its ``new_id`` is set.
    if inserted < new_leads:
        run("insert_conflicts", """
            UPDATE import_target t SET lead_id = l.id, new_id = NULL FROM leads_lead l
            WHERE t.new_id IS NOT NULL AND NOT EXISTS (SELECT 1 FROM leads_lead n WHERE n.id = t.new_id)
              AND l.email <> '' AND lower(l.email) = t.email
        """)  # fmt: skip
    # 5. Matched leads: survivorship against the stored values; only real changes are written.
    change_cases = []
    set_cases = []
    for c in LEAD_COLUMNS:
        rule = survivorship.SURVIVORSHIP.get(c, survivorship.DEFAULT_RULE)
        cond = f"t.{c} <> '' AND t.{c} <> l.{c}" + (f" AND l.{c} = ''" if rule == "first_known" else "")
        if c in INFERABLE:  # an inferred value only fills an empty field (``survivorship.merge_values``)
            cond += f" AND (t.{c}_stated OR l.{c} = '')"
        change_cases.append(f"'{c}', CASE WHEN {cond} THEN jsonb_build_array(l.{c}, t.{c}) END")
        set_cases.append(f"CASE WHEN {cond} THEN t.{c} ELSE l.{c} END AS {c}")
    change_cases.append(
        "'company_id', CASE WHEN t.company_id IS NOT NULL AND l.company_id IS NULL "
        "THEN jsonb_build_array(NULL, t.company_id) END"
    )
    change_cases.append(
        "'custom_fields', CASE WHEN t.custom IS NOT NULL AND l.custom_fields || t.custom <> l.custom_fields "
        "THEN jsonb_build_array(l.custom_fields, l.custom_fields || t.custom) END"
    )
    # ``OFFSET 0`` keeps the lookup a per-target index probe (a join would read every lead per batch).
    lead_cols = ", ".join(("id", *LEAD_COLUMNS, "company_id", "custom_fields", "created_at"))
    run("update_leads", f"""
        CREATE TEMP TABLE import_update ON COMMIT DROP AS
        SELECT l.id AS lead_id, {', '.join(set_cases)},
               coalesce(l.company_id, t.company_id) AS company_id,
               CASE WHEN t.custom IS NULL THEN l.custom_fields ELSE l.custom_fields || t.custom END AS custom_fields,
               l.created_at AS lead_created_at,
               jsonb_strip_nulls(jsonb_build_object({', '.join(change_cases)})) AS changes
        FROM import_target t,
             LATERAL (SELECT {lead_cols} FROM leads_lead l0 WHERE l0.id = t.lead_id OFFSET 0) l
        WHERE t.lead_id IS NOT NULL
    """)  # noqa: S608  # fmt: skip
    run("update_leads", "DELETE FROM import_update WHERE changes = '{}'::jsonb")
    run("update_leads", "ANALYZE import_update")
    run("update_leads", "SET LOCAL enable_hashjoin = off")
    run("update_leads", "SET LOCAL enable_mergejoin = off")
    run("update_leads", f"""
        UPDATE leads_lead l SET {', '.join(f'{c} = u.{c}' for c in LEAD_COLUMNS)}, company_id = u.company_id,
               custom_fields = u.custom_fields, updated_at = %s::timestamptz
        FROM import_update u WHERE l.id = u.lead_id
    """, [now])  # noqa: S608  # fmt: skip
    run("update_leads", "SET LOCAL enable_hashjoin = on")
    run("update_leads", "SET LOCAL enable_mergejoin = on")
    # 6. Submissions (one per row, with its outcome) and the ``LeadUpdated`` events (their changes are known
    # here only). ``LeadCreated`` and ``LeadCaptured`` are written from the submissions by the timeline
    # writer, beside the next batch (see ``_TimelineWriter``).
    context = (
        f"jsonb_build_object('import_job_id', {int(job.pk)}, 'row', s.row_no, 'default_region', %s::text, "
        f"'team_id', %s::bigint, 'source', %s::text, 'fields', s.present, 'enriched', s.enriched)"
    )
    run("insert_submissions", f"""
        INSERT INTO capture_submission (id, channel, received_at, payload, headers, ip, user_agent, idempotency_key,
            external_id, form_id, actor_id, context, status, outcome, lead_id, reason, errors, error, attempts,
            processed_at)
        SELECT s.sub_id, 'import', %s::timestamptz, s.payload, '{{}}'::jsonb, NULL, '', '', '', NULL, %s::bigint,
               {context},
               CASE WHEN s.ok THEN 'processed' ELSE 'rejected' END,
               CASE WHEN NOT s.ok THEN '' WHEN t.new_id IS NOT NULL AND s.row_no = t.first_row THEN 'created'
                    ELSE 'merged' END,
               coalesce(t.lead_id, t.new_id), s.reason, s.errors, '', 1, %s::timestamptz
        FROM {stage} s LEFT JOIN import_grp g ON g.grp = s.grp LEFT JOIN import_target t ON t.tkey = g.tkey
        ORDER BY s.row_no
    """, [now, job.created_by_id, job.default_region, job.team_id, job.source, now])  # noqa: S608  # fmt: skip
    run("insert_events", """
        INSERT INTO core_domainevent (type, occurred_at, lead_id, actor_id, payload)
        SELECT 'leads.LeadUpdated', %s::timestamptz, u.lead_id, %s::bigint,
               jsonb_build_object('changes', u.changes, 'channel', 'import')
        FROM import_update u ORDER BY u.lead_id
    """, [now, job.created_by_id])  # fmt: skip
    # 7. Attribution: first touch for new leads (a plain INSERT: a lead created here has none yet), last
    # touch for all.
    attribution = """
        INSERT INTO capture_leadattribution (lead_id, first_channel, first_source, first_medium, first_campaign,
            first_term, first_content, first_referrer, first_landing_page, first_at, last_channel, last_source,
            last_medium, last_campaign, last_term, last_content, last_referrer, last_landing_page, last_at)
        SELECT coalesce(t.lead_id, t.new_id), 'import', %s::text, '', '', '', '', '', '', %s::timestamptz,
               'import', %s::text, '', '', '', '', '', '', %s::timestamptz
        FROM import_target t
    """
    run("attribution", f"{attribution} WHERE t.new_id IS NOT NULL", [source, now, source, now])
    run("attribution", f"""{attribution} WHERE t.lead_id IS NOT NULL AND t.new_id IS NULL
        ON CONFLICT (lead_id) DO UPDATE SET last_channel = excluded.last_channel, last_source = excluded.last_source,
            last_medium = '', last_campaign = '', last_term = '', last_content = '', last_referrer = '',
            last_landing_page = '', last_at = excluded.last_at
    """, [source, now, source, now])  # fmt: skip
    _react(UPDATE_EVENT_TYPES, [now])
    _apply_scoring_and_routing(run, route=summary.routes_new_leads)
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT count(*) FILTER (WHERE ok), count(*) FILTER (WHERE NOT ok) FROM {stage}")  # noqa: S608
        row = cursor.fetchone()
    if row is None:  # pragma: no cover - an aggregate always returns a row
        raise RuntimeError("no counts")
    # Targets still holding a new id are the leads inserted (a conflict turned the others into merges).
    return inserted, int(row[0]) - inserted, int(row[1])


# --- the timeline: LeadCreated / LeadCaptured events, beside the next batch ----------------------------

_TIMELINE_ROWS = """s.id > %(after)s AND s.id <= %(through)s AND s.channel = 'import' AND s.status = 'processed'
    AND s.context ->> 'import_job_id' = %(job)s"""
_CREATED_FIELDS = ", ".join(f"'{c}', nullif(l.{c}, '')" for c in LEAD_COLUMNS)


def _write_timeline(job: ImportJob, *, through: int, timings: dict[str, Any]) -> None:
    """The ``LeadCreated`` and ``LeadCaptured`` events of the job's processed submissions after the checkpoint
    ``timeline_through_submission_id`` up to ``through``, and the checkpoint, in one transaction.

    They are written from what the batch's transaction committed (a submission's lead, outcome, and the
    fields and enriched names in its context), so this runs on another connection while the next batch
    applies, and again after a crash for whatever the checkpoint says is missing."""
    t = time.perf_counter()
    source = job.source or str(Channel.IMPORT.value)
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SELECT timeline_through_submission_id FROM capture_importjob WHERE id = %s", [job.pk])
        after = int(cursor.fetchone()[0])
        if through <= after:
            return
        # Like the batch's own commit: a lost commit loses this checkpoint with it, and the run writes it again.
        cursor.execute("SET LOCAL synchronous_commit = off")
        rows: dict[str, Any] = {"after": after, "through": through, "job": str(job.pk), "source": source}
        # The lead as the batch created it (it is read by primary key: ``OFFSET 0`` keeps a join from reading
        # every lead).
        cursor.execute(f"""
            INSERT INTO core_domainevent (type, occurred_at, lead_id, actor_id, payload)
            SELECT 'leads.LeadCreated', s.received_at, s.lead_id, s.actor_id,
                   jsonb_build_object('source', %(source)s::text, 'channel', 'import',
                                      'fields', jsonb_strip_nulls(jsonb_build_object({_CREATED_FIELDS})))
            FROM capture_submission s,
                 LATERAL (SELECT * FROM leads_lead l0 WHERE l0.id = s.lead_id OFFSET 0) l
            WHERE {_TIMELINE_ROWS} AND s.outcome = 'created'
            ORDER BY s.id
        """, rows)  # noqa: S608  # fmt: skip
        cursor.execute(f"""
            INSERT INTO core_domainevent (type, occurred_at, lead_id, actor_id, payload)
            SELECT 'capture.LeadCaptured', s.received_at, s.lead_id, s.actor_id,
                   jsonb_build_object('submission_id', s.id, 'channel', 'import', 'created', s.outcome = 'created',
                       'form_id', NULL, 'source', %(source)s::text,
                       'utm', jsonb_build_object('source', %(source)s::text),
                       'fields', coalesce(s.context -> 'fields', '[]'::jsonb),
                       'enriched', coalesce(s.context -> 'enriched', '[]'::jsonb), 'summary', '{{}}'::jsonb)
            FROM capture_submission s
            WHERE {_TIMELINE_ROWS}
            ORDER BY s.id
        """, rows)  # noqa: S608  # fmt: skip
        subscribers = {t for e in TIMELINE_EVENT_TYPES for t in event_map.EVENT_SUBSCRIBERS.get(e, [])}
        if subscribers - HANDLED_BY_THE_IMPORT:
            cursor.execute(f"SELECT DISTINCT s.received_at FROM capture_submission s WHERE {_TIMELINE_ROWS}", rows)  # noqa: S608
            _react(TIMELINE_EVENT_TYPES, [r[0] for r in cursor.fetchall()])
        cursor.execute(
            "UPDATE capture_importjob SET timeline_through_submission_id = %s "
            "WHERE id = %s AND timeline_through_submission_id = %s",
            [through, job.pk, after],
        )
        if cursor.rowcount != 1:  # another run of the same job wrote it meanwhile: keep theirs, not both
            raise RuntimeError(f"Import job {job.pk}: its timeline was written concurrently by another run.")
    timings["timeline"] = round(timings.get("timeline", 0.0) + time.perf_counter() - t, 2)


def _catch_up_timeline(job: ImportJob, timings: dict[str, Any]) -> None:
    """Before a (resumed) run applies more batches: the timeline of batches an earlier run committed but could
    not record (it crashed or failed in between). A new job starts its checkpoint at the newest submission."""
    with connection.cursor() as cursor:
        if job.processed_rows == 0:
            cursor.execute(
                "UPDATE capture_importjob SET timeline_through_submission_id = "
                "(SELECT coalesce(max(id), 0) FROM capture_submission) WHERE id = %s",
                [job.pk],
            )
            return
        cursor.execute(
            "SELECT max(s.id) FROM capture_submission s, capture_importjob j WHERE j.id = %s "
            "AND s.id > j.timeline_through_submission_id AND s.channel = 'import' "
            "AND s.context ->> 'import_job_id' = %s",
            [job.pk, str(job.pk)],
        )
        through = cursor.fetchone()[0]
    if through is not None:
        _write_timeline(job, through=int(through), timings=timings)


class _TimelineWriter:
    """Writes each committed batch's timeline (``_write_timeline``) on a thread and database connection of its
    own while the parent applies the next batch: ~30 % of a batch's database work leaves the critical path.

    Inside a caller's transaction (tests) the other connection could not see the batch, so it writes inline.
    ``submit`` raises the thread's failure, if any; ``close`` waits for the batches submitted so far."""

    def __init__(self, job: ImportJob, timings: dict[str, Any]) -> None:
        self.job = job
        self.timings = timings
        self.inline = connection.in_atomic_block
        self.failure: BaseException | None = None
        self.pending: queue.Queue[int | None] = queue.Queue()
        self.thread = threading.Thread(target=self._run, name="import-timeline-writer", daemon=True)
        if not self.inline:
            self.thread.start()

    def _run(self) -> None:
        try:
            while (through := self.pending.get()) is not None:
                try:
                    _write_timeline(self.job, through=through, timings=self.timings)
                finally:
                    self.pending.task_done()
        except BaseException as exc:  # noqa: BLE001  # handed to the parent, which fails the job with it
            self.failure = exc
        finally:
            connection.close()  # this thread's own connection

    def wait(self) -> None:
        """Until the batches submitted so far have their timeline (or the writer failed: raises it)."""
        if not self.inline:
            t = time.perf_counter()
            with self.pending.all_tasks_done:
                while self.pending.unfinished_tasks and self.thread.is_alive():
                    self.pending.all_tasks_done.wait(0.2)
            self.timings["waiting_for_timeline"] = self.timings.get("waiting_for_timeline", 0.0) + (
                time.perf_counter() - t
            )
        self._raise_failure()

    def _raise_failure(self) -> None:
        if self.failure is not None:
            raise self.failure

    def submit(self, through: int) -> None:
        if self.inline:
            _write_timeline(self.job, through=through, timings=self.timings)
            return
        self._raise_failure()
        self.pending.put(through)

    def close(self, *, quiet: bool = False) -> None:
        if not self.inline:
            t = time.perf_counter()
            self.pending.put(None)
            self.thread.join()
            waited = self.timings.get("waiting_for_timeline", 0.0) + time.perf_counter() - t
            self.timings["waiting_for_timeline"] = round(waited, 2)
        if not quiet:
            self._raise_failure()


# Subscribers (config/event_map.py) whose work the import does itself, set-based: scoring and routing are
# deferred as jobs per batch by ``_apply_scoring_and_routing``.
HANDLED_BY_THE_IMPORT = frozenset({"scoring.rescore_lead", "routing.on_lead_updated"})
UPDATE_EVENT_TYPES = ("leads.LeadUpdated",)  # written by the batch's transaction
TIMELINE_EVENT_TYPES = ("leads.LeadCreated", "capture.LeadCaptured")  # written by the timeline writer


def _react(event_types: Sequence[str], occurred_at: Sequence[Any]) -> None:
    """One job per event for subscribers that the import does not handle itself (none today), deferred in
    the transaction that wrote the events: those of ``event_types`` that occurred at ``occurred_at``."""
    for event_type in event_types:
        tasks = [t for t in event_map.EVENT_SUBSCRIBERS.get(event_type, []) if t not in HANDLED_BY_THE_IMPORT]
        if not tasks:
            continue
        with connection.cursor() as cursor:
            cursor.execute(
                # The NOT LIKE repeats event_type_time_idx's predicate so the planner may use it.
                "SELECT id FROM core_domainevent WHERE type = %s::text AND occurred_at = ANY(%s::timestamptz[]) "
                "AND type NOT LIKE 'activity.%%' ORDER BY id",
                [event_type, list(occurred_at)],
            )
            ids = [r[0] for r in cursor.fetchall()]
        for task_name in tasks:
            task = procrastinate_app.configure_task(task_name)
            for start in range(0, len(ids), 1000):
                task.batch_defer(*({"event_id": i} for i in ids[start : start + 1000]))


def _apply_scoring_and_routing(run: Callable[..., int], *, route: bool) -> None:
    """Score the created and merged leads of this batch, and route the new unowned ones when the job routes
    (``routes_new_leads``: a list, not a migration): as jobs deferred in the batch's transaction (scoring 100k
    leads inline would triple the import's time; the jobs are committed with the leads, so none is lost)."""
    del run
    with connection.cursor() as cursor:
        cursor.execute("""
            SELECT coalesce(t.lead_id, t.new_id), t.new_id IS NOT NULL
            FROM import_target t WHERE t.lead_id IS NOT NULL OR t.new_id IS NOT NULL ORDER BY 1
        """)  # fmt: skip
        rows = cursor.fetchall()
    lead_ids: list[Any] = [int(r[0]) for r in rows]
    scoring = procrastinate_app.configure_task("scoring.score_leads")
    for start in range(0, len(lead_ids), SCORE_CHUNK):
        scoring.defer(lead_ids=lead_ids[start : start + SCORE_CHUNK], cause="import")
    unowned = [int(r[0]) for r in rows if r[1]]
    if unowned and route:
        task = procrastinate_app.configure_task("routing.route_leads")
        for start in range(0, len(unowned), 1000):
            chunk: list[Any] = list(unowned[start : start + 1000])
            task.defer(lead_ids=chunk, trigger="import")


SCORE_CHUNK = 5000  # leads per scoring job: a few seconds of set-based work
