"""Writes of the interactions context: log a call, meeting, email or WhatsApp message with a lead.

Interface used by other contexts (keep these signatures): :func:`log_call`, :func:`log_meeting`,
:func:`send_email`, :func:`log_whatsapp`.

Invariants:

- The actor acts only on leads visible to them (``leads.selectors.get_lead_visible_to``); anything else is
  "lead not found", exactly like a lead that does not exist.
- One transaction per log: the interaction row, the SLA first touch (``sla.services.record_touch``), the
  ``InteractionLogged`` event (timeline + subscribers) and, for an email, its delivery job commit or roll
  back together. A rolled-back log sends nothing.
- An email is sent by the ``interactions.deliver_email`` job, never in the request. The job claims the
  row (queued → sending) in its own committed statement before talking to the mail server, so it sends
  at most once however often it runs; a mail server that cannot be reached sends nothing and the job
  retries (queued again) until its last attempt marks the email failed.
"""

from __future__ import annotations

import logging
import smtplib
from collections.abc import Iterable
from datetime import datetime, timedelta
from email.utils import formataddr, parseaddr

from anymail.exceptions import AnymailError  # type: ignore[import-untyped]
from django.conf import settings
from django.core.mail import EmailMessage, get_connection
from django.core.mail.message import make_msgid
from django.db import transaction
from django.utils.translation import gettext as _
from procrastinate.contrib.django import app as procrastinate_app

from embudo.accounts.models import User
from embudo.core import clock, events
from embudo.interactions import domain
from embudo.interactions.events import EmailFailed, InteractionLogged
from embudo.interactions.exceptions import EmailNotSentYet, InvalidInteraction, LeadNotFound
from embudo.interactions.models import DeliveryStatus, Direction, Interaction, Kind
from embudo.leads import selectors as leads_selectors
from embudo.leads.models import Lead
from embudo.sla import services as sla_services

logger = logging.getLogger(__name__)

DELIVER_TASK = "interactions.deliver_email"
INTERRUPTED_AFTER = timedelta(minutes=15)


def _message(problem: domain.Problem) -> str:
    code, params = problem.code, problem.params
    if code == "required":
        return {
            "outcome": _("Choose an outcome."),
            "direction": _("Choose a direction."),
            "subject": _("Write a subject."),
            "body": _("Write the email."),
            "text": _("Write the message."),
        }.get(problem.field, _("This field is required."))
    messages = {
        "invalid_choice": _("“%(value)s” is not one of the choices."),
        "too_long": _("At most %(limit)s characters."),
        "naive": _("Give the time with its time zone."),
        "future": _("This is in the future: log what already happened."),
        "too_old": _("That is more than %(days)s days ago."),
        "invalid_duration": _("Give the duration as minutes or mm:ss."),
        "duration_too_long": _("At most %(hours)s hours."),
        "duration_without_answer": _("Nobody answered: leave the duration empty."),
        "line_break": _("The subject must fit on one line."),
        "lead_without_email": _("This lead has no email address: add one to the lead first."),
        "lead_without_phone": _("This lead has no phone number: add one to the lead first."),
        "not_e164": _("The lead's phone is not an international number (+ and country code)."),
    }
    return messages.get(code, code) % params if params else messages.get(code, code)


def _raise_if(problems: Iterable[domain.Problem]) -> None:
    fields: dict[str, list[str]] = {}
    for problem in problems:
        fields.setdefault(problem.field, []).append(_message(problem))
    if fields:
        raise InvalidInteraction(_("Some fields are not valid."), fields=fields)


def _visible_lead(actor: User, lead_id: int) -> Lead:
    lead = leads_selectors.get_lead_visible_to(actor, lead_id)
    if lead is None:
        raise LeadNotFound(_("Lead not found."))
    return lead


def _record(interaction: Interaction, *, actor: User) -> Interaction:
    """Store the interaction, stop the lead's SLA clocks (first touch) and publish the timeline event."""
    interaction.save()
    sla_services.record_touch(
        lead_id=interaction.lead_id, kind=interaction.kind, at=interaction.occurred_at, actor_id=actor.pk
    )
    events.publish(
        InteractionLogged(
            lead_id=interaction.lead_id,
            actor_id=actor.pk,
            interaction_id=interaction.pk,
            kind=interaction.kind,
            outcome=interaction.outcome,
            summary=domain.excerpt(interaction.body),
            direction=interaction.direction,
            duration_seconds=interaction.duration_seconds,
            subject=interaction.subject,
        ),
        occurred_at=interaction.occurred_at,
    )
    return interaction


def _new(lead: Lead, actor: User, kind: str, now: datetime, **values: object) -> Interaction:
    return Interaction(lead=lead, actor=actor, kind=kind, created_at=now, **values)


def log_call(
    *,
    actor: User,
    lead_id: int,
    outcome: str,
    duration_seconds: int | None = None,
    notes: str = "",
    occurred_at: datetime | None = None,
    direction: str = Direction.OUTBOUND,
) -> Interaction:
    """Log a phone call (outcome connected/no_answer/voicemail/busy/wrong_number; duration in seconds)."""
    lead = _visible_lead(actor, lead_id)
    now = clock.now()
    at = occurred_at or now
    notes = notes.strip()
    _raise_if(
        domain.validate_call(
            outcome=outcome,
            direction=direction,
            duration_seconds=duration_seconds,
            notes=notes,
            occurred_at=at,
            now=now,
        )
    )
    with transaction.atomic():
        return _record(
            _new(lead, actor, Kind.CALL, now, outcome=outcome, direction=direction,
                 duration_seconds=duration_seconds, body=notes, occurred_at=at, to_address=lead.phone),
            actor=actor,
        )  # fmt: skip


def log_meeting(
    *, actor: User, lead_id: int, outcome: str, notes: str = "", occurred_at: datetime | None = None
) -> Interaction:
    """Log a meeting (outcome held/no_show/rescheduled)."""
    lead = _visible_lead(actor, lead_id)
    now = clock.now()
    at = occurred_at or now
    notes = notes.strip()
    _raise_if(domain.validate_meeting(outcome=outcome, notes=notes, occurred_at=at, now=now))
    with transaction.atomic():
        return _record(_new(lead, actor, Kind.MEETING, now, outcome=outcome, body=notes, occurred_at=at), actor=actor)


def _sender_domain() -> str:
    address = parseaddr(settings.DEFAULT_FROM_EMAIL)[1]
    return address.rpartition("@")[2] or "localhost"


def send_email(*, actor: User, lead_id: int, subject: str, body: str) -> Interaction:
    """Email the lead from the rep and log it. The message is queued; the ``interactions.deliver_email`` job,
    deferred in this transaction, sends it through the configured mailer and marks it sent or failed."""
    lead = _visible_lead(actor, lead_id)
    subject, body = subject.strip(), body.strip()
    _raise_if(domain.validate_email(to=lead.email, subject=subject, body=body))
    now = clock.now()
    with transaction.atomic():
        interaction = _new(
            lead, actor, Kind.EMAIL, now, subject=subject, body=body, occurred_at=now, to_address=lead.email,
            message_id=make_msgid(idstring="embudo", domain=_sender_domain()), delivery_status=DeliveryStatus.QUEUED,
        )  # fmt: skip
        _record(interaction, actor=actor)
        procrastinate_app.configure_task(DELIVER_TASK).defer(interaction_id=interaction.pk)
        return interaction


def log_email(
    *,
    actor: User,
    lead_id: int,
    subject: str,
    body: str,
    direction: str = Direction.OUTBOUND,
    occurred_at: datetime | None = None,
) -> Interaction:
    """Log an email exchanged outside Embudo (from the rep's own mailbox, or the lead's reply): nothing is sent."""
    lead = _visible_lead(actor, lead_id)
    now = clock.now()
    at = occurred_at or now
    subject, body = subject.strip(), body.strip()
    problems = domain.validate_email(to=lead.email or "-", subject=subject, body=body)
    problems += domain.validate_occurred_at(at, now)
    if direction not in domain.DIRECTIONS:
        problems.append(domain.Problem("direction", "invalid_choice", {"value": direction}))
    _raise_if(problems)
    with transaction.atomic():
        return _record(
            _new(lead, actor, Kind.EMAIL, now, subject=subject, body=body, occurred_at=at, direction=direction,
                 to_address=lead.email),
            actor=actor,
        )  # fmt: skip


def log_whatsapp(*, actor: User, lead_id: int, text: str, direction: str = Direction.OUTBOUND) -> Interaction:
    """Log a WhatsApp message sent to the lead (through the click-to-chat link) or received from them."""
    lead = _visible_lead(actor, lead_id)
    text = text.strip()
    _raise_if(domain.validate_whatsapp(phone=lead.phone, text=text, direction=direction))
    now = clock.now()
    with transaction.atomic():
        return _record(
            _new(lead, actor, Kind.WHATSAPP, now, body=text, occurred_at=now, direction=direction,
                 to_address=lead.phone),
            actor=actor,
        )  # fmt: skip


# --- email delivery (the worker) -------------------------------------------------------------------------


def _email_message(interaction: Interaction) -> EmailMessage:
    rep = interaction.actor
    sender_name, sender_address = parseaddr(settings.DEFAULT_FROM_EMAIL)
    from_name = rep.display_name if rep is not None else sender_name
    lead = interaction.lead
    return EmailMessage(
        subject=interaction.subject,
        body=interaction.body,
        from_email=formataddr((from_name, sender_address)),
        to=[formataddr((lead.full_name, interaction.to_address)) if lead.full_name else interaction.to_address],
        reply_to=[formataddr((rep.display_name, rep.email))] if rep is not None and rep.email else None,
        headers={"Message-ID": interaction.message_id},
    )


def _error_text(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}"[:500]


def _fail(interaction: Interaction, error: str) -> str:
    """sending → failed (once: only the worker holding the email, or the sweeper, gets here) + timeline line."""
    logger.warning("Email %s to lead %s failed: %s", interaction.pk, interaction.lead_id, error)
    with transaction.atomic():
        failed = Interaction.objects.filter(pk=interaction.pk, delivery_status=DeliveryStatus.SENDING)
        if failed.update(delivery_status=DeliveryStatus.FAILED, delivery_error=error[:500]):
            events.publish(
                EmailFailed(lead_id=interaction.lead_id, actor_id=interaction.actor_id, interaction_id=interaction.pk,
                            subject=interaction.subject, to=interaction.to_address, error=error[:500])
            )  # fmt: skip
    return DeliveryStatus.FAILED


def deliver_email(*, interaction_id: int, final_attempt: bool = True) -> str:
    """Send a queued email through the configured mailer (at most once) and return its delivery status.

    Idempotent: an email that is not queued (sent, failed, being sent by another worker) is left alone.
    When the mail server cannot be reached, nothing was sent: the email goes back to "queued" and
    ``EmailNotSentYet`` is raised so the job retries, unless this is the ``final_attempt`` (→ failed).
    """
    claimed = Interaction.objects.filter(
        pk=interaction_id, kind=Kind.EMAIL, delivery_status=DeliveryStatus.QUEUED
    ).update(delivery_status=DeliveryStatus.SENDING, claimed_at=clock.now())
    if not claimed:
        current = Interaction.objects.filter(pk=interaction_id).values_list("delivery_status", flat=True).first()
        return current or ""
    interaction = Interaction.objects.select_related("actor", "lead").get(pk=interaction_id)
    message = _email_message(interaction)
    connection = get_connection()
    try:
        connection.open()
    except (OSError, smtplib.SMTPException) as exc:
        if final_attempt:
            return _fail(interaction, _error_text(exc))
        Interaction.objects.filter(pk=interaction_id, delivery_status=DeliveryStatus.SENDING).update(
            delivery_status=DeliveryStatus.QUEUED, delivery_error=_error_text(exc)
        )
        raise EmailNotSentYet(_error_text(exc)) from exc
    try:
        connection.send_messages([message])
    except (OSError, smtplib.SMTPException, AnymailError) as exc:
        return _fail(interaction, _error_text(exc))
    finally:
        connection.close()
    status = getattr(message, "anymail_status", None)
    provider_id = str(getattr(status, "message_id", "") or "")[:255]
    Interaction.objects.filter(pk=interaction_id).update(
        delivery_status=DeliveryStatus.SENT, delivery_error="", sent_at=clock.now(), provider_message_id=provider_id
    )
    return DeliveryStatus.SENT


def fail_interrupted_emails(*, older_than: timedelta = INTERRUPTED_AFTER) -> int:
    """Mark failed the emails a worker took and never finished (it died mid-send). Whether the lead got the
    message is unknown, so it is not sent again by itself: the rep sees the failure and decides."""
    cutoff = clock.now() - older_than
    stuck = list(
        Interaction.objects.filter(delivery_status=DeliveryStatus.SENDING, claimed_at__lt=cutoff).select_related(
            "actor"
        )[:500]
    )
    for interaction in stuck:
        _fail(interaction, _("The worker stopped while sending: check with the lead before sending it again."))
    return len(stuck)


def retry_email(*, actor: User, interaction_id: int) -> Interaction:
    """Queue a failed email again (the rep fixed the address or the mail server is back)."""
    interaction = (
        Interaction.objects.filter(pk=interaction_id, kind=Kind.EMAIL, lead__in=leads_selectors.leads_visible_to(actor))
        .select_related("lead")
        .first()
    )
    if interaction is None:
        raise LeadNotFound(_("Lead not found."))
    if interaction.delivery_status != DeliveryStatus.FAILED:
        raise InvalidInteraction(
            _("Only a failed email can be sent again."), fields={"delivery_status": [_("Not failed.")]}
        )
    with transaction.atomic():
        Interaction.objects.filter(pk=interaction.pk, delivery_status=DeliveryStatus.FAILED).update(
            delivery_status=DeliveryStatus.QUEUED,
            delivery_error="",
            to_address=interaction.lead.email or interaction.to_address,
        )
        procrastinate_app.configure_task(DELIVER_TASK).defer(interaction_id=interaction.pk)
    interaction.refresh_from_db()
    return interaction
