"""Intake of many submissions at once (``POST /api/v1/leads/batch``): the one intake path, set-based.

Each submission goes through the steps of ``services.process_locked_submission`` (normalize → validate →
match → create or merge → enrich → attribution and consent → score → event → route) and ends in the same
rows, but each step is one statement for the whole batch instead of one per submission: the raw submissions,
the companies, the phone locks, the exact-key lookup, the fuzzy lookup, the new leads with their blocking keys
and ``LeadCreated`` events, the merges into stored leads (``leads_services.apply_intake_changes_many``), the
attribution, the consents, the scoring, the ``LeadCaptured`` events, the submissions' outcomes and the
speed-to-lead marks of leads with nothing to route, and routing by a published rule set
(``routing.services.route_many_at_intake``: picks in arrival order from one snapshot per pool, written together).

Order is kept as if the submissions came one by one, in the batch's order:
- two submissions of a batch with the same email or phone, or matching the same lead, are in different
  *rounds*: a round only holds submissions that touch different people, and the next round's lookup sees
  the leads the previous one created;
- a submission the set-based path does not handle goes through ``services.process_locked_submission`` after
  the rest of its round: a fuzzy match at intake (a review candidate or an automatic, reversible merge), or
  an email that a concurrent request stored between our lookup and our insert.

Not the same as one by one: fuzzy matching compares a submission with the leads stored before its round,
not with the new leads of its own round (those pairs are found by the periodic duplicate scan).

Failure: the raw submissions are inserted first; processing runs in a savepoint after them. If it raises,
the savepoint is rolled back and each submission is processed on its own, in its own savepoint, failed ones
marked ``failed`` with a retry job: exactly what single requests do.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any

from django.conf import settings
from django.db import connection, transaction

from embudo.capture import services
from embudo.capture.domain.raw import has_nul, without_nul
from embudo.capture.models import ConsentRecord, Outcome, Submission, SubmissionStatus
from embudo.core import clock
from embudo.core import events as core_events
from embudo.core.sqlparams import jsonb_array
from embudo.dedupe import services as dedupe_services
from embudo.leads import selectors as leads_selectors
from embudo.leads import services as leads_services
from embudo.leads.models import Lead
from embudo.routing import services as routing_services
from embudo.scoring import services as scoring_services
from embudo.tracking import services as tracking_services

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class BatchItem:
    """One submission of a batch: what ``services.capture`` takes for one."""

    payload: Mapping[str, Any]
    context: services.ProcessingContext
    meta: services.SubmissionMeta
    actor_id: int | None = None
    idempotency_key: str = ""
    # When the request arrived (a request that waited for a group commit: its wait counts); None: when stored.
    received_at: datetime | None = None


# Items per transaction. What a transaction holds until it ends: an advisory lock per distinct phone (PostgreSQL's
# lock table is shared and bounded: max_locks_per_transaction × max_connections, 6,400 with the defaults) and,
# when its leads are routed, the row locks of the pools they go to, from the routing step to COMMIT (which a
# single-lead request to one of those pools waits for). 50 bounds both and keeps almost all of the set-based
# gain: a transaction's fixed cost is about 25 statements.
TRANSACTION_ITEMS = 50


def capture_many(*, channel: str, items: Sequence[BatchItem]) -> list[services.IntakeResult]:
    """``services.capture`` for each item, in transactions of up to ``TRANSACTION_ITEMS`` items (each committed
    before the next starts, which sees its leads): the results in the items' order.

    An item whose idempotency key was seen before (in an earlier request or earlier in this batch) returns
    the first submission's result (``duplicate_request``) and stores nothing more.
    """
    items = [_storable(item) for item in items]
    keys = [item.idempotency_key for item in items if item.idempotency_key]
    earlier = (
        {s.idempotency_key: s for s in Submission.objects.filter(channel=channel, idempotency_key__in=keys)}
        if keys
        else {}
    )
    fresh: list[int] = []
    seen: set[str] = set()
    for n, item in enumerate(items):
        key = item.idempotency_key
        if key and (key in earlier or key in seen):
            continue
        if key:
            seen.add(key)
        fresh.append(n)
    stored: list[Submission | None] = []
    processed: dict[int, services.Processed | None] = {}
    for start in range(0, len(fresh), TRANSACTION_ITEMS):
        with transaction.atomic():
            part, reserved = _store_many(
                channel=channel, items=[items[n] for n in fresh[start : start + TRANSACTION_ITEMS]]
            )
            processed.update(_process_all([s for s in part if s is not None], reserved))
        stored.extend(part)
    submissions = [s for s in stored if s is not None]
    by_key = {**earlier, **{s.idempotency_key: s for s in submissions if s.idempotency_key}}
    results: list[services.IntakeResult] = []
    stored_at = dict(zip(fresh, stored, strict=True))
    for n, item in enumerate(items):
        submission = stored_at.get(n)
        if submission is None:  # a repeated key (earlier, in this batch, or stored concurrently)
            first = by_key.get(item.idempotency_key) or _stored_by_key(channel, item.idempotency_key)
            results.append(services.intake_result(first, duplicate_request=True))
        else:
            results.append(services.intake_result(submission, processed=processed.get(submission.pk)))
    return results


def _storable(item: BatchItem) -> BatchItem:
    """The item without NUL characters in what is stored (see ``capture.domain.raw``)."""
    meta, context = services.storable_meta(item.meta), services.storable_context(item.context) or item.context
    if not has_nul((item.payload, item.idempotency_key)) and meta is item.meta and context is item.context:
        return item
    return dataclasses.replace(
        item, payload=without_nul(item.payload), meta=meta, context=context,
        idempotency_key=without_nul(item.idempotency_key),
    )  # fmt: skip


def _stored_by_key(channel: str, key: str) -> Submission:
    # Stored by a concurrent request between our read and our insert (ON CONFLICT waited for its commit).
    return Submission.objects.get(channel=channel, idempotency_key=key)


# One statement: the submissions' ids and a lead id for each (in the items' order: ids follow arrival, as one by
# one), the insert, and which rows it stored (a key a concurrent request stored first is skipped).
_STORE_MANY = """
    WITH ids AS MATERIALIZED (
        SELECT n, nextval(pg_get_serial_sequence('capture_submission', 'id')) AS id,
               nextval(pg_get_serial_sequence('leads_lead', 'id')) AS lead_id
        FROM generate_series(1, %s) n),
    stored AS (
        INSERT INTO capture_submission (id, channel, received_at, payload, headers, ip, user_agent, idempotency_key,
            external_id, form_id, actor_id, context, status, outcome, reason, errors, error, attempts)
        SELECT ids.id, %s, u.received_at, u.payload, u.headers, u.ip, u.user_agent, u.key, '', NULL, u.actor_id,
               u.context, %s, '', '', '{}', '', 0
        FROM unnest(%s::timestamptz[], %s::jsonb[], %s::jsonb[], %s::inet[], %s::text[], %s::text[], %s::bigint[],
                    %s::jsonb[]) WITH ORDINALITY AS u(received_at, payload, headers, ip, user_agent, key, actor_id,
                                                      context, n)
        JOIN ids ON ids.n = u.n
        ORDER BY u.n
        ON CONFLICT DO NOTHING RETURNING id)
    SELECT ids.id, ids.lead_id, stored.id IS NOT NULL FROM ids LEFT JOIN stored ON stored.id = ids.id ORDER BY ids.n
"""


def _store_many(*, channel: str, items: Sequence[BatchItem]) -> tuple[list[Submission | None], dict[int, int]]:
    """Insert the raw submissions, in one statement. Returns them (None for an item whose key a concurrent
    request stored first) and the lead id reserved for each, should it create a lead."""
    if not items:
        return [], {}
    now = clock.now()
    submissions: list[Submission] = []
    for item in items:
        meta = item.meta
        context_data = asdict(item.context)
        context_data.update(
            {k: v for k, v in (("referrer", meta.referrer), ("landing_page", meta.landing_page),
                               ("accept_language", meta.accept_language)) if v and not context_data.get(k)}
        )  # fmt: skip
        submission = Submission(
            channel=channel, received_at=item.received_at or now, payload=dict(item.payload), headers=meta.headers,
            ip=meta.ip or None, user_agent=meta.user_agent[:1000], idempotency_key=item.idempotency_key,
            external_id="", form_id=None, actor_id=item.actor_id, context=context_data,
            status=SubmissionStatus.PENDING,
        )  # fmt: skip
        submission._state.adding = False
        submissions.append(submission)
    with connection.cursor() as cursor:
        cursor.execute(
            _STORE_MANY,
            [len(submissions), channel, SubmissionStatus.PENDING, [s.received_at for s in submissions],
             jsonb_array(s.payload for s in submissions), jsonb_array(s.headers for s in submissions),
             [s.ip for s in submissions], [s.user_agent for s in submissions],
             [s.idempotency_key for s in submissions], [s.actor_id for s in submissions],
             jsonb_array(s.context for s in submissions)],
        )  # fmt: skip
        rows = cursor.fetchall()
    stored: list[Submission | None] = []
    reserved: dict[int, int] = {}
    for submission, (submission_id, lead_id, inserted) in zip(submissions, rows, strict=True):
        submission.pk = int(submission_id)
        reserved[submission.pk] = int(lead_id)
        stored.append(submission if inserted else None)
    return stored, reserved


def _process_all(submissions: list[Submission], reserved: Mapping[int, int]) -> dict[int, services.Processed | None]:
    """Set-based in a savepoint; if that raises, one by one, each in its own savepoint."""
    if not submissions:
        return {}
    try:
        with transaction.atomic(), core_events.deferring_together():
            return _process_rounds(submissions, reserved)
    except Exception:
        logger.exception("batch intake failed; processing its submissions one by one",
                         extra={"submission_ids": [s.pk for s in submissions]})  # fmt: skip
    processed: dict[int, services.Processed | None] = {}
    for submission in submissions:
        # The rolled-back attempt may have set these on the instance: back to what is stored.
        submission.status, submission.outcome, submission.lead_id = SubmissionStatus.PENDING, "", None
        submission.reason, submission.errors, submission.error = "", {}, ""
        try:
            with transaction.atomic(), core_events.deferring_together():
                processed[submission.pk] = services.process_locked_submission(submission)
        except Exception as exc:
            logger.exception("intake processing failed", extra={"submission_id": submission.pk})
            services.mark_failed(submission, exc)
            processed[submission.pk] = None
    return processed


@dataclass
class _Done:
    """A submission processed by the set-based path, and what the later steps need of it."""

    prepared: services.PreparedSubmission
    lead: Lead
    created: bool
    stored_at: Any = None


def _process_rounds(submissions: list[Submission], reserved: Mapping[int, int]) -> dict[int, services.Processed | None]:
    processed: dict[int, services.Processed | None] = {}
    finishes: list[tuple[Submission, str, str, dict[str, list[str]], str, int | None]] = []
    pending: list[services.PreparedSubmission] = []
    for submission in submissions:
        prepared = services.prepare_submission(submission)
        if isinstance(prepared, services.Rejection):
            finishes.append((submission, prepared.status, prepared.reason, prepared.errors, "", None))
            processed[submission.pk] = None
        else:
            pending.append(prepared)
    companies = leads_services.ensure_companies(
        [(p.company_domain, p.values.get("company_name", ""), p.values.get("country", "")) for p in pending]
    )
    # One intake at a time per phone, for the whole transaction (as ``lock_match_keys`` for one).
    dedupe_services.lock_match_keys_many(phones=[p.keys.phone or p.keys.whatsapp for p in pending])
    _finish_many(finishes)
    while pending:
        pending = _round(pending, companies, reserved, processed)
    return processed


def _round(
    pending: list[services.PreparedSubmission],
    companies: Mapping[str, int],
    reserved: Mapping[int, int],
    processed: dict[int, services.Processed | None],
) -> list[services.PreparedSubmission]:
    """Process the submissions of ``pending`` that touch different people (a person's later submissions wait
    for the next round, which sees this one's writes); returns the others, in order."""
    done: list[_Done] = []
    found = leads_selectors.find_leads_by_keys([(p.keys.email, p.keys.phone or p.keys.whatsapp) for p in pending])
    this_round: list[tuple[services.PreparedSubmission, Lead | None]] = []
    later: list[services.PreparedSubmission] = []
    claimed: set[str] = set()
    for prepared, lead in zip(pending, found, strict=True):
        # Emails compare as the unique index does (lower-case): "Ana@x.es" and "ana@x.es" are one person.
        marks = {f"e:{prepared.keys.email.lower()}" if prepared.keys.email else "",
                 f"p:{prepared.keys.phone or prepared.keys.whatsapp}" if (prepared.keys.phone or prepared.keys.whatsapp)
                 else "", f"l:{lead.pk}" if lead is not None else ""} - {""}  # fmt: skip
        if marks & claimed:
            later.append(prepared)
            continue
        claimed |= marks
        this_round.append((prepared, lead))
    one_by_one: list[services.PreparedSubmission] = []
    new: list[services.PreparedSubmission] = []
    unmatched = [prepared for prepared, lead in this_round if lead is None]
    # The fuzzy lookup of every unmatched submission in one query (settings.DEDUPE_FUZZY_AT_INTAKE).
    fuzzy = (
        dict(
            zip(
                (p.submission.pk for p in unmatched),
                dedupe_services.find_fuzzy_matches([p.values for p in unmatched]),
                strict=True,
            )
        )  # fmt: skip
        if settings.DEDUPE_FUZZY_AT_INTAKE and unmatched
        else {}
    )
    # Merges into stored leads in one go; they lock their leads in id order (a round's leads are distinct, so the
    # order changes no outcome): two batches merging into the same leads wait for each other, no deadlock.
    merged = leads_services.apply_intake_changes_many([
        leads_services.IntakeChanges(
            lead_id=lead.pk, changes=services.intake_changes(lead, prepared, companies.get(prepared.company_domain)),
            channel=prepared.submission.channel, actor_id=prepared.submission.actor_id,
        )
        for prepared, lead in this_round
        if lead is not None
    ])  # fmt: skip
    merged_at = clock.now()
    for prepared, lead in this_round:
        if lead is not None:
            done.append(_Done(prepared, merged[lead.pk], created=False, stored_at=merged_at))
        elif fuzzy.get(prepared.submission.pk) is not None:
            one_by_one.append(prepared)  # a review candidate or an automatic merge: the single path records it
        else:
            new.append(prepared)
    created = leads_services.create_leads_from_intake(
        [
            leads_services.NewIntakeLead(
                lead_id=reserved[p.submission.pk],
                values=p.values,
                channel=p.submission.channel,
                source=p.lead_input.source or p.context.source or p.submission.channel,
                company_id=companies.get(p.company_domain),
                team_id=p.context.team_id,
                owner_id=p.context.owner_id,
                actor_id=p.submission.actor_id,
                custom_fields=p.lead_input.custom_fields,
            )  # fmt: skip
            for p in new
        ]
    )
    stored_at = clock.now()
    for prepared, lead in zip(new, created, strict=True):
        if lead is None:  # its email was stored by a concurrent request meanwhile: merge as one by one does
            one_by_one.append(prepared)
        else:
            done.append(_Done(prepared, lead, created=True, stored_at=stored_at))
    _write_done(done, processed)
    for prepared in sorted(one_by_one, key=lambda p: p.submission.pk):
        processed[prepared.submission.pk] = services.process_locked_submission(prepared.submission)
    return later


def _write_done(done: list[_Done], processed: dict[int, services.Processed | None]) -> None:
    """Attribution, consents, scoring, ``LeadCaptured``, outcomes and routing of the set-based submissions."""
    if not done:
        return
    touches = [services.touch_of(d.prepared) for d in done]
    _record_attributions([(d.lead.pk, t, d.prepared.submission) for d, t in zip(done, touches, strict=True)])
    _record_consents(done)
    for d in done:
        tracking_services.stitch_from_submission(lead_id=d.lead.pk, payload=d.prepared.submission.payload)
    # The ledger records who caused a score: one scoring per actor (a batch request has one).
    for actor_id in dict.fromkeys(d.prepared.submission.actor_id for d in done):
        mine = [d for d in done if d.prepared.submission.actor_id == actor_id]
        changes = scoring_services.score_leads([d.lead.pk for d in mine], cause="captured", actor_id=actor_id,
                                               created_here=[d.lead.pk for d in mine if d.created])  # fmt: skip
        for d in mine:
            change = changes.get(d.lead.pk)
            if change is not None:
                d.lead.score, d.lead.grade = change.score, change.grade
    scored_at = clock.now()
    core_events.publish_many(
        [
            services.captured_event(d.prepared, lead_id=d.lead.pk, created=d.created, touch=t)
            for d, t in zip(done, touches, strict=True)
        ]  # fmt: skip
    )
    _finish_many([
        (d.prepared.submission, SubmissionStatus.PROCESSED, "", {}, Outcome.CREATED if d.created else Outcome.MERGED,
         d.lead.pk)
        for d in done
    ])  # fmt: skip
    # Routing last, in arrival order (see services.process_locked_submission: a pool pick holds the pool's lock
    # until COMMIT; ``done`` has a round's merges before its new leads); the leads with nothing to route cost one
    # statement together.
    done = sorted(done, key=lambda d: d.prepared.submission.pk)
    routed = routing_services.route_many_at_intake([
        routing_services.IntakeRouting(
            lead_id=d.lead.pk, created=d.created, received_at=d.prepared.submission.received_at,
            stored_at=d.stored_at, scored_at=scored_at, form_id=d.prepared.submission.form_id,
            ownership=(d.lead.owner_id, d.lead.team_id, d.lead.source),
        )
        for d in done
    ])  # fmt: skip
    for d, routing in zip(done, routed, strict=True):
        if routing is not None:
            d.lead.owner_id, d.lead.team_id = routing.owner_id, routing.team_id
        processed[d.prepared.submission.pk] = services.Processed(
            d.lead, routing.owner_contact if routing is not None else None
        )


def _finish_many(rows: list[tuple[Submission, str, str, dict[str, list[str]], str, int | None]]) -> None:
    """``services._finish`` for many submissions in one statement."""
    if not rows:
        return
    now = clock.now()
    for submission, status, reason, errors, outcome, lead_id in rows:
        submission.status, submission.reason, submission.errors = status, reason, dict(errors)
        submission.outcome, submission.lead_id, submission.error, submission.processed_at = outcome, lead_id, "", now
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE capture_submission s SET status = u.status, reason = u.reason, errors = u.errors,"
            " outcome = u.outcome, lead_id = u.lead_id, error = '', processed_at = %s"
            " FROM unnest(%s::bigint[], %s::text[], %s::text[], %s::jsonb[], %s::text[], %s::bigint[])"
            " AS u(id, status, reason, errors, outcome, lead_id) WHERE s.id = u.id",
            [now, [r[0].pk for r in rows], [r[1] for r in rows], [r[2] for r in rows],
             jsonb_array(r[3] for r in rows), [r[4] for r in rows], [r[5] for r in rows]],
        )  # fmt: skip


_KEYS = services.ATTRIBUTION_KEYS
# ``services._UPSERT_ATTRIBUTION`` for many leads (distinct: a round never holds two submissions of one lead).
_UPSERT_ATTRIBUTIONS = """
    INSERT INTO capture_leadattribution (lead_id, {first}, first_at, {last}, last_at)
    SELECT u.lead_id, {values}, u.at, {values}, u.at
    FROM unnest(%s::bigint[], %s::timestamptz[], {arrays}) AS u(lead_id, at, {names})
    ORDER BY u.lead_id
    ON CONFLICT (lead_id) DO UPDATE SET {updates}, last_at = EXCLUDED.last_at
    WHERE capture_leadattribution.last_at <= EXCLUDED.last_at
""".format(  # noqa: S608 - fixed column names; the values are parameters
    first=", ".join(f"first_{k}" for k in _KEYS),
    last=", ".join(f"last_{k}" for k in _KEYS),
    values=", ".join(f"u.{k}" for k in _KEYS),
    arrays=", ".join("%s::text[]" for _ in _KEYS),
    names=", ".join(_KEYS),
    updates=", ".join(f"last_{k} = EXCLUDED.last_{k}" for k in _KEYS),
)


def _record_attributions(rows: list[tuple[int, Any, Submission]]) -> None:
    rows = sorted(rows, key=lambda r: r[0])
    with connection.cursor() as cursor:
        cursor.execute(
            _UPSERT_ATTRIBUTIONS,
            [[r[0] for r in rows], [r[2].received_at for r in rows],
             *([getattr(r[1], k) for r in rows] for k in _KEYS)],
        )  # fmt: skip


def _record_consents(done: list[_Done]) -> None:
    records = [
        record
        for d in done
        for record in services.consent_records(
            d.lead.pk, d.prepared.lead_input.consents, d.prepared.submission, d.prepared.values.get("language", "")
        )  # fmt: skip
    ]
    if records:
        ConsentRecord.objects.bulk_create(records)
