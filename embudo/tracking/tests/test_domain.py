"""Pure validation of behaviour events and origins (no database)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from embudo.tracking.domain import events as domain

NOW = datetime(2026, 5, 1, 12, 0, tzinfo=UTC)


def test_clean_event_with_defaults() -> None:
    event, errors = domain.clean_event({"type": "page_view", "lead_id": 7}, now=NOW)
    assert errors == {}
    assert event is not None
    assert (event.stored_type, event.occurred_at, event.lead_id, event.properties) == ("activity.page_view", NOW, 7, {})


def test_prefixed_and_custom_types_are_accepted() -> None:
    assert domain.clean_event({"type": "activity.webinar_attended", "email": "A@B.example"}, now=NOW)[0] is not None
    event, _ = domain.clean_event({"type": "trial_extended", "visitor_id": "abcdefgh12"}, now=NOW)
    assert event is not None and event.type == "trial_extended"


def test_field_messages() -> None:
    _, errors = domain.clean_event(
        {"type": "Bad Type", "lead_id": 1, "email": "x@y.example", "timestamp": "yesterday", "colour": "red",
         "properties": [1], "id": "has space"},
        now=NOW,
    )  # fmt: skip
    assert set(errors) == {"type", "email", "timestamp", "colour", "properties", "id"}
    assert errors["colour"] == ["Unknown field."]
    assert domain.clean_event({"type": "page_view"}, now=NOW)[1] == {
        "lead_id": ["Give exactly one of lead_id, email or visitor_id."]
    }


def test_timestamp_window() -> None:
    future = (NOW + timedelta(minutes=6)).isoformat()
    old = (NOW - timedelta(days=401)).isoformat()
    assert "future" in domain.parse_timestamp(future, now=NOW)[1]
    assert "400 days" in domain.parse_timestamp(old, now=NOW)[1]
    assert domain.parse_timestamp("2026-05-01T11:00:00Z", now=NOW) == (NOW - timedelta(hours=1), "")
    assert domain.parse_timestamp("2026-05-01T11:00:00", now=NOW)[0] == NOW - timedelta(hours=1)  # naive is UTC


def test_properties_limits() -> None:
    big = {"text": "x" * (domain.MAX_PROPERTIES_BYTES + 1)}
    assert (
        "bytes"
        in domain.clean_event({"type": "page_view", "lead_id": 1, "properties": big}, now=NOW)[1]["properties"][0]
    )
    many = {f"k{i}": i for i in range(domain.MAX_PROPERTIES_KEYS + 1)}
    assert domain.clean_event({"type": "page_view", "lead_id": 1, "properties": many}, now=NOW)[0] is None


_json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=12,
)


@given(st.dictionaries(st.text(max_size=8), _json_values, max_size=6))
def test_compact_json_is_what_json_dumps_writes(properties: dict[str, object]) -> None:
    assert domain._dumps(properties) == json.dumps(properties, ensure_ascii=False, separators=(",", ":"))


def test_properties_that_are_not_json_are_rejected() -> None:
    circular: dict[str, object] = {}
    circular["self"] = circular
    for properties in ({"x": float("nan")}, {"x": float("inf")}, {"x": object()}, circular):
        assert domain.clean_event({"type": "page_view", "lead_id": 1, "properties": properties}, now=NOW)[1] == {
            "properties": ["Give a JSON object."]
        }


def test_origins() -> None:
    assert domain.normalize_origin("HTTPS://www.Example.com/") == "https://www.example.com"
    assert domain.normalize_origin("www.example.com") == ""
    assert domain.normalize_origin("https://example.com/path") == ""
    allowed = ["https://www.example.com", "https://*.shop.example"]
    assert domain.origin_allowed("https://www.example.com", allowed)
    assert not domain.origin_allowed("http://www.example.com", allowed)
    assert domain.origin_allowed("https://eu.shop.example", allowed)
    assert not domain.origin_allowed("https://shop.example", allowed)
    assert not domain.origin_allowed("https://evilshop.example", allowed)
    assert not domain.origin_allowed("null", allowed)


def test_page_view_properties_keep_only_the_snippet_keys() -> None:
    props = domain.page_view_properties({"url": "https://a.example/x", "path": "/x", "cookie": "secret", "title": 3})
    assert props == {"url": "https://a.example/x", "path": "/x"}


@given(st.dictionaries(st.text(max_size=10), st.one_of(st.none(), st.integers(), st.text(max_size=30)), max_size=8))
def test_clean_event_never_raises_and_returns_one_of_event_or_errors(raw: dict[str, object]) -> None:
    event, errors = domain.clean_event(raw, now=NOW)
    assert (event is None) == bool(errors)


def test_page_urls_keep_only_campaign_parameters() -> None:
    props = domain.page_view_properties(
        {
            "url": "https://user:pw@Shop.example:8443/reset?token=s3cr3t&email=ana%40x.es&utm_source=ads&utm_medium=cpc#me",
            "referrer": "https://search.example/q?q=ana+garcia+phone",
            "path": "/reset",
        }
    )
    assert props["url"] == "https://shop.example:8443/reset?utm_source=ads&utm_medium=cpc"
    assert props["referrer"] == "https://search.example/q"
    assert props["path"] == "/reset"


@given(
    st.dictionaries(
        st.text(alphabet="abcdefghij_", min_size=1, max_size=8), st.text(min_size=1, max_size=12), max_size=5
    )
)
def test_no_non_campaign_parameter_survives(params: dict[str, str]) -> None:
    from urllib.parse import parse_qsl, urlencode, urlsplit

    cleaned = domain.url_without_personal_data("https://a.example/p?" + urlencode(params) + "#frag")
    parts = urlsplit(cleaned)
    kept = dict(parse_qsl(parts.query))
    assert all(k.startswith("utm_") for k in kept)
    assert set(kept) <= {k for k in params if k.startswith("utm_")}
    assert parts.fragment == "" and parts.path == "/p"
