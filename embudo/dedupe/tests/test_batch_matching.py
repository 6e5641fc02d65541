"""The fuzzy lookup of a batch (one candidate query for every incoming record) answers as one lookup per record."""

from __future__ import annotations

import random
from typing import Any

import pytest

from embudo.core import clock
from embudo.dedupe import services
from embudo.leads.models import Lead

pytestmark = pytest.mark.django_db

FIRST = ["José", "Pepe", "María", "Mari", "Ana", "Juan", "Carmen", "Luis", "Lucía", "John"]
LAST = ["Pérez Martín", "Perez", "García", "Garcia López", "Ruiz", "Smith", "Fernández", "Torres"]
CITIES = ["Sevilla", "Madrid", "Lima", "Bogotá", ""]
COMPANIES = ["Acme S.L.", "ACME", "Globex", "Initech", ""]


def _person(rng: random.Random, n: int) -> dict[str, str]:
    return {
        "first_name": rng.choice(FIRST), "last_name": rng.choice(LAST), "city": rng.choice(CITIES),
        "company_name": rng.choice(COMPANIES), "email": f"p{n}.{rng.randrange(3)}@example{rng.randrange(4)}.com",
        "phone": rng.choice(["", f"+3460011{rng.randrange(100):02d}22"]),
    }  # fmt: skip


def test_one_query_for_the_batch_answers_as_one_lookup_per_record() -> None:
    rng = random.Random(7)
    now = clock.now()
    for n in range(80):
        lead = Lead.objects.create(created_at=now, updated_at=now, **_person(rng, n))
        services.index_lead(lead=lead, new=True)
    jose = Lead.objects.create(created_at=now, updated_at=now, email="jose.perez@acme.es", first_name="José",
                               last_name="Pérez Martín", company_name="Acme S.L.", city="Sevilla",
                               street_address="Calle Feria 12", postal_code="41003", phone="+34600111222")  # fmt: skip
    services.index_lead(lead=jose, new=True)
    incoming: list[dict[str, Any]] = [_person(rng, 1000 + n) for n in range(60)]
    incoming += [
        {"email": "pepe.perez@gmail.com", "first_name": "Pepe", "last_name": "Perez Martin", "company_name": "ACME",
         "city": "Sevilla", "street_address": "C/ Feria 12", "postal_code": "41003", "phone": "+34955123456"},
        {"first_name": "Zoe", "last_name": "Quincy"},
        {"email": "nobody@nowhere.example"},
    ]  # fmt: skip

    together = services.find_fuzzy_matches(incoming)
    one_by_one = [services.find_fuzzy_match(values) for values in incoming]

    assert together == one_by_one
    found = [m for m in together if m is not None]
    assert len(found) >= 10 and any(m.auto_merge for m in found)  # the data does exercise matches
    assert together[-2:] == [None, None]
