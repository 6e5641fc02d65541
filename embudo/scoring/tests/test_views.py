"""The scoring UI: versions, the htmx rule editor, backtest diff, publish progress, the lead panel."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from embudo.accounts.models import Role, User
from embudo.accounts.tests.factories import TeamFactory, UserFactory
from embudo.leads.models import Lead
from embudo.leads.tests.factories import LeadFactory
from embudo.scoring import selectors, services
from embudo.scoring.models import ScoringRule, ScoringVersion, VersionStatus

pytestmark = pytest.mark.django_db

HTMX = {"HX-Request": "true"}
DIRECTOR = {
    "kind": "fit",
    "label": "Director",
    "points": 30,
    "conditions": [{"field": "job_title", "op": "contains", "value": ["director"]}],
}


def _client(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def marketing() -> User:
    return UserFactory(role=Role.MARKETING, full_name="Mara Marketing")


def _published(rules: list[dict[str, Any]] | None = None, **settings: Any) -> ScoringVersion:
    draft = services.create_draft(actor=None)
    services.update_draft(draft.pk, actor=None, rules=rules if rules is not None else [DIRECTOR], **settings)
    return services.publish(draft.pk, actor=None, rescore="now")


def test_home_lists_versions_and_creates_a_draft_from_the_published_one(marketing: User) -> None:
    published = _published()
    client = _client(marketing)
    page = client.get("/scoring/")
    assert page.status_code == 200
    assert "Version 1" in page.content.decode() and "New draft from published" in page.content.decode()

    response = client.post("/scoring/drafts/new/", {"team_id": ""})
    draft = ScoringVersion.objects.get(status=VersionStatus.DRAFT)
    assert response.status_code == 302 and response["Location"] == f"/scoring/versions/{draft.pk}/"
    assert [r.label for r in draft.rules.all()] == ["Director"]
    assert draft.pk != published.pk


def test_reps_cannot_open_the_models_and_managers_only_read_them() -> None:
    _published()
    assert _client(UserFactory(role=Role.SALES_REP)).get("/scoring/").status_code == 403
    manager = _client(UserFactory(role=Role.MANAGER))
    assert manager.get("/scoring/").status_code == 200
    assert manager.post("/scoring/drafts/new/").status_code == 403


def test_a_published_version_is_read_only(marketing: User) -> None:
    version = _published()
    rule = version.rules.get()
    client = _client(marketing)
    page = client.get(f"/scoring/versions/{version.pk}/").content.decode()
    assert "read-only" in page and "Add fit rule" not in page
    assert client.get(f"/scoring/versions/{version.pk}/rules/{rule.key}/edit/", headers=HTMX).status_code == 403
    assert client.post(f"/scoring/versions/{version.pk}/rules/{rule.key}/delete/", headers=HTMX).status_code == 403
    copied = client.post("/scoring/drafts/new/", {"from_version_id": str(version.pk)})
    draft = ScoringVersion.objects.get(status=VersionStatus.DRAFT)
    assert copied["Location"] == f"/scoring/versions/{draft.pk}/"
    assert [r.key for r in draft.rules.all()] == [rule.key]


def test_add_an_engagement_rule_with_a_property_condition(marketing: User) -> None:
    draft = services.create_draft(actor=marketing)
    client = _client(marketing)
    form = client.get(f"/scoring/versions/{draft.pk}/rules/new/?kind=engagement", headers=HTMX)
    assert form.status_code == 200 and 'name="cond-0-field"' in form.content.decode()

    # "Add condition" re-renders the form with one more row, keeping what was typed.
    data = {"kind": "engagement", "label": "Pricing page", "points": "20", "event_type": "page_view",
            "condition_count": "1", "cond-0-field": "url", "cond-0-op": "contains",
            "cond-0-value": "/pricing"}  # fmt: skip
    more = client.post(f"/scoring/versions/{draft.pk}/rules/new/", {**data, "action": "add_condition"}, headers=HTMX)
    html = more.content.decode()
    assert 'name="cond-1-field"' in html and 'value="/pricing"' in html

    saved = client.post(f"/scoring/versions/{draft.pk}/rules/new/", {**data, "condition_count": "2"}, headers=HTMX)
    assert saved.status_code == 200
    assert 'hx-swap-oob="beforeend:#engagement-rules"' in saved.content.decode()
    rule = ScoringRule.objects.get(version=draft)
    assert (rule.label, rule.points, rule.event_type) == ("Pricing page", 20, "page_view")
    assert rule.conditions == [{"field": "properties.url", "op": "contains", "value": ["/pricing"]}]


def test_rule_errors_are_shown_on_their_fields(marketing: User) -> None:
    draft = services.create_draft(actor=marketing)
    client = _client(marketing)
    data = {"kind": "fit", "label": "", "points": "abc", "condition_count": "2",
            "cond-0-field": "job_title", "cond-0-op": "gte", "cond-0-value": "senior",
            "cond-1-field": "", "cond-1-op": "equals", "cond-1-value": ""}  # fmt: skip
    response = client.post(f"/scoring/versions/{draft.pk}/rules/new/", data, headers=HTMX)
    html = response.content.decode()
    assert response.status_code == 200
    assert "Give the rule a label." in html and "Give a whole number." in html and "Give a number." in html
    assert 'id="fit-new-cond-0-value"' in html and 'aria-invalid="true"' in html
    assert not ScoringRule.objects.filter(version=draft).exists()


def test_edit_and_delete_a_rule_of_a_draft(marketing: User) -> None:
    _published()
    draft = services.create_draft(actor=marketing)
    rule = draft.rules.get()
    client = _client(marketing)
    form = client.get(f"/scoring/versions/{draft.pk}/rules/{rule.key}/edit/", headers=HTMX).content.decode()
    assert 'value="director"' in form and f'id="rule-{rule.key}"' in form
    data = {"label": "Director or VP", "points": "35", "condition_count": "1", "cond-0-field": "job_title",
            "cond-0-op": "contains", "cond-0-value": "director, vp"}  # fmt: skip
    row = client.post(f"/scoring/versions/{draft.pk}/rules/{rule.key}/edit/", data, headers=HTMX)
    assert "Director or VP" in row.content.decode()
    [edited] = ScoringRule.objects.filter(version=draft)
    assert edited.key == rule.key and edited.conditions[0]["value"] == ["director", "vp"]

    deleted = client.post(f"/scoring/versions/{draft.pk}/rules/{edited.key}/delete/", headers=HTMX)
    assert deleted.status_code == 200 and deleted.content == b""
    assert not ScoringRule.objects.filter(version=draft).exists()


def test_thresholds_are_validated(marketing: User) -> None:
    draft = services.create_draft(actor=marketing)
    client = _client(marketing)
    bad = {"settings-name": "Q3", "settings-warm_min": "90", "settings-hot_min": "60", "settings-mql_threshold": "70",
           "settings-inactivity_days": "30", "settings-inactivity_points": "-10"}  # fmt: skip
    response = client.post(f"/scoring/versions/{draft.pk}/settings/", bad, headers=HTMX)
    assert "The hot threshold must not be below the warm one." in response.content.decode()
    good = {**bad, "settings-warm_min": "40"}
    saved = client.post(f"/scoring/versions/{draft.pk}/settings/", good, headers=HTMX)
    assert "Thresholds saved." in saved.content.decode()
    draft.refresh_from_db()
    assert (draft.name, draft.warm_min, draft.hot_min, draft.inactivity_points) == ("Q3", 40, 60, -10)


def test_backtest_diff_and_publish_progress(marketing: User) -> None:
    _published()
    director = LeadFactory(job_title="Director of IT")
    LeadFactory(job_title="Student")
    services.score_leads(list(Lead.objects.values_list("id", flat=True)), cause="test")
    draft = services.create_draft(actor=marketing)
    services.update_draft(draft.pk, actor=marketing, rules=[{**services.rule_as_dict(draft.rules.get()), "points": 90}])
    client = _client(marketing)

    response = client.post(f"/scoring/versions/{draft.pk}/backtest/")
    assert response.status_code == 302
    backtest = selectors.latest_backtest(draft.pk)
    assert backtest is not None
    running = client.get(f"/scoring/backtests/{backtest.pk}/", headers=HTMX).content.decode()
    assert "Backtest running" in running and 'hx-trigger="every 1s"' in running
    services.run_backtest(backtest.pk)  # what the worker does
    page = client.get(f"/scoring/versions/{draft.pk}/backtest/").content.decode()
    assert 'data-testid="mql-gained">1<' in page  # the director crosses the MQL threshold
    assert f'href="/leads/{director.pk}/"' in page and "Publish" in page

    assert client.post(f"/scoring/versions/{draft.pk}/publish/").status_code == 302
    queued = client.get(f"/scoring/versions/{draft.pk}/progress/", headers=HTMX).content.decode()
    assert "Rescore queued" in queued and "every 1500ms" in queued
    services.rescore_after_publish(draft.pk)
    done = client.get(f"/scoring/versions/{draft.pk}/progress/", headers=HTMX).content.decode()
    assert "Rescore complete" in done and "every 1500ms" not in done


def test_lead_panel_explains_the_score(django_assert_max_num_queries: Any) -> None:
    _published(rules=[DIRECTOR, {"kind": "fit", "label": "Spain", "points": 10,
                                 "conditions": [{"field": "country", "op": "equals", "value": "ES"}]}])  # fmt: skip
    lead = LeadFactory(job_title="Director of IT", country="ES")
    services.score_leads([lead.pk], cause="test")
    client = _client(UserFactory(role=Role.ADMIN))
    with django_assert_max_num_queries(8):
        response = client.get(f"/scoring/leads/{lead.pk}/panel/", headers=HTMX)
    html = response.content.decode()
    assert "Why 40?" in html
    assert html.index("Director") < html.index("Spain")
    assert "+30" in html and "+10" in html
    ledger = client.get(f"/scoring/leads/{lead.pk}/ledger/").content.decode()
    assert "Director" in ledger and "+30" in ledger


def test_panel_visibility_follows_the_lead() -> None:
    team = TeamFactory()
    rep = UserFactory(role=Role.SALES_REP, teams=[team])
    theirs = LeadFactory(owner=rep)
    other = LeadFactory(owner=UserFactory(role=Role.SALES_REP))
    client = _client(rep)
    assert client.get(f"/scoring/leads/{theirs.pk}/panel/", headers=HTMX).status_code == 200
    assert client.get(f"/scoring/leads/{other.pk}/panel/", headers=HTMX).status_code == 404
    assert client.post(f"/scoring/leads/{other.pk}/stage/", {"stage-stage": "sql"}, headers=HTMX).status_code == 404


def test_a_rep_disqualifies_with_a_reason_from_the_panel() -> None:
    rep = UserFactory(role=Role.SALES_REP)
    lead = LeadFactory(owner=rep, lifecycle_stage="mql")
    client = _client(rep)
    panel = client.get(f"/scoring/leads/{lead.pk}/panel/", headers=HTMX).content.decode()
    assert "Accept as SQL" in panel and "Disqualify" in panel

    missing = client.post(f"/scoring/leads/{lead.pk}/stage/", {"stage-stage": "disqualified"}, headers=HTMX)
    assert missing.status_code == 200 and "Choose why the lead is disqualified." in missing.content.decode()
    assert Lead.objects.get(pk=lead.pk).lifecycle_stage == "mql"

    data = {"stage-stage": "disqualified", "stage-reason": "no_budget", "stage-note": "Frozen until Q3"}
    done = client.post(f"/scoring/leads/{lead.pk}/stage/", data, headers=HTMX)
    assert done.status_code == 204 and done["HX-Trigger"] == "scoring-changed"
    lead.refresh_from_db()
    assert (lead.lifecycle_stage, lead.lifecycle_reason) == ("disqualified", "no_budget: Frozen until Q3")
    panel = client.get(f"/scoring/leads/{lead.pk}/panel/", headers=HTMX).content.decode()
    assert "No budget: Frozen until Q3" in panel
    # The timeline shows the move with who and why.
    page = client.get(f"/leads/{lead.pk}/").content.decode()
    assert "moved this lead from" in page and "No budget: Frozen until Q3" in page


def test_bant_four_of_four_makes_an_sql_and_without_htmx_redirects() -> None:
    rep = UserFactory(role=Role.SALES_REP)
    lead = LeadFactory(owner=rep, lifecycle_stage="mql")
    client = _client(rep)
    data = {"bant-budget": "20k", "bant-authority": "CTO", "bant-need": "", "bant-timing": ""}
    assert client.post(f"/scoring/leads/{lead.pk}/bant/", data, headers=HTMX).status_code == 204
    assert "2/4 known" in client.get(f"/scoring/leads/{lead.pk}/panel/", headers=HTMX).content.decode()
    full = {**data, "bant-need": "CRM", "bant-timing": "Q1"}
    response = client.post(f"/scoring/leads/{lead.pk}/bant/", full)
    assert response.status_code == 302 and response["Location"] == f"/leads/{lead.pk}/"
    assert Lead.objects.get(pk=lead.pk).lifecycle_stage == "sql"
    too_long = client.post(f"/scoring/leads/{lead.pk}/bant/", {**full, "bant-need": "x" * 201}, headers=HTMX)
    assert "at most 200 characters" in too_long.content.decode()


def test_the_timeline_shows_grade_changes() -> None:
    lead = LeadFactory(job_title="Director of IT")
    _published(rules=[{**DIRECTOR, "points": 90}])
    services.score_leads([lead.pk], cause="test")
    page = _client(UserFactory(role=Role.ADMIN)).get(f"/leads/{lead.pk}/").content.decode()
    assert "Grade changed from" in page and "Became hot" in page
