"""`embudo intake report` and `embudo intake replay`."""

from __future__ import annotations

import json
from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from embudo.capture import mapping, services
from embudo.capture.models import Submission
from embudo.capture.tests.test_reconciliation import make_intake
from embudo.core import clock

pytestmark = pytest.mark.django_db


def run(*args: str) -> str:
    out = StringIO()
    call_command("intake", *args, stdout=out, stderr=StringIO())
    return out.getvalue()


def test_report_prints_the_reconciliation_table(monkeypatch: pytest.MonkeyPatch) -> None:
    make_intake(monkeypatch)

    output = run("report", "--since", "7d")

    assert "received 6 = created 1 + merged 1 + rejected 1 + quarantined 1 + pending 1 + failed 1" in output
    assert "rejected: invalid 1" in output
    assert "quarantined: honeypot 1" in output
    assert "unexplained 0" in output
    api_row = next(line for line in output.splitlines() if line.startswith("api "))
    assert api_row.split() == ["api", "6", "1", "1", "1", "1", "1", "1"]


@pytest.mark.parametrize(
    "since",
    [
        "24h",
        "7d",
        "2w",
        "today",
        "all",
        "2026-01-01",
        "2026-11-01T00:00:00+01:00",
        "2026-11-01T10:00:00Z",
        "2026-11-01t10:00:00z",
        "30m",
        "yesterday",
        "2026-11-01 10:00",
    ],
)
def test_report_accepts_relative_and_absolute_periods(since: str) -> None:
    assert "unexplained 0" in run("report", "--since", since)


def test_report_json_and_period(monkeypatch: pytest.MonkeyPatch) -> None:
    make_intake(monkeypatch)
    Submission.objects.filter(status="rejected").update(received_at=clock.now() - timedelta(days=3))

    data = json.loads(run("report", "--since", "24h", "--json"))

    assert data["received"] == 5
    assert data["rejected"] == 0
    assert data["unexplained"] == 0
    assert data["by_channel"]["api"]["created"] == 1
    assert json.loads(run("report", "--json"))["received"] == 6


def test_report_exits_1_when_something_is_unexplained(monkeypatch: pytest.MonkeyPatch) -> None:
    ids = make_intake(monkeypatch)
    Submission.objects.filter(pk=ids["merged"]).update(lead_id=None)

    with pytest.raises(CommandError) as error:
        run("report", "--since", "7d")

    assert error.value.returncode == 1


def test_report_rejects_a_bad_period() -> None:
    with pytest.raises(CommandError, match="Unrecognised period"):
        run("report", "--since", "last tuesday")


def test_replay_failed_turns_them_into_leads(monkeypatch: pytest.MonkeyPatch) -> None:
    ids = make_intake(monkeypatch)

    output = run("replay", "--failed")

    assert f"#{ids['failed']} api: failed -> processed (created) lead #" in output
    assert "Replayed 1 submission(s)." in output
    assert Submission.objects.get(pk=ids["pending"]).status == "pending"


def test_replay_pending_and_by_id(monkeypatch: pytest.MonkeyPatch) -> None:
    ids = make_intake(monkeypatch)

    output = run("replay", "--pending", "--id", str(ids["failed"]), "--id", "987654")

    assert f"#{ids['pending']} api: pending -> processed (created)" in output
    assert f"#{ids['failed']} api: failed -> processed (created)" in output
    assert "Replayed 2 submission(s)." in output


def test_replay_that_fails_again_says_why(monkeypatch: pytest.MonkeyPatch) -> None:
    ids = make_intake(monkeypatch)
    monkeypatch.setitem(mapping.MAPPERS, "api", lambda payload: (_ for _ in ()).throw(RuntimeError("still broken")))

    output = run("replay", "--id", str(ids["failed"]))

    assert "failed -> failed error: RuntimeError: still broken" in output
    assert Submission.objects.get(pk=ids["failed"]).attempts == 2


def test_replay_needs_a_selection() -> None:
    with pytest.raises(CommandError, match="Say what to replay"):
        run("replay")
    assert run("replay", "--failed") == "Nothing to replay.\n"


def test_replay_of_a_processed_submission_changes_nothing(monkeypatch: pytest.MonkeyPatch) -> None:
    ids = make_intake(monkeypatch)
    before = services.process_submission(ids["created"])

    output = run("replay", "--id", str(ids["created"]))

    assert "processed -> processed (created)" in output
    assert services.process_submission(ids["created"]) == before


def test_since_means_what_it_says() -> None:
    from datetime import UTC, datetime, timedelta

    from embudo.capture.selectors_ops import parse_since
    from embudo.core import clock

    assert parse_since("2026-11-01T10:00:00Z") == datetime(2026, 11, 1, 10, tzinfo=UTC)
    assert abs(clock.now() - timedelta(minutes=30) - parse_since("30m")) < timedelta(seconds=5)  # type: ignore[operator]
    yesterday, today = parse_since("yesterday"), parse_since("today")
    assert yesterday is not None and today is not None and today - yesterday == timedelta(days=1)
