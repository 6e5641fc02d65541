"""Where a lead came from: UTM parameters, referrer and landing page (pure)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import parse_qs, urlsplit

UTM_KEYS = ("source", "medium", "campaign", "term", "content")
MAX_UTM = 200
MAX_URL = 2000


@dataclass(frozen=True)
class Touch:
    channel: str
    source: str = ""
    medium: str = ""
    campaign: str = ""
    term: str = ""
    content: str = ""
    referrer: str = ""
    landing_page: str = ""


def _utm_from_url(url: str) -> dict[str, str]:
    try:
        query = parse_qs(urlsplit(url).query)
    except ValueError:
        return {}
    return {key: query[f"utm_{key}"][0] for key in UTM_KEYS if query.get(f"utm_{key}")}


def _host(url: str) -> str:
    """The URL's host, or "" for text that is no URL (a referrer is whatever the client sent: a bracket
    that opens an IPv6 host and never closes makes ``urlsplit`` raise)."""
    try:
        return urlsplit(url).hostname or ""
    except ValueError:
        return ""


def touch_from(channel: str, payload: Mapping[str, object], *, referrer: str = "", landing_page: str = "") -> Touch:
    """UTM values given explicitly (``utm_source`` …) win over those in the landing page's query string.

    Without UTM, the referrer's host is the source (medium ``referral``); a channel with neither is its
    own source (``whatsapp``, ``email`` …).
    """
    landing_page = str(payload.get("landing_page") or landing_page or "")[:MAX_URL]
    referrer = str(payload.get("referrer") or referrer or "")[:MAX_URL]
    utm = _utm_from_url(landing_page)
    for key in UTM_KEYS:
        value = payload.get(f"utm_{key}")
        if isinstance(value, str) and value.strip():
            utm[key] = value.strip()
    utm = {k: v[:MAX_UTM] for k, v in utm.items()}
    if not utm.get("source") and referrer:
        host = _host(referrer)
        if host:
            utm.setdefault("source", host.removeprefix("www."))
            utm.setdefault("medium", "referral")
    if not utm.get("source"):
        utm["source"] = channel
    return Touch(channel=channel, referrer=referrer, landing_page=landing_page, **utm)


def whatsapp_ad_utm(message: Mapping[str, object]) -> dict[str, str]:
    """UTM values of a WhatsApp message that came from a Click-to-WhatsApp ad or post (its ``referral``):
    Meta's ads run on Facebook and Instagram, so the source is Meta, the medium paid (ad) or organic (post)
    social, the campaign the ad's headline, the content its id; the ad's URL is the referrer."""
    referral = message.get("referral")
    if not isinstance(referral, dict) or not referral:
        return {}
    kind = str(referral.get("source_type", ""))
    values = {
        "utm_source": "meta",
        "utm_medium": "paid_social" if kind == "ad" else "social",
        "utm_campaign": str(referral.get("headline", ""))[:MAX_UTM],
        "utm_content": str(referral.get("source_id", ""))[:MAX_UTM],
        "referrer": str(referral.get("source_url", ""))[:MAX_URL],
    }
    return {k: v for k, v in values.items() if v}
