"""Pure rules: click-to-chat links, durations, validation (no database)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from embudo.interactions import domain

NOW = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
e164 = st.from_regex(r"\+[1-9][0-9]{6,14}", fullmatch=True)


@given(phone=e164, text=st.text(max_size=300))
@example(phone="+34600111222", text="Hola, ¿qué tal? 50% & más #1 + a=b\nsegunda línea")
def test_click_to_chat_url_round_trips_the_phone_digits_and_the_text(phone: str, text: str) -> None:
    url = domain.click_to_chat_url(phone, text)
    parts = urlsplit(url)
    assert (parts.scheme, parts.netloc) == ("https", "wa.me")
    assert parts.path == "/" + phone[1:] and parts.path[1:].isdigit()
    if text:
        assert parse_qs(parts.query, keep_blank_values=True, strict_parsing=True) == {"text": [text]}
        assert not set(parts.query[len("text=") :]) & set(" &#?\n+")  # all reserved characters encoded
    else:
        assert parts.query == "" and "?" not in url


@given(st.text(max_size=20).filter(lambda s: not domain.is_e164(s)))
@example("34600111222")
@example("+0600111222")
@example("+34 600 111 222")
def test_click_to_chat_url_refuses_anything_but_e164(phone: str) -> None:
    with pytest.raises(ValueError):
        domain.click_to_chat_url(phone)


@given(st.integers(min_value=0, max_value=domain.MAX_DURATION_SECONDS))
def test_durations_format_and_parse_back(seconds: int) -> None:
    text = domain.format_duration(seconds)
    assert domain.parse_duration(text) == seconds
    if seconds < 3600:
        minutes, secs = text.split(":")
        assert len(minutes) == 2 and len(secs) == 2


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("", None), (" 7 ", 420), ("7:30", 450), ("07:05", 425), ("1:05:00", 3900), ("90:00", 5400)],
)
def test_parse_duration_reads_what_reps_type(text: str, seconds: int | None) -> None:
    assert domain.parse_duration(text) == seconds


@pytest.mark.parametrize("text", ["7:60", "abc", "-5", "1:60:00", "5 min", "٣", "123456", "1:2:3:4"])
def test_parse_duration_rejects_the_rest(text: str) -> None:
    with pytest.raises(ValueError):
        domain.parse_duration(text)


def test_format_duration() -> None:
    assert [domain.format_duration(s) for s in (None, 0, 5, 65, 3599, 3600, 3725)] == [
        "", "00:00", "00:05", "01:05", "59:59", "1:00:00", "1:02:05",
    ]  # fmt: skip


def codes(problems: list[domain.Problem]) -> dict[str, str]:
    return {p.field: p.code for p in problems}


def test_a_valid_call_has_no_problems() -> None:
    assert domain.validate_call(outcome="connected", direction="outbound", duration_seconds=300, notes="ok",
                                occurred_at=NOW - timedelta(hours=1), now=NOW) == []  # fmt: skip


def test_call_problems_name_their_fields() -> None:
    problems = domain.validate_call(outcome="maybe", direction="sideways", duration_seconds=-1, notes="x" * 5001,
                                    occurred_at=NOW + timedelta(hours=1), now=NOW)  # fmt: skip
    assert codes(problems) == {"outcome": "invalid_choice", "direction": "invalid_choice",
                               "duration_seconds": "invalid_duration", "notes": "too_long",
                               "occurred_at": "future"}  # fmt: skip
    assert codes(domain.validate_call(outcome="", direction="outbound", duration_seconds=9 * 3600, notes="",
                                      occurred_at=NOW - timedelta(days=400), now=NOW)) == {
        "outcome": "required", "duration_seconds": "duration_too_long", "occurred_at": "too_old"}  # fmt: skip
    problems = domain.validate_call(outcome="no_answer", direction="outbound", duration_seconds=30, notes="",
                                    occurred_at=NOW, now=NOW)  # fmt: skip
    assert codes(problems) == {"duration_seconds": "duration_without_answer"}


def test_a_slightly_fast_browser_clock_is_not_the_future() -> None:
    assert domain.validate_occurred_at(NOW + timedelta(minutes=1), NOW) == []
    assert codes(domain.validate_occurred_at(datetime(2026, 1, 1), NOW)) == {"occurred_at": "naive"}


def test_meeting_outcomes() -> None:
    assert domain.validate_meeting(outcome="held", notes="", occurred_at=NOW, now=NOW) == []
    assert codes(domain.validate_meeting(outcome="connected", notes="", occurred_at=NOW, now=NOW)) == {
        "outcome": "invalid_choice"
    }


def test_email_needs_an_address_a_one_line_subject_and_a_body() -> None:
    assert domain.validate_email(to="a@b.example", subject="Hi", body="Hello") == []
    assert codes(domain.validate_email(to="", subject=" ", body="")) == {
        "to": "lead_without_email", "subject": "required", "body": "required"}  # fmt: skip
    assert codes(domain.validate_email(to="a@b.example", subject="Hi\r\nBcc: x@y", body="b")) == {
        "subject": "line_break"
    }


def test_whatsapp_needs_an_e164_phone_and_a_message() -> None:
    assert domain.validate_whatsapp(phone="+34600111222", text="Hola", direction="outbound") == []
    assert codes(domain.validate_whatsapp(phone="", text="", direction="outbound")) == {
        "phone": "lead_without_phone", "text": "required"}  # fmt: skip
    assert codes(domain.validate_whatsapp(phone="600111222", text="x" * 4097, direction="outbound")) == {
        "phone": "not_e164", "text": "too_long"}  # fmt: skip


@given(st.text(max_size=1000), st.integers(min_value=10, max_value=400))
def test_excerpt_is_one_short_line_that_starts_like_the_text(text: str, limit: int) -> None:
    short = domain.excerpt(text, limit)
    flat = " ".join(text.split())
    assert len(short) <= limit and "\n" not in short
    assert short == flat or (short.endswith("…") and flat.startswith(short[:-1].rstrip()))
