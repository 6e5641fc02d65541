"""The one intake path. Every channel stores the raw input first, then processes it (normalize →
validate → match → create or update → enrich → attribution and consent → event). Deferred channels
call ``receive_submission`` (committed) and a job runs ``process_submission``; synchronous channels
call ``capture``, which stores and processes in one transaction with a savepoint around processing.
Either way a processing failure leaves the submission ``failed`` with its error and a retry job, and
nothing acknowledged is ever lost.
"""

from __future__ import annotations

import dataclasses
import hashlib
import logging
import traceback
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.db import IntegrityError, connection, transaction
from procrastinate.contrib.django import app as procrastinate_app

from embudo.capture import mapping
from embudo.capture.domain import attribution, enrich, normalize, survivorship
from embudo.capture.domain.raw import has_nul, without_nul
from embudo.capture.events import LeadCaptured
from embudo.capture.models import ConsentRecord, Outcome, Submission, SubmissionStatus
from embudo.core import clock
from embudo.core import events as core_events
from embudo.core.sqlparams import jsonb
from embudo.dedupe import services as dedupe_services
from embudo.leads import selectors as leads_selectors
from embudo.leads import services as leads_services
from embudo.routing import services as routing_services
from embudo.scoring import services as scoring_services
from embudo.tracking import services as tracking_services

if TYPE_CHECKING:
    from embudo.leads.models import Lead

logger = logging.getLogger(__name__)

MAX_ATTEMPTS = 8
# Channels whose sender never sees an error to correct: a Web-to-Lead form on someone else's site (it shows its
# own thank-you page whatever we answer), a WhatsApp or email message. There a value that does not normalize (a
# phone "n/a", an emoji in a name, a country "Europa") is left out of the lead, kept in the raw submission and
# listed in its ``errors``, instead of rejecting the whole submission and losing a lead whose email is fine.
# Channels that answer the sender (API, forms, import's per-row report) still reject, so the sender corrects.
LENIENT_CHANNELS = frozenset({"w2l", "whatsapp", "email"})
# Fields the survivorship policy compares (lead columns named like the normalized values).
COMPARED_FIELDS = (*[f for f in mapping.LEAD_FIELD_NAMES if f not in ("company_domain", "whatsapp_id")],
                   "time_zone", "email_domain_kind")  # fmt: skip


@dataclass(frozen=True)
class SubmissionMeta:
    """What the transport tells us about a submission (never PII in logs; stored on the row)."""

    ip: str | None = None
    user_agent: str = ""
    headers: dict[str, str] = field(default_factory=dict)
    referrer: str = ""
    landing_page: str = ""
    accept_language: str = ""


@dataclass(frozen=True)
class ProcessingContext:
    """Fixed at receipt and stored on the submission, so a replay processes it the same way."""

    default_region: str = ""
    team_id: int | None = None
    owner_id: int | None = None
    language: str = ""
    source: str = ""
    quarantine_reason: str = ""
    referrer: str = ""
    landing_page: str = ""
    accept_language: str = ""


@dataclass(frozen=True)
class LeadSummary:
    """What the intake response shows of the lead, known at the end of processing (no re-read)."""

    score: int
    grade: str
    owner_id: int | None
    owner_contact: tuple[str, str] | None = None  # the owner's (email, full name) when routing read them


@dataclass(frozen=True)
class Processed:
    """The lead a submission went into, and its new owner's (email, full name) when this intake's routing
    read them with the pool (the answer then needs no query for them)."""

    lead: Lead
    owner_contact: tuple[str, str] | None = None


@dataclass(frozen=True)
class IntakeResult:
    submission_id: int
    status: str
    outcome: str
    lead_id: int | None
    errors: dict[str, list[str]]
    reason: str
    duplicate_request: bool = False
    lead_summary: LeadSummary | None = None

    @property
    def created(self) -> bool:
        return self.outcome == Outcome.CREATED


def intake_result(
    submission: Submission, *, duplicate_request: bool = False, processed: Processed | None = None
) -> IntakeResult:
    lead = processed.lead if processed is not None else None
    return IntakeResult(
        submission_id=submission.pk,
        status=submission.status,
        outcome=submission.outcome,
        lead_id=submission.lead_id,
        errors={k: list(v) for k, v in (submission.errors or {}).items()},
        reason=submission.reason,
        duplicate_request=duplicate_request,
        lead_summary=LeadSummary(
            score=lead.score,
            grade=lead.grade,
            owner_id=lead.owner_id,
            owner_contact=processed.owner_contact if processed is not None else None,
        )
        if lead
        else None,
    )


def receive_submission(
    *,
    channel: str,
    payload: Mapping[str, Any],
    meta: SubmissionMeta,
    context: ProcessingContext | None = None,
    idempotency_key: str = "",
    external_id: str = "",
    form_id: int | None = None,
    actor_id: int | None = None,
) -> tuple[Submission, bool]:
    """Store the raw submission and commit it. Returns (submission, is_new).

    A repeated idempotency key or provider message id returns the first submission (``is_new`` False)
    and stores nothing more: double clicks and webhook retries create nothing.
    """
    payload, meta, context = without_nul(payload), storable_meta(meta), storable_context(context)
    idempotency_key, external_id = without_nul(idempotency_key), without_nul(external_id)
    lookup = _lookup(channel, idempotency_key, external_id)
    existing = _existing(lookup)
    if existing is not None:
        return existing, False
    try:
        with transaction.atomic():
            submission = _store(channel=channel, payload=payload, meta=meta, context=context,
                                idempotency_key=idempotency_key, external_id=external_id, form_id=form_id,
                                actor_id=actor_id)  # fmt: skip
    except IntegrityError:
        # The same key arrived concurrently; the other request stored it first.
        existing = _existing(lookup)
        if existing is None:
            raise
        return existing, False
    return submission, True


def storable_meta(meta: SubmissionMeta) -> SubmissionMeta:
    """``meta`` without NUL characters in its texts (see ``domain.raw``)."""
    if not has_nul((meta.user_agent, meta.headers, meta.referrer, meta.landing_page, meta.accept_language)):
        return meta
    return dataclasses.replace(
        meta, user_agent=without_nul(meta.user_agent), headers=without_nul(meta.headers),
        referrer=without_nul(meta.referrer), landing_page=without_nul(meta.landing_page),
        accept_language=without_nul(meta.accept_language),
    )  # fmt: skip


def storable_context(context: ProcessingContext | None) -> ProcessingContext | None:
    """``context`` without NUL characters in its texts (see ``domain.raw``)."""
    if context is None or not has_nul(tuple(context.__dict__.values())):
        return context
    return ProcessingContext(**without_nul(context.__dict__))


def _lookup(channel: str, idempotency_key: str, external_id: str) -> dict[str, str]:
    if idempotency_key:
        return {"channel": channel, "idempotency_key": idempotency_key}
    if external_id:
        return {"channel": channel, "external_id": external_id}
    return {}


def _existing(lookup: Mapping[str, str]) -> Submission | None:
    return Submission.objects.filter(**lookup).first() if lookup else None


def _store(
    *,
    channel: str,
    payload: Mapping[str, Any],
    meta: SubmissionMeta,
    context: ProcessingContext | None,
    idempotency_key: str,
    external_id: str,
    form_id: int | None,
    actor_id: int | None,
    received_at: datetime | None = None,
) -> Submission:
    context_data = asdict(context or ProcessingContext())
    context_data.update(
        {k: v for k, v in (("referrer", meta.referrer), ("landing_page", meta.landing_page),
                           ("accept_language", meta.accept_language)) if v and not context_data.get(k)}
    )  # fmt: skip
    submission = Submission(
        channel=channel,
        received_at=received_at or clock.now(),
        payload=dict(payload),
        headers=meta.headers,
        ip=meta.ip or None,
        user_agent=meta.user_agent[:1000],
        idempotency_key=idempotency_key,
        external_id=external_id,
        form_id=form_id,
        actor_id=actor_id,
        context=context_data,
    )
    # Plain SQL (once per lead, on every channel): the ORM's insert compiler cost more than the insert.
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO capture_submission (channel, received_at, payload, headers, ip, user_agent,"
            " idempotency_key, external_id, form_id, actor_id, context, status, outcome, reason, errors, error,"
            " attempts) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, '', '', '{}', '', 0) RETURNING id",
            [submission.channel, submission.received_at, jsonb(submission.payload), jsonb(submission.headers),
             submission.ip, submission.user_agent, idempotency_key, external_id, form_id, actor_id,
             jsonb(context_data), SubmissionStatus.PENDING],
        )  # fmt: skip
        row = cursor.fetchone()
    submission.pk = int(row[0]) if row else None
    submission._state.adding = False
    return submission


def process_submission(submission_id: int) -> IntakeResult:
    """Turn a stored submission into a lead (created or merged), or a documented rejection.

    Idempotent: an already processed submission returns its recorded result. On an unexpected error
    the submission is marked ``failed`` (with the error) and a retry job is deferred.
    """
    try:
        with transaction.atomic():
            submission = Submission.objects.select_for_update().get(pk=submission_id)
            if submission.status not in (SubmissionStatus.PENDING, SubmissionStatus.FAILED):
                return intake_result(submission)
            with core_events.deferring_together():
                processed = process_locked_submission(submission)
            return intake_result(submission, processed=processed)
    except Exception as exc:
        logger.exception("intake processing failed", extra={"submission_id": submission_id})
        with transaction.atomic():
            submission = Submission.objects.select_for_update().get(pk=submission_id)
            mark_failed(submission, exc)
        return intake_result(submission)


def mark_failed(submission: Submission, exc: Exception) -> None:
    """Record the error on the (locked or just inserted) submission and defer a retry with backoff."""
    submission.status = SubmissionStatus.FAILED
    submission.outcome, submission.lead_id, submission.reason, submission.errors = "", None, "", {}
    submission.attempts += 1
    submission.error = "".join(traceback.format_exception_only(exc)).strip()[:4000]
    submission.save(update_fields=["status", "outcome", "lead_id", "reason", "errors", "attempts", "error"])
    if submission.attempts < MAX_ATTEMPTS:
        delay = min(3600, 5 * 2 ** (submission.attempts - 1))
        procrastinate_app.configure_task("capture.process_submission", schedule_in={"seconds": delay}).defer(
            submission_id=submission.pk
        )


def _finish(submission: Submission, *, status: str, reason: str = "", errors: Mapping[str, Any] | None = None,
            outcome: str = "", lead_id: int | None = None) -> None:  # fmt: skip
    submission.status = status
    submission.reason = reason
    submission.errors = dict(errors or {})
    submission.outcome = outcome
    submission.lead_id = lead_id
    submission.error = ""
    submission.processed_at = clock.now()
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE capture_submission SET status = %s, reason = %s, errors = %s, outcome = %s, lead_id = %s,"
            " error = '', processed_at = %s WHERE id = %s",
            [status, reason, jsonb(submission.errors), outcome, lead_id, submission.processed_at, submission.pk],
        )


@dataclass(frozen=True)
class PreparedSubmission:
    """A submission normalized, validated and enriched: what matching and writing need (no query made)."""

    submission: Submission
    context: ProcessingContext
    lead_input: mapping.LeadInput
    values: dict[str, str]
    info: enrich.Enrichment
    company_domain: str
    keys: normalize.MatchKeys
    # Values enrichment inferred (country and time zone from the phone, language from the browser): for a matched
    # lead they only fill empty fields, never replace what the lead stated.
    inferred: tuple[str, ...] = ()
    # Fields left out of the lead because they did not normalize (``LENIENT_CHANNELS``), with their messages.
    left_out: Mapping[str, list[str]] = field(default_factory=dict)


@dataclass(frozen=True)
class Rejection:
    """How a submission ends without a lead (rejected or quarantined), decided before any query."""

    status: str
    reason: str
    errors: dict[str, list[str]] = field(default_factory=dict)


def prepare_submission(submission: Submission) -> PreparedSubmission | Rejection:
    """Normalize → validate → enrich, in Python only (the single and the batch path share it)."""
    context = ProcessingContext(**{k: v for k, v in (submission.context or {}).items()
                                   if k in ProcessingContext.__dataclass_fields__})  # fmt: skip
    lead_input = mapping.lead_input_for(submission.channel, submission.payload)
    normalized = normalize.normalize_lead_fields(lead_input.fields, default_region=context.default_region or None)
    errors = {k: list(v) for k, v in normalized.errors.items()}
    left_out: dict[str, list[str]] = {}
    if errors and submission.channel in LENIENT_CHANNELS:
        left_out, errors = errors, {}
    if errors:
        return Rejection(SubmissionStatus.REJECTED, "invalid", errors)
    values = dict(normalized.values)
    if context.quarantine_reason:
        return Rejection(SubmissionStatus.QUARANTINED, context.quarantine_reason)
    if not any(values.get(k) for k in ("email", "phone", "whatsapp_id", "first_name", "last_name")):
        if left_out:  # what could have identified the person did not normalize: nothing to make a lead of
            return Rejection(SubmissionStatus.REJECTED, "invalid", left_out)
        return Rejection(SubmissionStatus.REJECTED, "no_contact", {"email": ["Give an email, a phone or a name."]})
    if values.get("whatsapp_id") and not values.get("phone"):
        values["phone"] = values["whatsapp_id"]
    info = enrich.enrich(values, accept_language=context.accept_language, form_language=context.language)
    inferred: list[str] = []
    for key, value in (("country", info.country), ("time_zone", info.time_zone), ("language", info.language),
                       ("email_domain_kind", info.email_domain_kind)):  # fmt: skip
        if value and not values.get(key):
            values[key] = value
            inferred.append(key)
    return PreparedSubmission(submission=submission, context=context, lead_input=lead_input, values=values, info=info,
                     company_domain=values.get("company_domain") or info.company_domain,
                     keys=normalize.match_keys(values), inferred=tuple(inferred), left_out=left_out)  # fmt: skip


def intake_changes(lead: Lead, prepared: PreparedSubmission, company_id: int | None) -> dict[str, Any]:
    """Survivorship of a matched lead against the submission: the changes to write (maybe none)."""
    existing = {k: str(getattr(lead, k) or "") for k in COMPARED_FIELDS}
    changes: dict[str, Any] = survivorship.merge_values(
        existing, {k: v for k, v in prepared.values.items() if k in COMPARED_FIELDS}, inferred=prepared.inferred
    )
    if company_id and not lead.company_id:
        changes["company_id"] = company_id
    custom_fields = prepared.lead_input.custom_fields
    if custom_fields:
        merged_custom = {**(lead.custom_fields or {}), **custom_fields}
        if merged_custom != lead.custom_fields:
            changes["custom_fields"] = merged_custom
    return changes


def touch_of(prepared: PreparedSubmission) -> attribution.Touch:
    submission = prepared.submission
    payload: Mapping[str, Any] = submission.payload
    message = payload.get("message") if submission.channel == "whatsapp" else None
    if isinstance(message, dict) and message.get("referral"):
        payload = {**payload, **attribution.whatsapp_ad_utm(message)}
    return attribution.touch_from(submission.channel, payload, referrer=prepared.context.referrer,
                                  landing_page=prepared.context.landing_page)  # fmt: skip


def captured_event(
    prepared: PreparedSubmission, *, lead_id: int, created: bool, touch: attribution.Touch
) -> LeadCaptured:
    submission, message = prepared.submission, prepared.lead_input.message
    return LeadCaptured(
        lead_id=lead_id,
        actor_id=submission.actor_id,
        submission_id=submission.pk,
        channel=submission.channel,
        created=created,
        form_id=submission.form_id,
        source=touch.source,
        utm={k: getattr(touch, k) for k in attribution.UTM_KEYS if getattr(touch, k)},
        fields=sorted(k for k in prepared.values if k in COMPARED_FIELDS),
        enriched=list(prepared.info.filled),
        summary={"message": message[:2000]} if message else {},
    )


def process_locked_submission(submission: Submission) -> Processed | None:
    """Process a submission locked (or just inserted) by the caller; returns the lead it went into."""
    prepared = prepare_submission(submission)
    if isinstance(prepared, Rejection):
        _finish(submission, status=prepared.status, reason=prepared.reason, errors=prepared.errors)
        return None
    context, lead_input, values, company_domain, keys = (
        prepared.context, prepared.lead_input, prepared.values, prepared.company_domain, prepared.keys,
    )  # fmt: skip
    company_id = (
        leads_services.ensure_company(
            domain_name=company_domain, name=values.get("company_name", ""), country=values.get("country", "")
        )  # fmt: skip
        if company_domain
        else None
    )
    # One intake at a time per phone (email is serialized by its unique index): one lead per person.
    dedupe_services.lock_match_keys(phone=keys.phone or keys.whatsapp)
    lead = leads_selectors.find_lead_by_keys(email=keys.email, phone=keys.phone or keys.whatsapp)
    # Fuzzy matching at intake (settings.DEDUPE_FUZZY_AT_INTAKE, on by default): ~2-3 ms p50, 3.4-5 ms p99
    # at 1M leads (bench dedupe-intake). Off, the periodic background scan queues the same duplicates.
    fuzzy = dedupe_services.find_fuzzy_match(values) if lead is None and settings.DEDUPE_FUZZY_AT_INTAKE else None
    auto_merge_into: int | None = None
    created = False
    if lead is None:
        lead, created = leads_services.create_lead_from_intake(
            values=values,
            channel=submission.channel,
            source=lead_input.source or context.source or submission.channel,
            company_id=company_id,
            team_id=context.team_id,
            owner_id=context.owner_id,
            actor_id=submission.actor_id,
            custom_fields=lead_input.custom_fields,
        )
        if created and fuzzy is not None and fuzzy.auto_merge:
            auto_merge_into = fuzzy.lead_id
        elif created and fuzzy is not None:
            dedupe_services.record_candidate(lead_id=lead.pk, other_id=fuzzy.lead_id, score=fuzzy.score,
                                             reasons=fuzzy.reasons)  # fmt: skip
    if not created:
        lead = leads_services.apply_intake_changes(
            lead_id=lead.pk, changes=intake_changes(lead, prepared, company_id), channel=submission.channel,
            actor_id=submission.actor_id,
        )  # fmt: skip
    stored_at = clock.now()
    touch = touch_of(prepared)
    _record_attribution(lead.pk, touch, submission)
    _record_consents(lead.pk, lead_input.consents, submission, values.get("language", ""))
    tracking_services.stitch_from_submission(lead_id=lead.pk, payload=submission.payload)
    if auto_merge_into is not None and fuzzy is not None:
        # An automatic fuzzy judgement is the one most likely to be wrong: the submission gets its own
        # lead first, then a recorded, reversible merge into the match (undo gives the person back their
        # lead, submission, consents and timeline). Exact email/phone matches need none of this.
        with connection.cursor() as cursor:
            cursor.execute("UPDATE capture_submission SET lead_id = %s WHERE id = %s", [lead.pk, submission.pk])
        dedupe_services.merge_at_intake(lead_id=lead.pk, into_id=auto_merge_into, score=fuzzy.score,
                                        reasons=fuzzy.reasons)  # fmt: skip
        merged_into = leads_selectors.get_lead(auto_merge_into)
        if merged_into is None:  # pragma: no cover - the match was locked by the merge
            raise RuntimeError(f"lead {auto_merge_into} vanished during an automatic merge")
        lead, created = merged_into, False
    # Score, then route (rules may test the grade), in this transaction: the API answers with both.
    score_change = scoring_services.score_leads(
        [lead.pk], cause="captured", actor_id=submission.actor_id, created_here=[lead.pk] if created else ()
    ).get(lead.pk)
    if score_change is not None:
        lead.score, lead.grade = score_change.score, score_change.grade
    scored_at = clock.now()
    core_events.publish(captured_event(prepared, lead_id=lead.pk, created=created, touch=touch))
    _finish(submission, status=SubmissionStatus.PROCESSED, outcome=Outcome.CREATED if created else Outcome.MERGED,
            lead_id=lead.pk, errors=prepared.left_out)  # fmt: skip
    # Routing last: a pool pick holds the pool's row lock until COMMIT (fairness), so every statement after it
    # makes concurrent intakes of the same pool wait; the capture's own writes above do not depend on it.
    routed = routing_services.route_at_intake(
        lead_id=lead.pk, created=created, received_at=submission.received_at, stored_at=stored_at,
        scored_at=scored_at, form_id=submission.form_id, ownership=(lead.owner_id, lead.team_id, lead.source),
    )  # fmt: skip
    if routed is not None:
        lead.owner_id, lead.team_id = routed.owner_id, routed.team_id
    return Processed(lead, routed.owner_contact if routed is not None else None)


ATTRIBUTION_KEYS = ("channel", "source", "medium", "campaign", "term", "content", "referrer", "landing_page")
# First touch is written once; the last touch moves forward only (a replayed older submission keeps it).
_UPSERT_ATTRIBUTION = """
    INSERT INTO capture_leadattribution (lead_id, {first}, first_at, {last}, last_at)
    VALUES (%s, {values}, %s, {values}, %s)
    ON CONFLICT (lead_id) DO UPDATE SET {updates}, last_at = EXCLUDED.last_at
    WHERE capture_leadattribution.last_at <= EXCLUDED.last_at
""".format(  # noqa: S608 - fixed column names; the values are parameters
    first=", ".join(f"first_{k}" for k in ATTRIBUTION_KEYS),
    last=", ".join(f"last_{k}" for k in ATTRIBUTION_KEYS),
    values=", ".join(["%s"] * len(ATTRIBUTION_KEYS)),
    updates=", ".join(f"last_{k} = EXCLUDED.last_{k}" for k in ATTRIBUTION_KEYS),
)


def _record_attribution(lead_id: int, touch: attribution.Touch, submission: Submission) -> None:
    """First and last touch in one statement (``LeadAttribution`` is keyed by lead)."""
    values = [getattr(touch, k) for k in ATTRIBUTION_KEYS]
    with connection.cursor() as cursor:
        cursor.execute(_UPSERT_ATTRIBUTION, [lead_id, *values, submission.received_at, *values, submission.received_at])


def _record_consents(
    lead_id: int, consents: tuple[mapping.ConsentInput, ...], submission: Submission, language: str
) -> None:
    if consents:
        ConsentRecord.objects.bulk_create(consent_records(lead_id, consents, submission, language))


def consent_records(
    lead_id: int, consents: tuple[mapping.ConsentInput, ...], submission: Submission, language: str
) -> list[ConsentRecord]:
    now = clock.now()
    return [
        ConsentRecord(
            lead_id=lead_id,
            submission=submission,
            purpose=c.purpose[:40],
            channel=submission.channel,
            granted=c.granted,
            text=c.text,
            text_version=c.text_version[:40],
            text_hash=hashlib.sha256(c.text.encode()).hexdigest() if c.text else "",
            language=(c.language or language)[:5],
            form_id=submission.form_id,
            page_url=c.page_url,
            ip=submission.ip,
            user_agent=submission.user_agent,
            lawful_basis=c.lawful_basis[:40],
            recorded_at=now,
        )
        for c in consents
    ]


def capture(
    *,
    channel: str,
    payload: Mapping[str, Any],
    meta: SubmissionMeta,
    context: ProcessingContext | None = None,
    idempotency_key: str = "",
    external_id: str = "",
    form_id: int | None = None,
    actor_id: int | None = None,
    received_at: datetime | None = None,
) -> IntakeResult:
    """Receive and process synchronously (what API and form channels do), in one transaction.

    ``received_at``: when the request arrived, if it waited before this call (``group_commit``); else now.

    The raw submission is inserted first; processing runs in a savepoint after it. If processing
    raises, only the savepoint is rolled back: the submission is committed as ``failed`` with the
    error and a retry job. One commit per submission, and nothing acknowledged is lost (the caller
    answers only after the commit).
    """
    payload, meta, context = without_nul(payload), storable_meta(meta), storable_context(context)
    idempotency_key, external_id = without_nul(idempotency_key), without_nul(external_id)
    lookup = _lookup(channel, idempotency_key, external_id)
    existing = _existing(lookup)
    if existing is not None:
        return intake_result(existing, duplicate_request=True)
    try:
        with transaction.atomic():
            submission = _store(channel=channel, payload=payload, meta=meta, context=context,
                                idempotency_key=idempotency_key, external_id=external_id, form_id=form_id,
                                actor_id=actor_id, received_at=received_at)  # fmt: skip
            try:
                with transaction.atomic(), core_events.deferring_together():
                    processed = process_locked_submission(submission)
            except Exception as exc:
                logger.exception("intake processing failed", extra={"submission_id": submission.pk})
                mark_failed(submission, exc)
                return intake_result(submission)
            return intake_result(submission, processed=processed)
    except IntegrityError:
        # The same key arrived concurrently; the other request stored it first (and processed it).
        existing = _existing(lookup)
        if existing is None:
            raise
        return intake_result(existing, duplicate_request=True)


def replay_submissions(*, submission_ids: list[int] | None = None, statuses: tuple[str, ...] = ("failed",)) -> int:
    """Process again the given (or all failed/pending) submissions; returns how many were attempted."""
    ids = submission_ids or list(
        Submission.objects.filter(status__in=statuses).order_by("received_at").values_list("id", flat=True)
    )
    for submission_id in ids:
        with transaction.atomic():
            Submission.objects.filter(pk=submission_id, status=SubmissionStatus.FAILED).update(
                status=SubmissionStatus.PENDING
            )
        process_submission(submission_id)
    return len(ids)


def sweep_open_submissions(*, older_than: timedelta = timedelta(minutes=1), limit: int = 500) -> int:
    """Process pending submissions left behind by a crash between receipt and processing."""
    cutoff = clock.now() - older_than
    ids = list(
        Submission.objects.filter(status=SubmissionStatus.PENDING, received_at__lt=cutoff)
        .order_by("received_at")
        .values_list("id", flat=True)[:limit]
    )
    for submission_id in ids:
        process_submission(submission_id)
    return len(ids)
