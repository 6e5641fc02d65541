"""Pure rules of the interactions context (plain Python, no Django): what a valid call, meeting, email or
WhatsApp message is, durations as text, and WhatsApp click-to-chat links."""

from embudo.interactions.domain.rules import (
    CALL_OUTCOMES,
    DIRECTIONS,
    KINDS,
    MAX_BODY,
    MAX_DURATION_SECONDS,
    MAX_NOTES,
    MAX_SUBJECT,
    MAX_WHATSAPP_TEXT,
    MEETING_OUTCOMES,
    Problem,
    excerpt,
    format_duration,
    parse_duration,
    validate_call,
    validate_email,
    validate_meeting,
    validate_occurred_at,
    validate_whatsapp,
)
from embudo.interactions.domain.whatsapp import click_to_chat_url, is_e164

__all__ = [
    "CALL_OUTCOMES",
    "DIRECTIONS",
    "KINDS",
    "MAX_BODY",
    "MAX_DURATION_SECONDS",
    "MAX_NOTES",
    "MAX_SUBJECT",
    "MAX_WHATSAPP_TEXT",
    "MEETING_OUTCOMES",
    "Problem",
    "click_to_chat_url",
    "excerpt",
    "format_duration",
    "is_e164",
    "parse_duration",
    "validate_call",
    "validate_email",
    "validate_meeting",
    "validate_occurred_at",
    "validate_whatsapp",
]
