"""Behaviour tracking writes: ingest events (API and snippet), stitch visitors to leads, sites.

Events are stored set-based: per batch one bulk lookup per identity kind (lead ids, emails, visitor
ids), one ``INSERT … ON CONFLICT DO NOTHING`` of the client ids and one multi-row ``INSERT`` of the
``core_domainevent`` rows, then ``scoring.score_leads`` once with the distinct leads. They do not go
through ``core.events.publish`` (no subscribers; one deferred job per event would be the bottleneck).
"""

from __future__ import annotations

import importlib
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.db import connection, transaction
from procrastinate.contrib.django import app as procrastinate_app

from embudo.core import clock
from embudo.core.sqlparams import int_array, text_array
from embudo.scoring import services as scoring_services
from embudo.tracking.domain import events as domain
from embudo.tracking.models import EventKey, RateBucket, TrackingSite, new_public_key

KEY_RETENTION_DAYS = 30
SNIPPET_TYPES = frozenset({"page_view", "content_downloaded"})  # plus custom types; see collect()
MAX_COLLECT_EVENTS = 20


@dataclass(slots=True)  # not frozen: built once per event, and a frozen __init__ costs twice as much
class ItemResult:
    index: int
    status: str  # "stored", "duplicate" or "rejected"
    client_id: str = ""
    errors: dict[str, list[str]] = field(default_factory=dict)
    lead_id: int | None = None


@dataclass(frozen=True)
class IngestResult:
    items: list[ItemResult]
    lead_ids: list[int]  # distinct leads that got events (and were rescored)
    # Of those, the leads another transaction held: a job scores them (tracking.score_contended_leads).
    deferred_lead_ids: list[int] = field(default_factory=list)

    def count(self, status: str) -> int:
        return sum(1 for item in self.items if item.status == status)

    @property
    def stored(self) -> int:
        return self.count("stored")

    @property
    def duplicates(self) -> int:
        return self.count("duplicate")

    @property
    def rejected(self) -> int:
        return self.count("rejected")


# --- lookups (set-based) -------------------------------------------------------------------------------


def _existing_leads(ids: Iterable[int]) -> set[int]:
    ids = sorted(set(ids))
    if not ids:
        return set()
    with connection.cursor() as cursor:
        cursor.execute("SELECT id FROM leads_lead WHERE id = ANY(%s::bigint[])", [int_array(ids)])
        return {row[0] for row in cursor.fetchall()}


def leads_by_email(emails: Iterable[str]) -> dict[str, int]:
    """lower(email) → lead id; ``email <> ''`` lets the partial unique index lead_email_lower_uniq serve it."""
    emails = sorted({e.lower() for e in emails if e})
    if not emails:
        return {}
    with connection.cursor() as cursor:
        cursor.execute("SELECT lower(email), id FROM leads_lead WHERE lower(email) = ANY(%s) AND email <> ''", [emails])
        return dict(cursor.fetchall())


def leads_by_visitor(visitor_ids: Iterable[str]) -> dict[str, int]:
    """Identified visitors whose lead still exists (a merged-away or deleted lead is ignored)."""
    visitor_ids = sorted(set(visitor_ids))
    if not visitor_ids:
        return {}
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT v.visitor_id, v.lead_id FROM tracking_visitor v JOIN leads_lead l ON l.id = v.lead_id "
            "WHERE v.visitor_id = ANY(%s)",
            [visitor_ids],
        )
        return dict(cursor.fetchall())


def _taken_keys(scope: str, keys: list[str]) -> set[str]:
    """Insert the client ids; returns those that were stored before (usually none: only they come back,
    not the thousand new ones)."""
    if not keys:
        return set()
    with connection.cursor() as cursor:
        cursor.execute(
            "WITH given AS MATERIALIZED (SELECT unnest(%s::text[]) AS k), "
            "claimed AS (INSERT INTO tracking_eventkey (scope, key, created_at) SELECT %s, k, %s FROM given "
            "ON CONFLICT (scope, key) DO NOTHING RETURNING key) "
            "SELECT k FROM given EXCEPT ALL SELECT key FROM claimed",
            [text_array(keys), scope, clock.now()],
        )
        return {row[0] for row in cursor.fetchall()}


def _product_activity(lead_ids: Sequence[int]) -> None:
    """``scoring.lifecycle.on_product_activity`` when that module provides it (PQL moves)."""
    if not lead_ids:
        return
    try:
        lifecycle = importlib.import_module("embudo.scoring.lifecycle")
    except ImportError:
        return
    hook = getattr(lifecycle, "on_product_activity", None)
    if hook is not None:
        hook(list(lead_ids))


# --- ingestion -----------------------------------------------------------------------------------------


def ingest_events(
    raw_events: Sequence[object], *, scope: str, source: str, allowed_types: frozenset[str] | None = None
) -> IngestResult:
    """Validate, resolve and store a batch of behaviour events; rescore the leads that got some.

    Per item: ``stored``, ``duplicate`` (its client ``id`` was stored before in ``scope``, or earlier in
    this batch) or ``rejected`` with field messages; the valid items are stored even when others are
    rejected. An ``email`` matching no lead is rejected (send a ``visitor_id`` for anonymous events). An
    identified ``visitor_id`` goes to its lead. One transaction; at most 6 queries plus scoring.
    """
    now = clock.now()
    results: list[ItemResult | None] = [None] * len(raw_events)
    clean: list[tuple[int, domain.CleanEvent]] = []
    for index, raw in enumerate(raw_events):
        event, errors = domain.clean_event(raw, now=now)
        if event is not None and allowed_types is not None and event.type in domain.BUILTIN_TYPES \
                and event.type not in allowed_types:  # fmt: skip
            event, errors = None, {"type": ["This event type cannot be sent from a web page."]}
        if event is None:
            client_id = raw.get("id") if isinstance(raw, Mapping) else ""
            results[index] = ItemResult(index, "rejected", str(client_id or "")[:100], errors)
        else:
            clean.append((index, event))
    lead_ids: list[int] = []
    with transaction.atomic():
        known_leads = _existing_leads(e.lead_id for _i, e in clean if e.lead_id)
        by_email = leads_by_email(e.email for _i, e in clean if e.email)
        by_visitor = leads_by_visitor(e.visitor_id for _i, e in clean if e.visitor_id)
        # Resolve each event's lead; the first occurrence of a client id in the batch claims it, repeats are
        # duplicates.
        resolved: list[tuple[int, domain.CleanEvent, int | None]] = []
        keys: dict[str, None] = {}
        for index, event in clean:
            lead_id: int | None
            if event.lead_id:
                if event.lead_id not in known_leads:
                    results[index] = ItemResult(index, "rejected", event.client_id,
                                                {"lead_id": ["No lead has this id."]})  # fmt: skip
                    continue
                lead_id = event.lead_id
            elif event.email:
                lead_id = by_email.get(event.email)
                if lead_id is None:
                    message = "No lead has this email; send a visitor_id for anonymous events."
                    results[index] = ItemResult(index, "rejected", event.client_id, {"email": [message]})
                    continue
            else:
                lead_id = by_visitor.get(event.visitor_id)
            if event.client_id:
                if event.client_id in keys:
                    results[index] = ItemResult(index, "duplicate", event.client_id)
                    continue
                keys[event.client_id] = None
            resolved.append((index, event, lead_id))
        taken = _taken_keys(scope, list(keys))
        rows: list[tuple[int, domain.CleanEvent, int | None]] = []
        new_activity: dict[int, list[tuple[str, datetime, Mapping[str, Any]]]] = {}
        product_leads: set[int] = set()
        for index, event, lead_id in resolved:
            if event.client_id and event.client_id in taken:
                results[index] = ItemResult(index, "duplicate", event.client_id, lead_id=lead_id)
                continue
            rows.append((index, event, lead_id))
            results[index] = ItemResult(index, "stored", event.client_id, lead_id=lead_id)
            if lead_id:
                occurrences = new_activity.get(lead_id)
                if occurrences is None:
                    new_activity[lead_id] = occurrences = []
                occurrences.append((event.type, event.occurred_at, event.properties))
                if event.type in domain.PRODUCT_TYPES:
                    product_leads.add(lead_id)
        ids = _insert(rows, source=source)
        contended: list[int] = []
        if new_activity:
            lead_ids = sorted(new_activity)
            scored = scoring_services.score_activity(lead_ids, new_activity=new_activity,
                                                     event_id=ids[0] if len(ids) == 1 else None)  # fmt: skip
            contended = scored.contended
            _product_activity(sorted(product_leads.difference(contended)))
            if contended:
                # In this transaction: if it commits, the job is there to score them (see score_activity).
                job_leads: list[Any] = list(contended)
                job_products: list[Any] = sorted(product_leads.intersection(contended))
                procrastinate_app.configure_task(SCORE_CONTENDED_TASK).defer(
                    lead_ids=job_leads, product_lead_ids=job_products
                )
    return IngestResult(items=[r for r in results if r is not None], lead_ids=lead_ids, deferred_lead_ids=contended)


SCORE_CONTENDED_TASK = "tracking.score_contended_leads"


def score_contended_leads(lead_ids: Sequence[int], product_lead_ids: Sequence[int]) -> None:
    """The job of :func:`ingest_events` for leads another transaction held: their scores from their whole
    history (the events of both batches count), then the PQL rule for those that got product events."""
    with transaction.atomic():
        scoring_services.score_leads(lead_ids, cause=scoring_services.ACTIVITY_CAUSE)
        _product_activity(sorted(product_lead_ids))


def _payload_json(event: domain.CleanEvent, source_json: str) -> str:
    """The stored payload, assembled from the properties' JSON computed by validation (no second dump)."""
    parts = ['{"properties":', event.properties_json, ',"source":', source_json]
    if event.visitor_id:
        parts += [',"visitor_id":"', event.visitor_id, '"']  # [A-Za-z0-9_-] only: nothing to escape
    if event.client_id:  # visible ASCII only (validated): only " and \ need escaping in JSON
        parts += [',"event_id":"', event.client_id.replace("\\", "\\\\").replace('"', '\\"'), '"']
    parts.append("}")
    return "".join(parts)


_COPY_EVENTS = "COPY core_domainevent (type, occurred_at, lead_id, payload) FROM STDIN"


def _insert(rows: list[tuple[int, domain.CleanEvent, int | None]], *, source: str) -> list[int]:
    """One event: INSERT … RETURNING id (scoring records the event that caused the change). A batch:
    COPY, in lead order so the (lead, time) index is updated page by page; no ids needed."""
    if not rows:
        return []
    source_json = json.dumps(source)
    if len(rows) == 1:
        _index, event, lead_id = rows[0]
        with connection.cursor() as cursor:
            cursor.execute(
                "INSERT INTO core_domainevent (type, occurred_at, lead_id, actor_id, payload) "
                "VALUES (%s, %s, %s, NULL, %s::jsonb) RETURNING id",
                [event.stored_type, event.occurred_at, lead_id, _payload_json(event, source_json)],
            )
            return [cursor.fetchone()[0]]
    lines = []
    for _index, event, lead_id in sorted(rows, key=lambda r: (r[2] or 0, r[1].occurred_at)):
        # COPY text format: JSON has no raw tab/newline (they are escaped), only backslashes to double.
        payload = _payload_json(event, source_json).replace("\\", "\\\\")
        lead = str(lead_id) if lead_id else "\\N"
        lines.append(f"{event.stored_type}\t{event.occurred_at.isoformat()}\t{lead}\t{payload}\n")
    with connection.cursor() as cursor, cursor.cursor.copy(_COPY_EVENTS) as copy:
        copy.write("".join(lines))
    return []


# --- stitching -----------------------------------------------------------------------------------------

_STITCH = """
    UPDATE core_domainevent SET lead_id = %s
    WHERE lead_id IS NULL AND type LIKE 'activity.%%' AND (payload->>'visitor_id') = %s
    RETURNING type
"""
_REMEMBER = """
    INSERT INTO tracking_visitor (visitor_id, lead_id, site_id, identified_at) VALUES (%s, %s, %s, %s)
    ON CONFLICT (visitor_id) DO UPDATE SET lead_id = EXCLUDED.lead_id, identified_at = EXCLUDED.identified_at,
        site_id = COALESCE(EXCLUDED.site_id, tracking_visitor.site_id)
"""


def stitch_visitor(*, visitor_id: str, lead_id: int, site_id: int | None = None, rescore: bool = True) -> int:
    """The visitor identified as ``lead_id``: move its anonymous events to the lead (one UPDATE served by
    the partial index ``tracking_anon_visitor_idx``), remember visitor → lead for later events, and
    rescore the lead (unless the caller scores it next). Returns how many events moved.

    A visitor that identifies as another lead later keeps what was stitched before; only events still
    anonymous move, and the new mapping wins from then on.
    """
    if not domain.is_visitor_id(visitor_id):
        return 0
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(_REMEMBER, [visitor_id, lead_id, site_id, clock.now()])
        cursor.execute(_STITCH, [lead_id, visitor_id])
        moved = [row[0] for row in cursor.fetchall()]
        if moved and rescore:
            scoring_services.score_leads([lead_id], cause="activity")
        if any(t.removeprefix(domain.TYPE_PREFIX) in domain.PRODUCT_TYPES for t in moved):
            _product_activity([lead_id])
    return len(moved)


VISITOR_FIELD = "embudo_visitor_id"


def visitor_id_of(payload: Mapping[str, Any]) -> str:
    """The snippet's visitor id in a submission payload: top level (hosted/embedded form meta field,
    Web-to-Lead), the form's values (a hidden field of that name) or the API's custom fields."""
    candidates: list[object] = [payload.get(VISITOR_FIELD)]
    for key in ("values", "custom_fields", "raw"):
        nested = payload.get(key)
        if isinstance(nested, Mapping):
            candidates.append(nested.get(VISITOR_FIELD))
    for value in candidates:
        if domain.is_visitor_id(value):
            return str(value)
    return ""


def stitch_from_submission(*, lead_id: int, payload: Mapping[str, Any]) -> int:
    """Called by the intake, in its transaction, right before it scores the lead: a form submitted with
    the snippet's visitor id stitches that visitor's page views to the lead. No-op without one."""
    visitor_id = visitor_id_of(payload or {})
    if not visitor_id:
        return 0
    return stitch_visitor(visitor_id=visitor_id, lead_id=lead_id, rescore=False)


def identify_visitor(*, visitor_id: str, email: str, site_id: int | None = None) -> bool:
    """The snippet's ``identify(email)``: stitch when a lead has this email. The caller never learns the
    answer (a public endpoint must not reveal who is a lead)."""
    lead_id = leads_by_email([email.strip().lower()]).get(email.strip().lower()) if email else None
    if lead_id is None:
        return False
    stitch_visitor(visitor_id=visitor_id, lead_id=lead_id, site_id=site_id)
    return True


# --- the snippet's collect endpoint ----------------------------------------------------------------------


def hit_rate_limit(*, site: TrackingSite, ip: str) -> bool:
    """Count this request; True when the IP is over the site's per-minute limit. One upsert."""
    minute = clock.now().replace(second=0, microsecond=0)
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO tracking_ratebucket (site_id, ip, minute, hits) VALUES (%s, %s, %s, 1) "
            "ON CONFLICT (site_id, ip, minute) DO UPDATE SET hits = tracking_ratebucket.hits + 1 RETURNING hits",
            [site.pk, ip[:45], minute],
        )
        hits = int(cursor.fetchone()[0])
    return hits > site.max_requests_per_minute


@dataclass(frozen=True)
class CollectResult:
    stored: int = 0
    rejected: int = 0
    errors: list[dict[str, list[str]]] = field(default_factory=list)


def collect(*, site: TrackingSite, body: Mapping[str, Any]) -> CollectResult:
    """One snippet request: ``{"visitor_id", "events": [{"type", "properties", "timestamp", "id"}],
    "identify": {"email"}}``. Page views keep only the snippet's keys. Only ``page_view``,
    ``content_downloaded`` and custom types are accepted from web pages: the key is public, so the
    built-in types that weigh most (demo requested, product activity, email replies…) must come
    through the token API."""
    visitor_id = body.get("visitor_id")
    if not domain.is_visitor_id(visitor_id):
        return CollectResult(rejected=1, errors=[{"visitor_id": ["Give 8 to 64 letters, digits, - or _."]}])
    assert isinstance(visitor_id, str)  # noqa: S101 - narrowed by is_visitor_id
    raw_events = body.get("events") or []
    if not isinstance(raw_events, list):
        return CollectResult(rejected=1, errors=[{"events": ["Give a list."]}])
    events: list[object] = []
    for raw in raw_events[:MAX_COLLECT_EVENTS]:
        if not isinstance(raw, Mapping):
            events.append(raw)
            continue
        properties = raw.get("properties")
        if raw.get("type") == "page_view" and isinstance(properties, Mapping):
            properties = domain.page_view_properties(properties)
        events.append({k: v for k, v in {"type": raw.get("type"), "timestamp": raw.get("timestamp"),
                                         "id": raw.get("id"), "properties": properties,
                                         "visitor_id": visitor_id}.items() if v is not None})  # fmt: skip
    with transaction.atomic():
        identify = body.get("identify")
        if isinstance(identify, Mapping) and isinstance(identify.get("email"), str):
            identify_visitor(visitor_id=visitor_id, email=str(identify["email"])[:254], site_id=site.pk)
        result = ingest_events(events, scope=f"site:{site.pk}", source="snippet", allowed_types=SNIPPET_TYPES) \
            if events else IngestResult(items=[], lead_ids=[])  # fmt: skip
    rejected = len(raw_events) - len(events) + result.rejected
    return CollectResult(stored=result.stored, rejected=rejected,
                         errors=[i.errors for i in result.items if i.status == "rejected"])  # fmt: skip


# --- sites and housekeeping ------------------------------------------------------------------------------


def save_site(*, site: TrackingSite | None, name: str, allowed_origins: list[str], active: bool,
              max_requests_per_minute: int, actor_id: int | None) -> TrackingSite:  # fmt: skip
    """Create or update a site; origins are normalized by the form (``domain.normalize_origin``)."""
    if site is None:
        site = TrackingSite(created_by_id=actor_id)
    site.name = name
    site.allowed_origins = "\n".join(allowed_origins)
    site.active = active
    site.max_requests_per_minute = max_requests_per_minute
    site.save()
    return site


def rotate_site_key(*, site: TrackingSite) -> TrackingSite:
    site.public_key = new_public_key()
    site.save(update_fields=["public_key"])
    return site


def prune(*, now: Any = None) -> tuple[int, int]:
    """Delete client ids older than ``KEY_RETENTION_DAYS`` and rate buckets older than an hour."""
    now = now or clock.now()
    keys, _ = EventKey.objects.filter(created_at__lt=now - timedelta(days=KEY_RETENTION_DAYS)).delete()
    buckets, _ = RateBucket.objects.filter(minute__lt=now - timedelta(hours=1)).delete()
    return keys, buckets


def resolve_lead(*, lead_id: int | None = None, email: str = "") -> int | None:
    """The id of an existing lead given by id or email, or ``None``."""
    if lead_id is not None:
        return lead_id if lead_id in _existing_leads([lead_id]) else None
    return leads_by_email([email]).get(email.strip().lower()) if email else None


_SWEEP = """
    UPDATE core_domainevent e SET lead_id = v.lead_id
    FROM tracking_visitor v JOIN leads_lead l ON l.id = v.lead_id
    WHERE e.lead_id IS NULL AND e.type LIKE 'activity.%%' AND (e.payload->>'visitor_id') = v.visitor_id
    RETURNING e.lead_id
"""


def stitch_known_visitors() -> list[int]:
    """Safety net for a race: an anonymous event stored while its visitor was identifying (the two
    transactions did not see each other) stays anonymous; this moves such events to the known lead and
    rescores those leads. Reads only anonymous activity (the partial index), so it is cheap."""
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(_SWEEP)
        lead_ids = sorted({row[0] for row in cursor.fetchall()})
        if lead_ids:
            scoring_services.score_leads(lead_ids, cause="activity")
    return lead_ids
