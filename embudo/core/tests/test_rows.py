"""``core.rows`` builds the same instances as the ORM from plain SQL rows."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import connection
from django.db.models import Model
from django.utils import timezone

from embudo.core import rows
from embudo.leads.models import Company, Lead
from embudo.leads.tests.factories import CompanyFactory, LeadFactory
from embudo.routing.models import Pool
from embudo.sla.models import SlaPolicy

pytestmark = pytest.mark.django_db


def _values(instance: Model) -> dict[str, Any]:
    return {f.attname: getattr(instance, f.attname) for f in type(instance)._meta.concrete_fields}


def _read(model: type[Model], alias: str, table: str, pk: int) -> Any:
    plan = rows.row_plan(model, alias)
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {plan.columns} FROM {table} {alias} WHERE {alias}.id = %s", [pk])  # noqa: S608
        row = cursor.fetchone()
    return rows.instance_from_row(plan, row)


def test_a_lead_read_from_a_row_equals_the_orms_json_generated_and_dates_included() -> None:
    company = CompanyFactory.create(domain="acme.example", name="Acme")
    lead = LeadFactory.create(
        company=company,
        custom_fields={"plan": "pro", "seats": 12, "tags": ["a", "ñ"], "nested": {"x": None}},
        phone="+34600111222",
    )
    from_row = _read(Lead, "l", "leads_lead", lead.pk)
    from_orm = Lead.objects.get(pk=lead.pk)
    assert _values(from_row) == _values(from_orm)
    assert from_row.custom_fields["tags"] == ["a", "ñ"]  # decoded, not the JSON text
    assert from_row.is_open is True and from_row.search_text == from_orm.search_text
    assert from_row._state.adding is False and from_row._state.db == "default"
    from_row.first_name = "Changed"
    from_row.save(update_fields=["first_name"])  # a loaded instance saves as an UPDATE
    assert Lead.objects.filter(pk=lead.pk, first_name="Changed").exists()


def test_a_row_of_two_tables_is_read_at_an_offset() -> None:
    company = CompanyFactory.create(domain="offset.example", name="Offset Ltd")
    lead = LeadFactory.create(company=company)
    lead_plan, company_plan = rows.row_plan(Lead, "l"), rows.row_plan(Company, "c")
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT {lead_plan.columns}, {company_plan.columns} FROM leads_lead l "  # noqa: S608
            "JOIN leads_company c ON c.id = l.company_id WHERE l.id = %s",
            [lead.pk],
        )
        row = cursor.fetchone()
    assert _values(rows.instance_from_row(company_plan, row, lead_plan.width)) == _values(
        Company.objects.get(pk=company.pk)
    )


def test_pool_and_policy_rows_decode_their_json_like_the_orm() -> None:
    now = timezone.now()
    pool = Pool.objects.create(
        name="Rows", rr_state={"3": -0.5, "4": 0.5}, required_skills=["es", "saas"], created_at=now, updated_at=now
    )
    policy = SlaPolicy.objects.create(
        name="Hot", conditions=[{"field": "grade", "op": "eq", "value": "A"}], target_minutes=10,
        created_at=now, updated_at=now,
    )  # fmt: skip
    assert _values(_read(Pool, "p", "routing_pool", pool.pk)) == _values(Pool.objects.get(pk=pool.pk))
    from_row = _read(SlaPolicy, "p", "sla_slapolicy", policy.pk)
    assert _values(from_row) == _values(SlaPolicy.objects.get(pk=policy.pk))
    assert from_row.conditions == [{"field": "grade", "op": "eq", "value": "A"}]
