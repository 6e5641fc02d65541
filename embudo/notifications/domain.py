"""Pure rules of notifications: kinds and their default channels, webhook payloads and signatures.

No Django here (import-linter): values in, values out.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

# Kinds other contexts send. Unknown kinds are accepted: in-app on, email off.
LEAD_ASSIGNED = "lead_assigned"
LEAD_REASSIGNED = "lead_reassigned"
LEAD_HOT = "lead_hot"
SLA_REMINDER = "sla_reminder"
SLA_BREACHED = "sla_breached"
ROUTING_ALERT = "routing_no_eligible"
TASK_DUE = "task_due"
KINDS: tuple[str, ...] = (
    LEAD_ASSIGNED,
    LEAD_REASSIGNED,
    LEAD_HOT,
    SLA_REMINDER,
    SLA_BREACHED,
    ROUTING_ALERT,
    TASK_DUE,
)
EMAIL_BY_DEFAULT = frozenset({LEAD_ASSIGNED, SLA_BREACHED, SLA_REMINDER, TASK_DUE})

SIGNATURE_HEADER = "X-Embudo-Signature"
TIMESTAMP_HEADER = "X-Embudo-Timestamp"
MAX_TITLE = 200
MAX_URL = 500


@dataclass(frozen=True)
class Channels:
    in_app: bool
    email: bool

    @property
    def any(self) -> bool:
        return self.in_app or self.email


def default_channels(kind: str) -> Channels:
    return Channels(in_app=True, email=kind in EMAIL_BY_DEFAULT)


def channels_for(kind: str, saved: Channels | None) -> Channels:
    """The user's saved choice for ``kind`` wins over the default."""
    return saved if saved is not None else default_channels(kind)


def webhook_wants(kinds: Sequence[str], kind: str) -> bool:
    """A webhook with no kinds listed receives every kind."""
    return not kinds or kind in kinds


def absolute_url(base_url: str, url: str) -> str:
    if not url or url.startswith(("http://", "https://")):
        return url
    return base_url.rstrip("/") + "/" + url.lstrip("/")


def webhook_payload(
    *, kind: str, title: str, body: str, lead_id: int | None, url: str, team_id: int | None, sent_at: str
) -> dict[str, Any]:
    """Slack- and Teams-compatible (both read ``text``; Slack renders ``<url|label>`` links), plus the
    structured facts under ``embudo`` for anything else."""
    text = f"*{title}*"
    if body:
        text += f"\n{body}"
    if url:
        text += f"\n<{url}|{url}>"
    return {
        "text": text,
        "embudo": {
            "kind": kind,
            "title": title,
            "body": body,
            "lead_id": lead_id,
            "url": url,
            "team_id": team_id,
            "sent_at": sent_at,
        },
    }


def signature(secret: str, timestamp: str, body: bytes) -> str:
    """``sha256=<hex>`` of HMAC-SHA256(secret, "<timestamp>." + body): receivers check it and the
    timestamp's age (replays)."""
    mac = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256)
    return "sha256=" + mac.hexdigest()


def verify(secret: str, timestamp: str, body: bytes, header: str) -> bool:
    return hmac.compare_digest(signature(secret, timestamp, body), header)


def signed_headers(secret: str, timestamp: str, body: bytes) -> Mapping[str, str]:
    return {
        "Content-Type": "application/json",
        "User-Agent": "Embudo-Webhook/1",
        TIMESTAMP_HEADER: timestamp,
        SIGNATURE_HEADER: signature(secret, timestamp, body),
    }
