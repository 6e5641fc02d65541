"""Lead writes: validation, invariants, events, and the duplicate race."""

from __future__ import annotations

import threading
from typing import Any

import pytest
from django.db import connection, transaction

from embudo.accounts.models import Role
from embudo.accounts.tests.factories import TeamFactory, UserFactory
from embudo.core import clock
from embudo.core.exceptions import DomainError
from embudo.core.models import DomainEvent
from embudo.leads import services
from embudo.leads.exceptions import DuplicateLead, InvalidLead, LeadNotFound, OwnerNotAllowed
from embudo.leads.models import Lead
from embudo.leads.tests.factories import LeadFactory

pytestmark = pytest.mark.django_db


def test_create_lead_ignores_non_editable_keys() -> None:
    lead = services.create_lead(actor=None, data={"email": "a@example.com", "score": 999, "id": 7, "search_text": "x"})
    assert lead.score == 0
    assert lead.pk != 7 or Lead.objects.count() == 1


def test_create_lead_defaults_source_to_channel() -> None:
    assert services.create_lead(actor=None, data={"email": "a@example.com"}, channel="csv").source == "csv"
    assert services.create_lead(actor=None, data={"email": "b@example.com", "source": "fair"}).source == "fair"


def test_create_lead_records_only_non_empty_text_fields_in_the_event() -> None:
    lead = services.create_lead(actor=None, data={"email": "a@example.com", "city": "", "first_name": "Ana"})
    event = DomainEvent.objects.get(lead_id=lead.pk)
    assert event.payload["fields"] == {"email": "a@example.com", "first_name": "Ana", "source": "manual"}
    assert event.occurred_at == lead.created_at


def test_duplicate_lead_carries_the_existing_id() -> None:
    first = services.create_lead(actor=None, data={"email": "dup@example.com"})
    with pytest.raises(DuplicateLead) as error:
        services.create_lead(actor=None, data={"email": " DUP@example.com "})
    assert error.value.existing_lead_id == first.pk
    assert error.value.status == 409


def test_rep_cannot_create_a_lead_for_another_team() -> None:
    mine, theirs = TeamFactory.create(), TeamFactory.create()
    rep = UserFactory.create(role=Role.SALES_REP, teams=[mine])
    with pytest.raises(OwnerNotAllowed):
        services.create_lead(actor=rep, data={"email": "x@example.com", "team_id": theirs.pk})
    assert not Lead.objects.exists()


def test_inactive_owner_is_refused() -> None:
    admin = UserFactory.create(role=Role.ADMIN)
    gone = UserFactory.create(is_active=False)
    with pytest.raises(InvalidLead) as error:
        services.create_lead(actor=admin, data={"email": "x@example.com", "owner_id": gone.pk})
    assert error.value.fields == {"owner_id": ["Unknown or inactive user."]}


def test_update_lead_rejects_unknown_fields() -> None:
    admin = UserFactory.create(role=Role.ADMIN)
    lead = LeadFactory.create()
    with pytest.raises(InvalidLead) as error:
        services.update_lead(actor=admin, lead_id=lead.pk, changes={"score": 5, "city": "Lima"})
    assert error.value.fields == {"score": ["Unknown field."]}
    lead.refresh_from_db()
    assert lead.city == ""


def test_update_lead_of_an_invisible_lead_is_not_found() -> None:
    rep = UserFactory.create(role=Role.SALES_REP)
    lead = LeadFactory.create(owner=UserFactory.create())
    with pytest.raises(LeadNotFound):
        services.update_lead(actor=rep, lead_id=lead.pk, changes={"city": "Lima"})


def test_update_lead_bumps_updated_at_only_on_change() -> None:
    admin = UserFactory.create(role=Role.ADMIN)
    lead = LeadFactory.create(city="Lima")
    before = lead.updated_at

    services.update_lead(actor=admin, lead_id=lead.pk, changes={"city": "Lima"})
    lead.refresh_from_db()
    assert lead.updated_at == before

    services.update_lead(actor=admin, lead_id=lead.pk, changes={"city": "Quito"})
    lead.refresh_from_db()
    assert lead.updated_at > before


def test_add_note_records_a_note_event() -> None:
    admin = UserFactory.create(role=Role.ADMIN)
    lead = LeadFactory.create()
    services.add_note(actor=admin, lead_id=lead.pk, text="  Called, call back Monday.  ")
    event = DomainEvent.objects.get(lead_id=lead.pk, type="leads.NoteAdded")
    assert event.payload == {"text": "Called, call back Monday."}


@pytest.mark.parametrize("text", ["", "   ", "x" * 5001])
def test_add_note_validates_text(text: str) -> None:
    admin = UserFactory.create(role=Role.ADMIN)
    lead = LeadFactory.create()
    with pytest.raises(InvalidLead):
        services.add_note(actor=admin, lead_id=lead.pk, text=text)
    assert not DomainEvent.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_concurrent_creates_with_the_same_email_give_one_lead_and_one_409() -> None:
    """The pre-check cannot see an uncommitted insert; the unique index catches it and the
    loser gets DuplicateLead (not a 500), with nothing stored."""
    first_inserted = threading.Event()
    errors: list[BaseException] = []

    def first() -> None:
        try:
            with transaction.atomic():
                services.create_lead(actor=None, data={"email": "race@example.com"})
                first_inserted.set()
                # Hold the row uncommitted while the second request checks and inserts.
                threading.Event().wait(0.5)
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)
        finally:
            first_inserted.set()
            connection.close()

    thread = threading.Thread(target=first)
    thread.start()
    first_inserted.wait(10)
    try:
        with pytest.raises(DuplicateLead) as error:
            services.create_lead(actor=None, data={"email": "Race@example.com"})
    finally:
        thread.join(10)

    assert not errors
    assert error.value.fields == {"email": ["A lead with this email already exists."]}
    assert Lead.objects.filter(email="race@example.com").count() == 1
    assert DomainEvent.objects.filter(type="leads.LeadCreated").count() == 1


@pytest.mark.django_db(transaction=True)
def test_concurrent_email_change_to_the_same_address_gives_a_409() -> None:
    admin = UserFactory.create(role=Role.ADMIN)
    mine = LeadFactory.create(email="mine@example.com")
    theirs = LeadFactory.create(email="theirs@example.com")
    first_updated = threading.Event()
    errors: list[BaseException] = []

    def first() -> None:
        try:
            with transaction.atomic():
                services.update_lead(actor=admin, lead_id=theirs.pk, changes={"email": "wanted@example.com"})
                first_updated.set()
                threading.Event().wait(0.5)
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)
        finally:
            first_updated.set()
            connection.close()

    thread = threading.Thread(target=first)
    thread.start()
    first_updated.wait(10)
    try:
        with pytest.raises(DuplicateLead) as error:
            services.update_lead(actor=admin, lead_id=mine.pk, changes={"email": "wanted@example.com"})
    finally:
        thread.join(10)

    assert not errors
    assert error.value.existing_lead_id == theirs.pk
    mine.refresh_from_db()
    assert mine.email == "mine@example.com"
    assert not DomainEvent.objects.filter(lead_id=mine.pk, type="leads.LeadUpdated").exists()


def test_domain_errors_have_stable_codes() -> None:
    codes = {cls.code for cls in (DuplicateLead, InvalidLead, LeadNotFound, OwnerNotAllowed)}
    assert codes == {"duplicate_lead", "validation_error", "lead_not_found", "owner_not_allowed"}
    assert issubclass(DuplicateLead, DomainError)


def test_the_compiled_once_intake_insert_is_what_djangos_insert_compiler_builds() -> None:
    def lead(n: int) -> Lead:
        now = clock.now()
        return Lead(
            created_at=now, updated_at=now, source="api", first_name=f"Ana{n}", last_name="Ruiz", email=f"a{n}@x.es",
            phone="+34600000000", country="ES", custom_fields={"plan": "pro", "seats": n}, company_id=None,
        )  # fmt: skip

    def plain(params: Any) -> list[Any]:
        return [getattr(p, "obj", p) for p in params]  # a Jsonb wrapper compares by what it wraps

    services._intake_insert_one(lead(0))  # compiles (or finds) the statement
    for n in (1, 2):
        one = lead(n)
        sql, params, using = services._intake_insert_one(one)
        django_sql, django_params, django_using = services._intake_insert([one], with_ids=False)
        assert (sql, plain(params), using) == (django_sql, plain(django_params), django_using)
    # And it inserts: the row reads back as written.
    one = lead(3)
    assert services._insert_unless_email_taken(one)
    stored = Lead.objects.get(pk=one.pk)
    assert (stored.email, stored.custom_fields, stored.source) == ("a3@x.es", {"plan": "pro", "seats": 3}, "api")
