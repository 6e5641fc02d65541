"""The duplicates review queue and merge screen in a real browser: queue → candidate → pick a field →
merge → the survivor's timeline → undo."""

from __future__ import annotations

from typing import Any

import pytest

from embudo.accounts.models import Role
from embudo.accounts.tests.factories import UserFactory
from embudo.dedupe import services
from embudo.leads.models import Lead
from embudo.leads.tests.factories import LeadFactory
from tests.e2e.conftest import log_in

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_review_merge_and_undo_a_duplicate(page: Any, live_server: Any) -> None:
    UserFactory(email="mara@example.com", full_name="Mara Marketing", role=Role.MARKETING)
    a = LeadFactory(first_name="Lucía", last_name="Núñez", email="lucia@acme.example", city="Bilbao")
    b = LeadFactory(first_name="Lucia", last_name="Nunez", email="lnunez@gmail.com", job_title="COO")
    services.record_candidate(lead_id=a.pk, other_id=b.pk, score=0.81,
                              reasons=[{"field": "last_name", "similarity": 0.95, "weight": 3.1}])  # fmt: skip

    log_in(page, live_server.url, "mara@example.com")
    page.get_by_role("navigation", name="Main").get_by_text("More").click()
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Duplicates").click()
    page.wait_for_url(f"{live_server.url}/duplicates/")
    assert "Last name: 95% alike" in page.locator("table").inner_text()
    page.get_by_role("link", name="Review").click()
    page.wait_for_url(f"{live_server.url}/duplicates/*/merge/")

    page.get_by_label("Email: lnunez@gmail.com (merged lead)").check()
    assert page.get_by_label("Job title: COO (merged lead)").is_checked()  # the survivorship default
    page.get_by_role("button", name="Merge").click()
    page.wait_for_url(f"{live_server.url}/leads/{a.pk}/")
    assert page.get_by_text("Leads merged.").is_visible()
    assert "merged a duplicate lead into this one" in page.locator(".timeline").inner_text()
    survivor = Lead.objects.get(pk=a.pk)
    assert (survivor.email, survivor.job_title) == ("lnunez@gmail.com", "COO")
    assert not Lead.objects.filter(pk=b.pk).exists()

    page.get_by_role("button", name="Undo merge").click()
    page.wait_for_url(f"{live_server.url}/leads/{a.pk}/")
    assert page.get_by_text("Merge undone").is_visible()
    assert "undid a merge" in page.locator(".timeline").inner_text()
    assert Lead.objects.get(pk=a.pk).email == "lucia@acme.example"
    assert Lead.objects.get(pk=b.pk).email == "lnunez@gmail.com"
