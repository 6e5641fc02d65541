"""Inbound email channel through django-anymail's inbound webhooks (any supported ESP).

Anymail's per-ESP views (``/hooks/anymail/<esp>/inbound/``) verify the request (basic auth
``WEBHOOK_SECRET``, plus the ESP's own signature where it has one), normalize the message and announce it
with its ``anymail.signals.inbound`` signal. That signal is the library's only extension point, so this
module connects ONE receiver to it despite our "no Django signals" rule: it is the boundary with a
third-party library, not business logic. The receiver does what every channel does: store the raw
submission (deduplicated on the Message-ID) and defer its processing, in one transaction.

Not every email is a person asking: bounces, auto-replies, newsletters, spam and mail from our own users are
stored like any other (the reconciliation counts them) but quarantined with the reason, decided at receipt
from the headers kept on the submission (``quarantine_reason``) and fixed in its context, so a replay
decides the same. The person is the Reply-To when there is one (a website form relayed by
``wordpress@site`` replies to the customer), and an HTML-only email keeps its text (``html_to_text``).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from email.utils import getaddresses, parseaddr
from html.parser import HTMLParser
from typing import Any

from anymail.signals import AnymailInboundEvent, inbound  # type: ignore[import-untyped]
from django.db import transaction
from procrastinate.contrib.django import app as procrastinate_app

from embudo.accounts import selectors as accounts_selectors
from embudo.capture import mapping, services, whatsapp
from embudo.capture.models import Channel

# The stored raw text (the timeline shows the mapper's short excerpt of it).
MAX_TEXT_LENGTH = 100_000
# HTML parsed into text at most (a larger body is cut first: its text is cut at MAX_TEXT_LENGTH anyway).
MAX_HTML_LENGTH = 1_000_000
MAX_HEADER_LENGTH = 2_000
RECEIVER_UID = "embudo.capture.inbound_email.receive_inbound_email"

# Headers kept on the submission: who and what, and every one the quarantine decision reads.
KEPT_HEADERS = (
    "From", "Reply-To", "To", "Cc", "Subject", "Date", "Message-ID", "In-Reply-To", "Content-Type",
    "Auto-Submitted", "Precedence", "X-Autoreply", "X-Autorespond", "List-Id", "List-Unsubscribe",
    "X-Failed-Recipients", "X-Spam-Status", "X-Spam-Flag",
)  # fmt: skip

# Quarantine reasons (Submission.reason) of emails that are not a person asking.
BOUNCE = "bounce"
AUTO_REPLY = "auto_reply"
SPAM = "spam"
BULK = "bulk"
INTERNAL_SENDER = "internal_sender"
QUARANTINE_REASONS = (BOUNCE, AUTO_REPLY, SPAM, BULK, INTERNAL_SENDER)

DAEMON_LOCAL_PARTS = frozenset({"mailer-daemon", "postmaster"})
# Senders that relay for someone else (website forms, notification systems): their name is not the person's.
RELAY_LOCAL_PART = re.compile(
    r"^(?:no-?reply|do-?not-?reply|donotreply|wordpress|www-data|apache|nginx|webmaster|website|web|"
    r"forms?|notifications?|notify|mailer|system|bounces?)(?:[+._-].*)?$",
    re.IGNORECASE,
)


# --- pure decisions (no database) -----------------------------------------------------------------------------


def _address(value: str) -> tuple[str, str]:
    """The first (display name, address) of an address header ("García, Ana" <a@b>, c@d → the first)."""
    pairs = [(n, a) for n, a in getaddresses([value or ""]) if a] or [parseaddr(value or "")]
    name, address = pairs[0]
    return " ".join(name.split()), address.strip()


def _token(value: str) -> str:
    """The first word of a header value, lowercased: ``auto-replied; x=y`` → ``auto-replied``, ``Yes, score=7``
    → ``yes``."""
    return re.split(r"[\s;,(]", (value or "").strip(), maxsplit=1)[0].lower()


def _is_yes(value: str) -> bool:
    return _token(value) not in ("", "no", "false", "0")


def _list_id(value: str) -> str:
    """``Sales <ventas.empresa.com>`` → ``ventas.empresa.com``."""
    match = re.search(r"<([^>]*)>", value or "")
    return (match.group(1) if match else value or "").strip().lower()


def _is_own_list(headers: Mapping[str, str]) -> bool:
    """A list that is one of our own receiving addresses (``ventas@`` as a Google Group adds List-Id and
    Precedence: list to every customer's email): its list headers say nothing about the sender."""
    list_id = _list_id(headers.get("List-Id", ""))
    if not list_id:
        return False
    recipients = [headers.get("To", ""), headers.get("Cc", ""), headers.get("envelope_recipient", "")]
    addresses = {address.lower() for _name, address in getaddresses(recipients) if "@" in address}
    return any(list_id in (address, address.replace("@", ".")) for address in addresses)


def quarantine_reason(headers: Mapping[str, str], *, spam_detected: bool = False) -> str:
    """Why an email is not a person asking ("" when it is), from its kept headers (RFC 3834 and RFC 3464
    signals, list headers) and the ESP's spam verdict. Mail from our own users is decided apart (a query)."""
    from_address = _address(headers.get("From", ""))[1].lower()
    content_type = headers.get("Content-Type", "").lower()
    if (
        from_address.partition("@")[0] in DAEMON_LOCAL_PARTS
        or headers.get("X-Failed-Recipients", "").strip()
        or (content_type.startswith("multipart/report") and "delivery-status" in content_type)
    ):
        return BOUNCE
    precedence = _token(headers.get("Precedence", ""))
    auto_submitted = _token(headers.get("Auto-Submitted", ""))
    if (
        (auto_submitted and auto_submitted != "no")
        or _is_yes(headers.get("X-Autoreply", ""))
        or _is_yes(headers.get("X-Autorespond", ""))
        or precedence == "auto_reply"
    ):
        return AUTO_REPLY
    if "envelope_sender" in headers and not _address(headers["envelope_sender"])[1]:
        return BOUNCE  # the null sender <> is reserved for delivery reports
    if spam_detected or _is_yes(headers.get("X-Spam-Flag", "")) or _token(headers.get("X-Spam-Status", "")) == "yes":
        return SPAM
    if not _is_own_list(headers) and (
        precedence in ("bulk", "junk", "list")
        or headers.get("List-Id", "").strip()
        or headers.get("List-Unsubscribe", "").strip()
    ):
        return BULK
    return ""


def is_relay_address(address: str) -> bool:
    """``wordpress@site``, ``no-reply@…``: an address that sends for someone else."""
    return bool(RELAY_LOCAL_PART.match(address.partition("@")[0]))


def contact_of(payload: Mapping[str, Any]) -> tuple[str, str]:
    """The person an email is about, (address, display name): the Reply-To when it names someone other than the
    sender (a relayed web form), else the sender. The sender's name only stands in for a nameless Reply-To
    when the sender is not a relay."""
    from_email = str(payload.get("from_email", "") or "").strip()
    from_name = str(payload.get("from_name", "") or "").strip()
    reply_email = str(payload.get("reply_to_email", "") or "").strip()
    reply_name = str(payload.get("reply_to_name", "") or "").strip()
    own = {str(a).lower() for a in payload.get("to", []) or []}
    if not reply_email or reply_email.lower() == from_email.lower() or reply_email.lower() in own:
        return from_email, from_name
    return reply_email, reply_name or ("" if is_relay_address(from_email) else from_name)


class _TextExtractor(HTMLParser):
    """Collects the visible text of an HTML document: a line break between block elements (a blank line around
    paragraphs, headings, lists, tables and quotes), one per ``<br>``, list items as ``- item``."""

    SKIPPED = frozenset({"script", "style", "head", "title", "noscript", "template", "svg"})
    PARAGRAPHS = frozenset({"p", "h1", "h2", "h3", "h4", "h5", "h6", "ul", "ol", "dl", "table", "blockquote", "pre",
                            "hr"})  # fmt: skip
    LINES = frozenset({"div", "li", "tr", "dt", "dd", "section", "article", "header", "footer", "address", "form",
                       "fieldset", "center"})  # fmt: skip

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.skipping = 0
        self.pending = 0  # line breaks owed before the next text (1: new line, 2: blank line)
        self.prefix = ""

    def _boundary(self, tag: str) -> None:
        if tag in self.PARAGRAPHS:
            self.pending = 2
        elif tag in self.LINES:
            self.pending = max(self.pending, 1)
        elif tag in ("td", "th"):
            self.parts.append(" ")

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in self.SKIPPED:
            self.skipping += 1
        elif tag == "br":
            self.parts.append("\n")
        else:
            self._boundary(tag)
            if tag == "li":
                self.prefix = "- "

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "br":
            self.parts.append("\n")
        else:
            self._boundary(tag)

    def handle_endtag(self, tag: str) -> None:
        if tag in self.SKIPPED:
            self.skipping = max(0, self.skipping - 1)
        else:
            self._boundary(tag)

    def handle_data(self, data: str) -> None:
        if self.skipping or (self.pending and not data.strip()):
            return
        if self.pending and self.parts:
            self.parts.append("\n" * self.pending)
        self.parts.append(self.prefix + (data.lstrip() if self.pending or self.prefix else data))
        self.pending, self.prefix = 0, ""


def html_to_text(html: str) -> str:
    """The readable text of an HTML body: no tags, scripts or styles, entities unescaped, whitespace collapsed
    (one blank line at most between paragraphs)."""
    parser = _TextExtractor()
    parser.feed(html[:MAX_HTML_LENGTH])
    parser.close()
    lines = [" ".join(line.split()) for line in "".join(parser.parts).splitlines()]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()


# --- the receiver ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class InboundEmail:
    """What is stored of one inbound email."""

    payload: dict[str, Any]
    headers: dict[str, str]
    external_id: str


def _header(message: Any, name: str) -> str:
    values = message.get_all(name, []) or []
    return ", ".join(" ".join(str(v).split()) for v in values)[:MAX_HEADER_LENGTH]


def email_from(event: AnymailInboundEvent, esp_name: str) -> InboundEmail:
    """The stored payload and headers of an inbound email, and its external id (Message-ID, else the ESP's)."""
    message = event.message
    if message is None:
        return InboundEmail(payload={"esp": esp_name}, headers={"esp": esp_name}, external_id=str(event.event_id or ""))
    headers = {name: value for name in KEPT_HEADERS if (value := _header(message, name))}
    headers["esp"] = esp_name
    if message.envelope_sender is not None:
        headers["envelope_sender"] = str(message.envelope_sender)
    if message.envelope_recipient:
        headers["envelope_recipient"] = str(message.envelope_recipient)
    name, address = _address(headers.get("From", ""))
    if not address and message.envelope_sender:
        address = str(message.envelope_sender)
    reply_name, reply_address = _address(headers.get("Reply-To", ""))
    text, text_source = str(message.text or ""), "text"
    if not text.strip() and message.stripped_text:
        text, text_source = str(message.stripped_text), "stripped_text"
    if not text.strip() and message.html:
        text, text_source = html_to_text(str(message.html)), "html"
    payload = {
        "from_email": address,
        "from_name": name,
        "reply_to_email": reply_address,
        "reply_to_name": reply_name,
        "subject": headers.get("Subject", "")[:500],
        "text": text[:MAX_TEXT_LENGTH],
        "text_source": text_source if text.strip() else "",
        "to": [addr for _name, addr in getaddresses([headers.get("To", "")]) if addr],
        "cc": [addr for _name, addr in getaddresses([headers.get("Cc", "")]) if addr],
        "date": headers.get("Date", ""),
        "esp": esp_name,
        "esp_event_id": str(event.event_id or ""),
        "spam_detected": bool(message.spam_detected),
    }
    message_id = headers.get("Message-ID", "").strip() or str(event.event_id or "")
    return InboundEmail(payload=payload, headers=headers, external_id=message_id[:300])


def is_internal(payload: Mapping[str, Any]) -> bool:
    """Sent by (or on behalf of) one of our active users: a rep's own email is not a lead."""
    addresses = {contact_of(payload)[0].lower(), str(payload.get("from_email", "")).lower()} - {""}
    for address in addresses:
        user = accounts_selectors.get_user_by_email(address)
        if user is not None and user.is_active:
            return True
    return False


def receive_inbound_email(sender: Any, event: AnymailInboundEvent, esp_name: str, **kwargs: Any) -> None:
    """Anymail receiver: store the email as a submission (once per Message-ID), quarantined when it is not a
    person asking, and defer processing."""
    email = email_from(event, esp_name)
    reason = quarantine_reason(email.headers, spam_detected=bool(email.payload.get("spam_detected")))
    if not reason and is_internal(email.payload):
        reason = INTERNAL_SENDER
    with transaction.atomic():
        submission, is_new = services.receive_submission(
            channel=Channel.EMAIL.value,
            payload=email.payload,
            meta=services.SubmissionMeta(headers=email.headers),
            context=services.ProcessingContext(quarantine_reason=reason),
            external_id=email.external_id,
        )
        if is_new:
            procrastinate_app.configure_task("capture.process_submission").defer(submission_id=submission.pk)


def connect() -> None:
    """Connect the receiver once (idempotent thanks to ``dispatch_uid``); called from CaptureConfig.ready()."""
    inbound.connect(receive_inbound_email, dispatch_uid=RECEIVER_UID, weak=False)


def split_sender_name(name: str) -> tuple[str, str]:
    """ "Ana García López" → ("Ana", "García López"); "García, Ana" → ("Ana", "García")."""
    name = " ".join(name.replace('"', " ").split())
    if "," in name:
        last, _sep, first = name.partition(",")
        return whatsapp.split_profile_name(first)[0], " ".join(whatsapp.split_profile_name(last))
    return whatsapp.split_profile_name(name)


@mapping.register(Channel.EMAIL.value)
def map_email(payload: Mapping[str, Any]) -> mapping.LeadInput:
    """The person (``contact_of``: Reply-To or sender) → email and names (symbols dropped); subject (first line)
    and text → message."""
    email, name = contact_of(payload)
    first, last = split_sender_name(name)
    if "@" in first:  # some clients repeat the address as the display name
        first, last = "", ""
    fields: dict[str, object] = {k: v for k, v in (("email", email), ("first_name", first),
                                                   ("last_name", last)) if v}  # fmt: skip
    subject = str(payload.get("subject", "")).strip()
    text = str(payload.get("text", "")).strip()
    message = "\n\n".join(part for part in (subject, text) if part)
    return mapping.LeadInput(fields=fields, message=message[:2000])
