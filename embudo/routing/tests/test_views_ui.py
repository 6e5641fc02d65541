"""The routing UI through the HTML views: editor (htmx edits of a draft), preview, publish, pools,
reps' hours and absences, and the lead page's panel with manual reassignment."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from embudo.accounts.models import Role
from embudo.accounts.tests.factories import UserFactory
from embudo.leads.models import Lead
from embudo.leads.tests.factories import LeadFactory
from embudo.routing import selectors, services
from embudo.routing.models import Assignment, OutOfOffice, PoolMember, RepSchedule, RuleSet
from embudo.routing.tests.conftest import Setup

pytestmark = pytest.mark.django_db
HTMX = {"HX-Request": "true"}


def as_user(client: Client, user: Any) -> Client:
    client.force_login(user)
    return client


def test_home_lists_published_and_drafts_and_is_for_managers(client: Client, setup: Setup) -> None:
    page = as_user(client, setup.manager).get("/routing/").content.decode()
    assert f"v{setup.rule_set.number} · Territories" in page and "New draft" in page
    as_user(client, setup.iberia_reps[0])
    assert client.get("/routing/").status_code == 403


def test_editing_a_draft_with_htmx_add_reorder_delete(client: Client, setup: Setup) -> None:
    as_user(client, setup.manager)
    response = client.post(f"/routing/rule-sets/{setup.rule_set.pk}/copy/")
    draft = RuleSet.objects.get(status="draft")
    assert response["Location"] == f"/routing/rule-sets/{draft.pk}/"
    form = client.get(f"/routing/rule-sets/{draft.pk}/rules/new/", headers=HTMX).content.decode()
    assert 'name="cond-0-field"' in form and '<option value="country"' in form

    url = f"/routing/rule-sets/{draft.pk}/rules/"
    added = client.post(url, {"op": "save", "index": "", "name": "Mexico first", "cond-0-field": "country",
                              "cond-0-op": "in", "cond-0-value": "MX, AR", "action": "assign_pool",
                              "pool_id": setup.pools["americas"].pk, "active": "on"}, headers=HTMX)  # fmt: skip
    body = added.content.decode()
    assert added.status_code == 200 and 'id="rules"' in body and "Mexico first" in body and "mx, ar" in body
    names = [r.name for r in selectors.rules_of(selectors.get_rule_set(draft.pk))]  # type: ignore[arg-type]
    assert names == ["Big or hot", "Iberia", "Latin America", "Mexico first"]

    client.post(url, {"op": "up", "index": "3"}, headers=HTMX)
    client.post(url, {"op": "delete", "index": "0"}, headers=HTMX)
    rules = selectors.rules_of(selectors.get_rule_set(draft.pk))  # type: ignore[arg-type]
    assert [r.name for r in rules] == ["Iberia", "Mexico first", "Latin America"]
    assert rules[1].conditions == [{"field": "country", "op": "in", "value": ["mx", "ar"]}]


def test_rule_errors_come_back_on_the_form(client: Client, setup: Setup) -> None:
    as_user(client, setup.manager)
    draft = services.create_draft(actor=setup.manager, rule_set_id=setup.rule_set.pk)
    response = client.post(f"/routing/rule-sets/{draft.pk}/rules/", {"op": "save", "index": "", "name": "",
                           "cond-0-field": "score", "cond-0-op": "gte", "cond-0-value": "lots",
                           "action": "assign_pool"}, headers=HTMX)  # fmt: skip
    body = response.content.decode()
    assert response.status_code == 200 and response["HX-Retarget"] == "#rule-editor"
    assert "Please correct the errors below." in body and 'value="lots"' in body
    assert "Give the rule a name." in body and "Choose a pool." in body


def test_preview_explains_the_match_and_the_candidates(client: Client, setup: Setup) -> None:
    lead = LeadFactory.create(country="ES", first_name="Lucía", last_name="Gil")
    as_user(client, setup.admin)
    body = client.post(f"/routing/rule-sets/{setup.rule_set.pk}/preview/", {"lead": str(lead.pk)},
                       headers=HTMX).content.decode()  # fmt: skip
    assert "Matches rule <strong>Iberia</strong>" in body
    assert "Would be assigned to <strong>Ibe 0</strong>" in body
    assert "fails company.size equals 1000+" in body
    assert "Eligible, not next in turn" in body
    by_name = client.post(f"/routing/rule-sets/{setup.rule_set.pk}/preview/", {"lead": "Lucía"}, headers=HTMX)
    assert "Matches rule <strong>Iberia</strong>" in by_name.content.decode()
    none = client.post(f"/routing/rule-sets/{setup.rule_set.pk}/preview/", {"lead": "nobody-like-this"}, headers=HTMX)
    assert "No lead you can see matches" in none.content.decode()
    assert not Assignment.objects.exists()  # a preview writes nothing


def test_publish_a_draft_from_the_editor(client: Client, setup: Setup) -> None:
    as_user(client, setup.manager)
    draft = services.create_draft(actor=setup.manager, rule_set_id=setup.rule_set.pk)
    client.post(f"/routing/rule-sets/{draft.pk}/settings/", {"name": "Winter", "default_action": "assign_pool",
                                                            "default_pool_id": setup.pools["iberia"].pk})  # fmt: skip
    response = client.post(f"/routing/rule-sets/{draft.pk}/publish/")
    assert response["Location"] == "/routing/"
    draft.refresh_from_db()
    assert (draft.status, draft.name, draft.default_pool_id) == ("published", "Winter", setup.pools["iberia"].pk)


def test_pool_settings_and_members(client: Client, setup: Setup) -> None:
    as_user(client, setup.admin)
    created = client.post("/routing/pools/", {"name": "Nordics", "strategy": "weighted", "fallback": "queue",
                                              "active": "on"})  # fmt: skip
    pool = [p for p in selectors.list_pools() if p.name == "Nordics"][0]
    assert created["Location"] == f"/routing/pools/{pool.pk}/"
    rep = setup.iberia_reps[0]
    client.post(f"/routing/pools/{pool.pk}/", {"part": "members", "m-0-user_id": rep.pk, "m-0-weight": "3",
                                               "m-0-capacity": "10", "m-0-languages": "es, en", "m-0-active": "on",
                                               "m-1-user_id": ""})  # fmt: skip
    member = PoolMember.objects.get(pool=pool)
    assert (member.user_id, member.weight, member.capacity, member.languages) == (rep.pk, 3, 10, ["en", "es"])
    bad = client.post(f"/routing/pools/{pool.pk}/", {"part": "members", "m-0-user_id": rep.pk, "m-0-weight": "0"})
    assert "m-0-weight" in bad.content.decode() and PoolMember.objects.get(pool=pool).weight == 3
    page = client.get(f"/routing/pools/{pool.pk}/").content.decode()
    assert 'name="m-1-user_id"' in page  # a blank row to add a rep


def test_rep_hours_and_out_of_office(client: Client, setup: Setup) -> None:
    rep = setup.iberia_reps[1]
    as_user(client, setup.manager)
    hours = {"mon-0-start": "09:00", "mon-0-end": "14:00", "mon-1-start": "15:00", "mon-1-end": "18:00"}
    client.post(f"/routing/reps/{rep.pk}/", {"part": "hours", "time_zone": "Europe/Madrid", **hours})
    schedule = RepSchedule.objects.get(user=rep)
    assert schedule.time_zone == "Europe/Madrid" and schedule.hours == {"mon": [["09:00", "14:00"], ["15:00", "18:00"]]}
    bad = client.post(f"/routing/reps/{rep.pk}/", {"part": "hours", "time_zone": "Mars/Base", "tue-0-start": "18:00",
                                                   "tue-0-end": "09:00"})  # fmt: skip
    assert "Unknown time zone" in bad.content.decode()
    client.post(f"/routing/reps/{rep.pk}/", {"part": "ooo", "start": "2030-08-01T00:00", "end": "2030-08-15T00:00",
                                             "reason": "Holidays"})  # fmt: skip
    period = OutOfOffice.objects.get(user=rep)
    assert period.reason == "Holidays" and period.start.isoformat() == "2030-07-31T22:00:00+00:00"  # Madrid time
    assert "Holidays" in client.get("/routing/reps/").content.decode()


def test_rep_may_edit_own_hours_but_not_others(client: Client, setup: Setup) -> None:
    me, other = setup.iberia_reps[0], setup.iberia_reps[1]
    as_user(client, me)
    assert client.get(f"/routing/reps/{me.pk}/").status_code == 200
    assert client.get(f"/routing/reps/{other.pk}/").status_code == 403


def test_lead_panel_explains_and_manager_reassigns_with_reason(client: Client, setup: Setup,
                                                               django_assert_max_num_queries: Any) -> None:  # fmt: skip
    lead = LeadFactory.create(country="ES", team=setup.iberia)
    services.route_lead(lead.pk, trigger="test")
    lead.refresh_from_db()
    first_owner = lead.owner
    as_user(client, setup.manager)
    with django_assert_max_num_queries(14):
        panel = client.get(f"/routing/leads/{lead.pk}/panel/", headers=HTMX).content.decode()
    assert "Rule <strong>Iberia</strong>" in panel and "Pool <strong>Iberia</strong>" in panel
    assert "Chosen" in panel and 'name="reason"' in panel

    missing = client.post(f"/routing/leads/{lead.pk}/panel/", {"user_id": setup.senior.pk, "reason": ""}, headers=HTMX)
    assert "This field is required." in missing.content.decode()
    assert Lead.objects.get(pk=lead.pk).owner == first_owner

    done = client.post(f"/routing/leads/{lead.pk}/panel/", {"user_id": setup.senior.pk,
                                                            "reason": "Speaks Catalan"}, headers=HTMX)  # fmt: skip
    assert done["HX-Trigger"] == "routing-changed"
    body = done.content.decode()
    assert "Assigned by hand by <strong>Marta Manager</strong>" in body and "Speaks Catalan" in body
    assert Lead.objects.get(pk=lead.pk).owner_id == setup.senior.pk
    detail = client.get(f"/leads/{lead.pk}/").content.decode()
    assert f"/routing/leads/{lead.pk}/panel/" in detail
    # The timeline explains both assignments (routing's LeadAssigned partial).
    assert "<strong>Marta Manager</strong> assigned this lead to <strong>Sol Senior</strong>" in detail
    assert f"Routed to <strong>{first_owner.display_name}</strong>" in detail and "rule “Iberia”" in detail


def test_reps_see_the_panel_without_the_assign_form(client: Client, setup: Setup) -> None:
    lead = LeadFactory.create(country="ES")
    services.route_lead(lead.pk, trigger="test")
    lead.refresh_from_db()
    as_user(client, lead.owner)
    panel = client.get(f"/routing/leads/{lead.pk}/panel/").content.decode()
    assert "Why this owner" in panel and 'name="reason"' not in panel
    as_user(client, UserFactory.create(role=Role.SALES_REP))
    assert client.get(f"/routing/leads/{lead.pk}/panel/").status_code == 404
