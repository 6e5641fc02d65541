"""Ingestion and stitching against the real database: set-based, idempotent, rescoring once per batch."""

from __future__ import annotations

from typing import Any

import pytest

from embudo.core.models import DomainEvent
from embudo.leads.tests.factories import LeadFactory
from embudo.tracking import services
from embudo.tracking.models import Visitor

pytestmark = pytest.mark.django_db
VISITOR = "visitor-0001"


def test_batch_is_stored_set_based_and_scored_once(
    score_calls: list[tuple[list[int], str]], django_assert_max_num_queries: Any
) -> None:
    leads = LeadFactory.create_batch(3)
    batch = [{"type": "page_view", "lead_id": leads[i % 3].pk, "properties": {"path": f"/p{i}"}, "id": f"e{i}"}
             for i in range(1000)]  # fmt: skip
    with django_assert_max_num_queries(6):  # lead ids, client ids, the insert (+ savepoint)
        result = services.ingest_events(batch, scope="token:1", source="api")
    assert result.stored == 1000 and result.lead_ids == sorted(lead.pk for lead in leads)
    assert score_calls == [(sorted(lead.pk for lead in leads), "activity")]
    assert DomainEvent.objects.filter(type="activity.page_view").count() == 1000
    row = DomainEvent.objects.get(payload__event_id="e7")
    assert row.payload == {"properties": {"path": "/p7"}, "source": "api", "event_id": "e7"}


def test_all_identity_kinds_in_few_queries(django_assert_max_num_queries: Any) -> None:
    lead = LeadFactory.create(email="Ana@Acme.example")
    other = LeadFactory.create()
    services.stitch_visitor(visitor_id="known-visitor", lead_id=other.pk)
    batch = [
        {"type": "email_opened", "email": "ana@acme.EXAMPLE"},
        {"type": "page_view", "visitor_id": "known-visitor"},
        {"type": "page_view", "visitor_id": VISITOR},
        {"type": "demo_requested", "lead_id": lead.pk},
    ]
    with django_assert_max_num_queries(8):
        result = services.ingest_events(batch, scope="token:1", source="api")
    assert [i.lead_id for i in result.items] == [lead.pk, other.pk, None, lead.pk]
    assert DomainEvent.objects.filter(type="activity.page_view", lead_id__isnull=True).count() == 1


def test_unknown_email_and_lead_are_rejected_per_item() -> None:
    lead = LeadFactory.create()
    result = services.ingest_events(
        [{"type": "email_clicked", "email": "nobody@nowhere.example"}, {"type": "page_view", "lead_id": 999999},
         {"type": "page_view", "lead_id": lead.pk}], scope="token:1", source="api",
    )  # fmt: skip
    assert [i.status for i in result.items] == ["rejected", "rejected", "stored"]
    assert "visitor_id" in result.items[0].errors["email"][0]
    assert result.items[1].errors == {"lead_id": ["No lead has this id."]}


def test_client_ids_make_retries_duplicates_per_scope() -> None:
    lead = LeadFactory.create()
    batch = [{"type": "page_view", "lead_id": lead.pk, "id": "a"}, {"type": "page_view", "lead_id": lead.pk, "id": "a"},
             {"type": "page_view", "lead_id": lead.pk}]  # fmt: skip
    first = services.ingest_events(batch, scope="token:1", source="api")
    assert [i.status for i in first.items] == ["stored", "duplicate", "stored"]
    again = services.ingest_events(batch, scope="token:1", source="api")
    assert [i.status for i in again.items] == ["duplicate", "duplicate", "stored"]  # no id: stored again
    other_sender = services.ingest_events(batch[:1], scope="token:2", source="api")
    assert other_sender.stored == 1
    assert DomainEvent.objects.filter(lead_id=lead.pk).count() == 4


def test_only_the_client_ids_stored_before_are_duplicates_in_a_mixed_batch() -> None:
    lead = LeadFactory.create()
    services.ingest_events([{"type": "page_view", "lead_id": lead.pk, "id": f"k{i}"} for i in (1, 3)],
                           scope="token:1", source="api")  # fmt: skip
    batch = [{"type": "page_view", "lead_id": lead.pk, "id": f"k{i}"} for i in range(5)]
    result = services.ingest_events(batch, scope="token:1", source="api")
    assert [i.status for i in result.items] == ["stored", "duplicate", "stored", "duplicate", "stored"]
    assert [i.client_id for i in result.items] == ["k0", "k1", "k2", "k3", "k4"]
    assert DomainEvent.objects.filter(lead_id=lead.pk, type="activity.page_view").count() == 5


def test_rejected_items_do_not_claim_their_client_id() -> None:
    lead = LeadFactory.create()
    services.ingest_events([{"type": "page_view", "lead_id": 999999, "id": "x"}], scope="token:1", source="api")
    result = services.ingest_events([{"type": "page_view", "lead_id": lead.pk, "id": "x"}], scope="token:1",
                                    source="api")  # fmt: skip
    assert result.stored == 1


def test_stitching_moves_anonymous_events_and_later_ones_go_to_the_lead(
    score_calls: list[tuple[list[int], str]],
) -> None:
    lead = LeadFactory.create()
    services.ingest_events([{"type": "page_view", "visitor_id": VISITOR, "properties": {"path": f"/{i}"}}
                            for i in range(3)], scope="site:1", source="snippet")  # fmt: skip
    services.ingest_events([{"type": "page_view", "visitor_id": "someone-else"}], scope="site:1", source="snippet")
    assert score_calls == []  # anonymous: nobody to score
    assert services.stitch_visitor(visitor_id=VISITOR, lead_id=lead.pk) == 3
    assert score_calls == [([lead.pk], "activity")]
    assert DomainEvent.objects.filter(lead_id=lead.pk, type="activity.page_view").count() == 3
    assert DomainEvent.objects.filter(lead_id__isnull=True, type="activity.page_view").count() == 1
    assert Visitor.objects.get(pk=VISITOR).lead_id == lead.pk
    later = services.ingest_events([{"type": "page_view", "visitor_id": VISITOR}], scope="site:1", source="snippet")
    assert later.items[0].lead_id == lead.pk
    assert services.stitch_visitor(visitor_id=VISITOR, lead_id=lead.pk) == 0  # idempotent


def test_stitch_query_uses_the_partial_index() -> None:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute("EXPLAIN " + services._STITCH, [1, VISITOR])
        plan = "\n".join(r[0] for r in cursor.fetchall())
    assert "tracking_anon_visitor_idx" in plan


def test_visitor_of_a_deleted_lead_is_anonymous_again() -> None:
    lead = LeadFactory.create()
    services.stitch_visitor(visitor_id=VISITOR, lead_id=lead.pk)
    lead.delete()
    result = services.ingest_events([{"type": "page_view", "visitor_id": VISITOR}], scope="site:1", source="snippet")
    assert result.items[0].lead_id is None and result.stored == 1


def test_product_activity_reaches_lifecycle_when_present(monkeypatch: pytest.MonkeyPatch) -> None:
    import importlib
    import types

    seen: list[list[int]] = []
    module = types.SimpleNamespace(on_product_activity=lambda ids: seen.append(list(ids)))
    real_import = importlib.import_module
    monkeypatch.setattr(importlib, "import_module",
                        lambda name: module if name == "embudo.scoring.lifecycle" else real_import(name))  # fmt: skip
    a, b = LeadFactory.create_batch(2)
    services.ingest_events([{"type": "product_signed_up", "lead_id": a.pk}, {"type": "page_view", "lead_id": b.pk}],
                           scope="token:1", source="api")  # fmt: skip
    assert seen == [[a.pk]]


def test_stitch_from_submission_reads_the_visitor_field() -> None:
    lead = LeadFactory.create()
    services.ingest_events([{"type": "page_view", "visitor_id": VISITOR}], scope="site:1", source="snippet")
    assert services.stitch_from_submission(lead_id=lead.pk, payload={"values": {"email": "x"}}) == 0
    assert services.stitch_from_submission(lead_id=lead.pk, payload={"embudo_visitor_id": "bad id!"}) == 0
    assert services.stitch_from_submission(lead_id=lead.pk, payload={"values": {"embudo_visitor_id": VISITOR}}) == 1


def test_api_intake_with_the_visitor_id_stitches(client: Any) -> None:
    """The intake path calls stitch_from_submission before scoring the lead."""
    from embudo.accounts import services as account_services
    from embudo.accounts.models import Role
    from embudo.accounts.tests.factories import UserFactory

    services.ingest_events([{"type": "page_view", "visitor_id": VISITOR}], scope="site:1", source="snippet")
    user = UserFactory.create(role=Role.ADMIN)
    _, token = account_services.create_api_token(user_email=user.email, name="t")
    body = {"email": "new@lead.example", "custom_fields": {"embudo_visitor_id": VISITOR}}
    response = client.post("/api/v1/leads", body, content_type="application/json", HTTP_AUTHORIZATION=f"Bearer {token}")
    assert response.status_code == 201, response.content
    lead_id = response.json()["id"]
    assert DomainEvent.objects.filter(type="activity.page_view", lead_id=lead_id).count() == 1
    assert Visitor.objects.get(pk=VISITOR).lead_id == lead_id


def test_prune_forgets_old_client_ids() -> None:
    from datetime import timedelta

    from embudo.core import clock
    from embudo.tracking.models import EventKey

    lead = LeadFactory.create()
    services.ingest_events([{"type": "page_view", "lead_id": lead.pk, "id": "old"}], scope="token:1", source="api")
    assert services.prune(now=clock.now() + timedelta(days=services.KEY_RETENTION_DAYS + 1))[0] == 1
    assert not EventKey.objects.exists()


def test_copy_keeps_awkward_text_exactly() -> None:
    lead = LeadFactory.create()
    tricky = {"q": 'tab\there "quoted" back\\slash\nnew line \\N ñandú 🚀', "nested": {"list": [1, 2.5, None, True]}}
    batch = [{"type": "custom_thing", "lead_id": lead.pk, "properties": tricky, "id": 'a\\b"c'},
             {"type": "page_view", "visitor_id": VISITOR}]  # fmt: skip
    result = services.ingest_events(batch, scope="token:1", source="api")
    assert result.stored == 2
    stored = DomainEvent.objects.get(type="activity.custom_thing")
    assert stored.payload == {"properties": tricky, "source": "api", "event_id": 'a\\b"c'}
    assert DomainEvent.objects.get(type="activity.page_view").payload["visitor_id"] == VISITOR


def test_nul_characters_are_rejected_not_a_batch_failure() -> None:
    lead = LeadFactory.create()
    batch = [{"type": "page_view", "lead_id": lead.pk, "properties": {"x": "a\x00b"}},
             {"type": "page_view", "lead_id": lead.pk}]  # fmt: skip
    result = services.ingest_events(batch, scope="token:1", source="api")
    assert [i.status for i in result.items] == ["rejected", "stored"]


def test_demo_site_is_idempotent() -> None:
    from embudo.tracking import demo
    from embudo.tracking.models import TrackingSite

    demo.seed_demo(teams={}, users={})
    demo.seed_demo(teams={}, users={})
    assert TrackingSite.objects.get().origins()[0] == "http://localhost:8000"


@pytest.mark.parametrize("meta_field", [False, True])
def test_form_submission_with_the_visitor_id_stitches(monkeypatch: pytest.MonkeyPatch, meta_field: bool) -> None:
    """Today a form needs a hidden field named embudo_visitor_id; with the proposed one-line change to the
    form channel (META_FIELDS keeps it, as it keeps utm_*), any form carries it (simulated here)."""
    from embudo.capture import forms_channel
    from embudo.capture import services as capture_services
    from embudo.capture.tests.forms_helpers import FIELDS, make_form, post_data

    if meta_field:
        monkeypatch.setattr(forms_channel, "META_FIELDS", (*forms_channel.META_FIELDS, "embudo_visitor_id"))
        form = make_form()
    else:
        form = make_form(fields=[*FIELDS, {"name": "embudo_visitor_id", "type": "hidden", "maps_to": ""}])
    services.ingest_events([{"type": "page_view", "visitor_id": VISITOR}] * 2, scope="site:1", source="snippet")
    outcome = forms_channel.submit_form(
        form=form, data=post_data(form, email="eva@site.example", first_name="Eva", embudo_visitor_id=VISITOR),
        meta=capture_services.SubmissionMeta(ip="10.0.0.1"), language="en", base_url="http://testserver/",
    )  # fmt: skip
    assert outcome.ok and outcome.lead_id
    assert DomainEvent.objects.filter(type="activity.page_view", lead_id=outcome.lead_id).count() == 2


def test_sweep_moves_events_that_raced_an_identification(score_calls: list[tuple[list[int], str]]) -> None:
    from embudo.core import clock

    lead = LeadFactory.create()
    Visitor.objects.create(visitor_id=VISITOR, lead_id=lead.pk, identified_at=clock.now())
    DomainEvent.objects.create(type="activity.page_view", occurred_at=clock.now(), payload={"visitor_id": VISITOR})
    assert services.stitch_known_visitors() == [lead.pk]
    assert DomainEvent.objects.get(type="activity.page_view").lead_id == lead.pk
    assert score_calls == [([lead.pk], "activity")]
    assert services.stitch_known_visitors() == []
