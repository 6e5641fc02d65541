"""The leads JSON API: auth, role scoping, filters, search, keyset pagination, writes and errors."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from embudo.accounts import services as account_services
from embudo.accounts.models import Role, Team, User
from embudo.accounts.tests.factories import TeamFactory, UserFactory
from embudo.core.models import DomainEvent
from embudo.core.pagination import encode_cursor
from embudo.leads import services as leads_services
from embudo.leads.models import Lead
from embudo.leads.tests.factories import CompanyFactory, LeadFactory

pytestmark = pytest.mark.django_db

URL = "/api/v1/leads"


class Api:
    """A test client that sends a real Bearer token for ``user``."""

    def __init__(self, user: User):
        self.user = user
        _, token = account_services.create_api_token(user_email=user.email, name="tests")
        self.client = Client(HTTP_AUTHORIZATION=f"Bearer {token}")

    def get(self, path: str, **params: Any) -> Any:
        return self.client.get(path, params)

    def post(self, path: str, body: Any) -> Any:
        return self.client.post(
            path, body if isinstance(body, str) else json.dumps(body), content_type="application/json"
        )

    def patch(self, path: str, body: Any) -> Any:
        return self.client.patch(
            path, body if isinstance(body, str) else json.dumps(body), content_type="application/json"
        )


@pytest.fixture
def team_a() -> Team:
    return TeamFactory.create(name="Iberia", slug="iberia")


@pytest.fixture
def team_b() -> Team:
    return TeamFactory.create(name="Mexico", slug="mexico")


def make_user(role: str, *teams: Team) -> User:
    return UserFactory.create(role=role, teams=list(teams))


@pytest.fixture
def admin() -> Api:
    return Api(make_user(Role.ADMIN))


def ids(response: Any) -> set[int]:
    assert response.status_code == 200, response.content
    return {item["id"] for item in response.json()["items"]}


def counts() -> tuple[int, int]:
    return Lead.objects.count(), DomainEvent.objects.count()


# --- documentation -------------------------------------------------------------------------


def test_openapi_schema_and_docs_are_served(client: Client) -> None:
    schema = client.get("/api/v1/openapi.json")
    assert schema.status_code == 200
    paths = schema.json()["paths"]
    assert "/api/v1/leads" in paths
    assert "/api/v1/leads/{lead_id}" in paths
    assert client.get("/api/v1/docs").status_code == 200


# --- role scoping --------------------------------------------------------------------------


@pytest.fixture
def world(team_a: Team, team_b: Team) -> dict[str, Any]:
    rep_a = make_user(Role.SALES_REP, team_a)
    rep_a2 = make_user(Role.SALES_REP, team_a)
    rep_b = make_user(Role.SALES_REP, team_b)
    manager_a = make_user(Role.MANAGER, team_a)
    leads = {
        "rep_a_own": LeadFactory.create(owner=rep_a, team=team_a),
        "rep_a2_own": LeadFactory.create(owner=rep_a2, team=team_a),
        "team_a_unassigned": LeadFactory.create(owner=None, team=team_a),
        "rep_b_own": LeadFactory.create(owner=rep_b, team=team_b),
        "team_b_unassigned": LeadFactory.create(owner=None, team=team_b),
        "nobody": LeadFactory.create(owner=None, team=None),
    }
    return {"rep_a": rep_a, "rep_b": rep_b, "manager_a": manager_a, "leads": leads}


@pytest.mark.parametrize(
    ("who", "visible"),
    [
        ("rep_a", {"rep_a_own", "team_a_unassigned"}),
        ("rep_b", {"rep_b_own", "team_b_unassigned"}),
        ("manager_a", {"rep_a_own", "rep_a2_own", "team_a_unassigned"}),
        ("marketing", {"rep_a_own", "rep_a2_own", "team_a_unassigned", "rep_b_own", "team_b_unassigned", "nobody"}),
        ("admin", {"rep_a_own", "rep_a2_own", "team_a_unassigned", "rep_b_own", "team_b_unassigned", "nobody"}),
    ],
)
def test_list_is_scoped_by_role(world: dict[str, Any], who: str, visible: set[str]) -> None:
    user = world.get(who) or make_user(who)
    api = Api(user)
    leads = world["leads"]

    assert ids(api.get(URL)) == {leads[name].pk for name in visible}
    for name, lead in leads.items():
        expected = 200 if name in visible else 404
        assert api.get(f"{URL}/{lead.pk}").status_code == expected, name


def test_rep_cannot_read_or_patch_another_reps_lead(world: dict[str, Any]) -> None:
    api = Api(world["rep_a"])
    other = world["leads"]["rep_b_own"]
    before = counts()

    read = api.get(f"{URL}/{other.pk}")
    patch = api.patch(f"{URL}/{other.pk}", {"first_name": "Hijacked"})

    assert read.status_code == 404
    assert read.json()["code"] == "lead_not_found"
    assert patch.status_code == 404
    assert patch.json()["code"] == "lead_not_found"
    other.refresh_from_db()
    assert other.first_name != "Hijacked"
    assert counts() == before


def test_rep_cannot_assign_a_lead_to_someone_else(world: dict[str, Any]) -> None:
    api = Api(world["rep_a"])
    lead = world["leads"]["team_a_unassigned"]

    response = api.patch(f"{URL}/{lead.pk}", {"owner_id": world["rep_b"].pk})

    assert response.status_code == 403
    assert response.json()["code"] == "owner_not_allowed"
    assert response.json()["fields"] == {"owner_id": ["Not allowed."]}


def test_unknown_lead_is_404_json(admin: Api) -> None:
    for lead_id in (999_999, 2**63 + 5):
        response = admin.get(f"{URL}/{lead_id}")
        assert response.status_code == 404
        assert response.json() == {"code": "lead_not_found", "message": "Lead not found.", "fields": {}}


# --- filters, search, sorts --------------------------------------------------------------


def test_filters_combine(admin: Api, team_a: Team) -> None:
    owner = make_user(Role.SALES_REP, team_a)
    match = LeadFactory.create(owner=owner, team=team_a, status="working", country="ES", source="web")
    LeadFactory.create(owner=owner, team=team_a, status="new", country="ES", source="web")
    LeadFactory.create(owner=None, team=team_a, status="working", country="ES", source="web")
    unassigned = LeadFactory.create(owner=None, team=None, lifecycle_stage="mql", grade="hot")

    assert ids(admin.get(URL, owner_id=owner.pk, status="working", country="ES", source="web")) == {match.pk}
    assert ids(admin.get(URL, team_id=team_a.pk, owner_id=owner.pk)) == {
        match.pk,
        *Lead.objects.filter(owner=owner, status="new").values_list("id", flat=True),
    }
    assert unassigned.pk in ids(admin.get(URL, unassigned="true"))
    assert match.pk not in ids(admin.get(URL, unassigned="true"))
    assert ids(admin.get(URL, lifecycle_stage="mql", grade="hot")) == {unassigned.pk}


@pytest.mark.parametrize(
    "query",
    ["martina", "MARTÍNEZ", "martina.garcia@", "acme ibérica", "600 123", "+34600123456", "0034 600 123 456"],
)
def test_search_matches_name_email_company_and_phone(admin: Api, query: str) -> None:
    wanted = admin.post(
        URL,
        {
            "first_name": "Martina",
            "last_name": "Martínez",
            "email": "Martina.Garcia@Example.ES",
            "company_name": "Acme Ibérica",
            "phone": "+34 600 123 456",
        },
    ).json()
    LeadFactory.create(first_name="Other", last_name="Person", email="other@example.com", company_name="Globex")

    assert ids(admin.get(URL, search=query)) == {wanted["id"]}


def test_search_escapes_like_wildcards(admin: Api) -> None:
    LeadFactory.create(first_name="Plain", email="plain@example.com")
    assert ids(admin.get(URL, search="%")) == set()
    assert ids(admin.get(URL, search="_")) == set()


@pytest.mark.parametrize(
    ("sort", "key"),
    [
        ("-created", lambda lead: (lead.created_at, lead.pk)),
        ("created", lambda lead: (lead.created_at, lead.pk)),
        ("-updated", lambda lead: (lead.updated_at, lead.pk)),
        ("-score", lambda lead: (lead.score, lead.pk)),
        ("score", lambda lead: (lead.score, lead.pk)),
        ("last_name", lambda lead: (lead.last_name, lead.pk)),
    ],
)
def test_sorts_order_items_with_id_as_tie_breaker(admin: Api, sort: str, key: Any) -> None:
    base = timezone.now()
    for i in range(7):
        LeadFactory.create(
            score=[10, 5, 10, 0, 5, 10, 1][i],
            last_name=["b", "a", "b", "c", "a", "b", "d"][i],
            created_at=base - timedelta(minutes=[1, 2, 1, 3, 2, 1, 4][i]),
            updated_at=base - timedelta(minutes=i),
        )

    items = admin.get(URL, sort=sort).json()["items"]

    leads = {lead.pk: lead for lead in Lead.objects.all()}
    expected = sorted(leads.values(), key=key, reverse=sort.startswith("-"))
    if sort == "last_name":  # collation may differ from Python's; these names are plain ASCII
        expected = sorted(leads.values(), key=key)
    assert [item["id"] for item in items] == [lead.pk for lead in expected]


def test_unknown_sort_is_422(admin: Api) -> None:
    response = admin.get(URL, sort="password")
    assert response.status_code == 422
    assert "sort" in response.json()["fields"]


# --- keyset pagination -------------------------------------------------------------------


@pytest.mark.parametrize("sort", ["-created", "created", "-score", "score", "last_name", "-updated"])
def test_walking_all_pages_returns_every_lead_once(admin: Api, sort: str) -> None:
    same_time = timezone.now()
    # Many ties in every sort key, so the id tie-breaker is what keeps pages apart.
    for i in range(23):
        LeadFactory.create(score=i % 3, last_name=f"n{i % 4}", created_at=same_time, updated_at=same_time)

    seen: list[int] = []
    cursor = None
    pages = 0
    while True:
        params: dict[str, Any] = {"sort": sort, "limit": 5}
        if cursor:
            params["cursor"] = cursor
        body = admin.get(URL, **params).json()
        seen.extend(item["id"] for item in body["items"])
        pages += 1
        cursor = body["next_cursor"]
        if cursor is None:
            break
        assert pages < 10

    assert len(seen) == len(set(seen)) == 23
    assert set(seen) == set(Lead.objects.values_list("id", flat=True))
    assert pages == 5


@pytest.mark.parametrize(
    "cursor",
    [
        "not-a-cursor!!",
        "e30",  # {} (not a list)
        encode_cursor([1, 2, 3]),
        encode_cursor(["not a date", 1]),
        encode_cursor(["2026-01-01T00:00:00+00:00", "x"]),
        encode_cursor([{"a": 1}, 1]),
    ],
)
def test_invalid_cursor_is_422(admin: Api, cursor: str) -> None:
    LeadFactory.create()
    response = admin.get(URL, cursor=cursor)
    assert response.status_code == 422, response.content
    assert response.json()["code"] == "validation_error"
    assert "cursor" in response.json()["fields"]


@pytest.mark.parametrize("limit", [0, -1, 201])
def test_limit_out_of_range_is_422(admin: Api, limit: int) -> None:
    response = admin.get(URL, limit=limit)
    assert response.status_code == 422
    assert "limit" in response.json()["fields"]


def test_list_query_count_does_not_grow_with_page_size(
    admin: Api, team_a: Team, django_assert_max_num_queries: Any
) -> None:
    owner = make_user(Role.SALES_REP, team_a)
    company = CompanyFactory.create()
    LeadFactory.create_batch(60, owner=owner, team=team_a, company=company)
    admin.get(URL)  # token's last_used_at is written on first use only

    with django_assert_max_num_queries(3):  # token lookup, (no last-used write), page
        assert len(admin.get(URL, limit=5).json()["items"]) == 5
    with django_assert_max_num_queries(3):
        assert len(admin.get(URL, limit=60).json()["items"]) == 60


def test_rep_list_query_count_is_bounded(team_a: Team, django_assert_max_num_queries: Any) -> None:
    rep = make_user(Role.SALES_REP, team_a)
    LeadFactory.create_batch(30, owner=rep, team=team_a)
    api = Api(rep)
    api.get(URL)

    with django_assert_max_num_queries(4):  # token, team ids, page
        assert len(api.get(URL, limit=30).json()["items"]) == 30


# --- detail ------------------------------------------------------------------------------


def test_detail_includes_timeline_newest_first(admin: Api) -> None:
    created = admin.post(URL, {"email": "timeline@example.com", "first_name": "Tim"}).json()
    admin.patch(f"{URL}/{created['id']}", {"status": "working"})

    body = admin.get(f"{URL}/{created['id']}").json()

    assert body["email"] == "timeline@example.com"
    assert [event["type"] for event in body["timeline"]] == [
        "leads.LeadUpdated",
        "capture.LeadCaptured",
        "leads.LeadCreated",
    ]
    assert body["timeline"][0]["payload"]["changes"] == {"status": ["new", "working"]}
    assert body["timeline"][0]["actor_id"] == admin.user.pk


def test_detail_shows_the_company_and_its_lead_counts_after_the_drain(admin: Api) -> None:
    first = admin.post(URL, {"email": "ana@acme-iberia.es", "first_name": "Ana"}).json()
    admin.post(URL, {"email": "leo@acme-iberia.es", "first_name": "Leo"})
    company = admin.get(f"{URL}/{first['id']}").json()["company"]
    assert (company["domain"], company["lead_count"]) == ("acme-iberia.es", 0)  # the worker's drain has not run
    leads_services.drain_company_stats()
    company = admin.get(f"{URL}/{first['id']}").json()["company"]
    newest = Lead.objects.filter(company_id=company["id"]).latest("created_at").created_at
    assert company["lead_count"] == 2
    # The company's leads, by the list's company filter.
    admin.post(URL, {"email": "eva@globex.es", "first_name": "Eva"})
    listed = admin.get(f"{URL}?company_id={company['id']}").json()["items"]
    assert sorted(item["first_name"] for item in listed) == ["Ana", "Leo"]
    assert company["last_lead_at"].startswith(newest.strftime("%Y-%m-%dT%H:%M:%S.%f")[:23])  # JSON has milliseconds


# --- bad input (creation through intake is tested in embudo/capture/tests/test_api.py) --------


BAD_INPUT: list[tuple[str, Any, str]] = [
    ("invalid email", {"email": "not-an-email"}, "email"),
    ("invalid email domain", {"email": "ana@"}, "email"),
    ("unknown field", {"email": "ok@example.com", "is_admin": True}, "is_admin"),
    ("wrong type", {"email": "ok@example.com", "first_name": 42}, "first_name"),
    ("wrong type (id)", {"email": "ok@example.com", "owner_id": "me"}, "owner_id"),
    ("wrong type (object)", {"email": "ok@example.com", "custom_fields": [1, 2]}, "custom_fields"),
    ("over-long name", {"email": "ok@example.com", "first_name": "x" * 101}, "first_name"),
    ("over-long email", {"email": "a" * 250 + "@example.com"}, "email"),
    ("over-long country", {"email": "ok@example.com", "country": "ESP"}, "country"),
    ("bad country", {"email": "ok@example.com", "country": "1!"}, "country"),
    ("bad phone", {"phone": "call me maybe"}, "phone"),
    ("bad choice", {"email": "ok@example.com", "status": "won"}, "status"),
    ("bad language", {"email": "ok@example.com", "language": "fr"}, "language"),
    ("unknown owner", {"email": "ok@example.com", "owner_id": 999_999}, "owner_id"),
    ("unknown team", {"email": "ok@example.com", "team_id": 999_999}, "team_id"),
    ("huge custom fields", {"email": "ok@example.com", "custom_fields": {"k": "x" * 20_000}}, "custom_fields"),
]


@pytest.mark.parametrize(("case", "body", "field"), BAD_INPUT, ids=[case for case, _, _ in BAD_INPUT])
def test_bad_input_on_patch_is_422_and_changes_nothing(admin: Api, case: str, body: Any, field: str) -> None:
    lead = LeadFactory.create(first_name="Keep", email="keep@example.com")
    before = counts()

    response = admin.patch(f"{URL}/{lead.pk}", {**body, "last_name": "Partial"})

    assert response.status_code == 422, response.content
    assert field in response.json()["fields"]
    lead.refresh_from_db()
    assert (lead.first_name, lead.last_name, lead.email) == ("Keep", lead.last_name, "keep@example.com")
    assert lead.last_name != "Partial"
    assert counts() == before


@pytest.mark.parametrize("raw", ["{", '{"email": "a@example.com",}', "not json", "\xff\xfe"])
def test_malformed_json_is_422(admin: Api, raw: str) -> None:
    lead = LeadFactory.create()
    before = counts()

    for response in (admin.post(URL, raw), admin.patch(f"{URL}/{lead.pk}", raw)):
        assert response.status_code == 422, response.content
        assert response.json()["code"] == "malformed_json"
        assert "body" in response.json()["fields"]
    assert counts() == before


def test_json_that_is_not_an_object_is_422(admin: Api) -> None:
    before = counts()
    response = admin.post(URL, "[1, 2]")
    assert response.status_code == 422
    assert response.json()["code"] == "validation_error"
    assert counts() == before


# --- patch -------------------------------------------------------------------------------


def test_patch_changes_only_the_given_fields_and_records_the_changes(admin: Api) -> None:
    lead = LeadFactory.create(first_name="Ana", last_name="López", email="ana@example.com", city="Madrid")

    response = admin.patch(f"{URL}/{lead.pk}", {"city": "Sevilla", "status": "working", "first_name": "Ana"})

    assert response.status_code == 200, response.content
    body = response.json()
    assert (body["city"], body["status"], body["last_name"]) == ("Sevilla", "working", "López")
    event = DomainEvent.objects.get(lead_id=lead.pk, type="leads.LeadUpdated")
    assert event.payload["changes"] == {"city": ["Madrid", "Sevilla"], "status": ["new", "working"]}
    assert event.actor_id == admin.user.pk


def test_patch_without_changes_records_no_event(admin: Api) -> None:
    lead = LeadFactory.create(first_name="Ana")
    before = counts()

    response = admin.patch(f"{URL}/{lead.pk}", {"first_name": "  Ana "})

    assert response.status_code == 200
    assert counts() == before


def test_patch_null_clears_text_and_unassigns(admin: Api, team_a: Team) -> None:
    owner = make_user(Role.SALES_REP, team_a)
    lead = LeadFactory.create(city="Madrid", owner=owner, custom_fields={"plan": "pro"})

    response = admin.patch(f"{URL}/{lead.pk}", {"city": None, "owner_id": None, "custom_fields": None})

    assert response.status_code == 200, response.content
    lead.refresh_from_db()
    assert (lead.city, lead.owner_id, lead.custom_fields) == ("", None, {})


def test_patch_null_on_a_choice_is_422(admin: Api) -> None:
    lead = LeadFactory.create()
    response = admin.patch(f"{URL}/{lead.pk}", {"status": None})
    assert response.status_code == 422
    assert "status" in response.json()["fields"]


def test_patch_cannot_remove_the_last_identity(admin: Api) -> None:
    lead = LeadFactory.create(first_name="", last_name="", email="only@example.com", phone="")
    response = admin.patch(f"{URL}/{lead.pk}", {"email": ""})
    assert response.status_code == 422
    lead.refresh_from_db()
    assert lead.email == "only@example.com"


def test_patch_to_an_existing_email_is_409(admin: Api) -> None:
    LeadFactory.create(email="taken@example.com")
    lead = LeadFactory.create(email="mine@example.com")
    before = counts()

    response = admin.patch(f"{URL}/{lead.pk}", {"email": "Taken@Example.com"})

    assert response.status_code == 409
    assert response.json()["code"] == "duplicate_lead"
    assert counts() == before


def test_patch_changing_only_the_case_of_the_email_is_allowed(admin: Api) -> None:
    lead = LeadFactory.create(email="case@example.com")
    response = admin.patch(f"{URL}/{lead.pk}", {"email": "CASE@example.com"})
    assert response.status_code == 200
    assert response.json()["email"] == "case@example.com"


# --- input PostgreSQL cannot store ------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"email": "ok@example.com", "first_name": "Ana\x00"}, "first_name"),
        ({"email": "ok@example.com", "custom_fields": {"note": "a\x00b"}}, "custom_fields"),
        ({"email": "ok@example.com", "custom_fields": {"a\x00": 1}}, "custom_fields"),
        ({"email": "ok\x00@example.com"}, "email"),
    ],
)
def test_nul_characters_are_422_not_500(admin: Api, body: dict[str, Any], field: str) -> None:
    lead = LeadFactory.create(email="nul@example.com")
    before = counts()
    response = admin.patch(f"{URL}/{lead.pk}", {k: v for k, v in body.items() if k != "email"} or body)
    assert response.status_code == 422, response.content
    assert field in response.json()["fields"]
    assert counts() == before


@pytest.mark.parametrize("param", ["search", "source", "country", "status", "lifecycle_stage", "grade"])
def test_nul_characters_in_filters_match_nothing(admin: Api, param: str) -> None:
    LeadFactory.create()
    response = admin.get(URL, **{param: "a\x00b"})
    assert response.status_code == 200
    assert response.json()["items"] == []


def test_nul_character_in_a_cursor_is_422(admin: Api) -> None:
    LeadFactory.create()
    response = admin.get(URL, sort="last_name", cursor=encode_cursor(["a\x00", 1]))
    assert response.status_code == 422
    assert "cursor" in response.json()["fields"]


def test_empty_body_is_422(admin: Api) -> None:
    response = admin.post(URL, "")
    assert response.status_code == 422
    assert response.json()["code"] in {"malformed_json", "validation_error"}


@pytest.mark.parametrize("path", ["/api/v1/nope", f"{URL}/1/extra"])
def test_unknown_api_path_is_a_json_404(admin: Api, path: str) -> None:
    response = admin.get(path)
    assert response.status_code == 404
    assert response.json() == {"code": "not_found", "message": "No such API endpoint.", "fields": {}}
