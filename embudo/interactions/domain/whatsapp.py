"""WhatsApp click-to-chat links (https://faq.whatsapp.com/5913398998672934): ``wa.me/<digits>?text=…``."""

from __future__ import annotations

import re
from urllib.parse import quote

# E.164: "+", a country code that does not start with 0, at most 15 digits in all.
_E164 = re.compile(r"\+[1-9][0-9]{6,14}")


def is_e164(phone: str) -> bool:
    return bool(_E164.fullmatch(phone or ""))


def click_to_chat_url(phone_e164: str, text: str = "") -> str:
    """The wa.me link that opens a chat with ``phone_e164``, the message ``text`` prefilled (if any).

    wa.me wants the international number as digits only (no "+", spaces or dashes); the text is
    percent-encoded as UTF-8, every reserved character included (``&``, ``#``, ``?``, ``+``, newlines).
    """
    if not is_e164(phone_e164):
        raise ValueError(f"Not an E.164 phone number: {phone_e164!r}")
    url = f"https://wa.me/{phone_e164[1:]}"
    if text:
        url += "?text=" + quote(text, safe="")
    return url
