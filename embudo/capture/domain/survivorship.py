"""Survivorship: which value a lead keeps when a new submission brings a different one.

Policy (``SURVIVORSHIP``):

- **Never overwrite a known value with an empty one.** A submission that leaves a field blank
  says nothing about it (a short form, a WhatsApp message, a CSV without that column).
- **Identity fields keep the first known value** (``first_name``, ``last_name``, ``email``,
  ``whatsapp_id``): they are how people and other channels recognise the lead, and a later form
  typed by someone else (an assistant, a colleague forwarding) should not rename the person or move
  the match key. They are filled when empty; a different later value is left to a human (the
  submission itself keeps the raw payload, and the timeline shows it).
- **Contact and company fields take the newest non-empty value** (``phone``, ``job_title``,
  ``company_name``, ``company_domain``, address fields, ``country``, ``language``): people change
  jobs, numbers and addresses, and the latest submission is the best guess of the present.
- **The email's kind follows the email** (``email_domain_kind``: free, business, disposable): it describes the
  address the lead keeps, so it is kept with it.
- **Inferred values only fill gaps.** Enrichment guesses a country and time zone from a phone prefix and a
  language from the browser; such a guess fills an empty field but never replaces a value the lead has
  (a Mexican lead writing from a Spanish number is still in Mexico).
- Fields not listed follow the contact rule.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from typing import Literal

Rule = Literal["first_known", "latest"]

SURVIVORSHIP: Mapping[str, Rule] = {
    "first_name": "first_known",
    "last_name": "first_known",
    "email": "first_known",
    "whatsapp_id": "first_known",
    "phone": "latest",
    "job_title": "latest",
    "company_name": "latest",
    "company_domain": "latest",
    "street_address": "latest",
    "address_line2": "latest",
    "city": "latest",
    "region": "latest",
    "postal_code": "latest",
    "country": "latest",
    "language": "latest",
    "email_domain_kind": "first_known",
}
DEFAULT_RULE: Rule = "latest"


def merge_values(
    existing: Mapping[str, str], incoming: Mapping[str, str], *, inferred: Collection[str] = ()
) -> dict[str, str]:
    """The fields of a lead to change, ``{field: new value}``, when ``incoming`` arrives.

    Both mappings hold normalized values; ``inferred`` names the incoming values that enrichment guessed
    (they fill empty fields only). The result never holds an empty value and never a value equal to the
    existing one.
    """
    changes: dict[str, str] = {}
    for name, value in incoming.items():
        if not value:
            continue
        current = existing.get(name, "")
        if value == current:
            continue
        if current and (name in inferred or SURVIVORSHIP.get(name, DEFAULT_RULE) == "first_known"):
            continue
        changes[name] = value
    return changes
