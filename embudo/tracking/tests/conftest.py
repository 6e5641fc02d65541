"""Scoring is another context (built alongside): these tests record the calls made to it instead of
running its engine, so they test what tracking promises (one set-based call per batch)."""

from __future__ import annotations

from typing import Any

import pytest

from embudo.scoring import services as scoring_services


@pytest.fixture(autouse=True)
def score_calls(monkeypatch: pytest.MonkeyPatch) -> list[tuple[list[int], str]]:
    calls: list[tuple[list[int], str]] = []

    def record(lead_ids: Any, **kwargs: Any) -> dict[int, Any]:
        calls.append((list(lead_ids), kwargs["cause"]))
        return {}

    monkeypatch.setattr(scoring_services, "score_leads", record)
    return calls
