from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from embudo.notifications import domain


def test_defaults_are_in_app_for_all_and_email_for_assignments_and_slas() -> None:
    assert domain.default_channels("lead_hot") == domain.Channels(in_app=True, email=False)
    for kind in ("lead_assigned", "sla_breached", "sla_reminder"):
        assert domain.default_channels(kind) == domain.Channels(in_app=True, email=True)
    saved = domain.Channels(in_app=False, email=False)
    assert domain.channels_for("lead_assigned", saved) == saved


def test_webhook_without_kinds_wants_everything() -> None:
    assert domain.webhook_wants([], "lead_hot")
    assert domain.webhook_wants(["lead_hot"], "lead_hot")
    assert not domain.webhook_wants(["sla_breached"], "lead_hot")


def test_payload_is_slack_compatible() -> None:
    payload = domain.webhook_payload(kind="lead_assigned", title="New lead", body="Ana", lead_id=3,
                                     url="https://x.example/leads/3/", team_id=1, sent_at="t")  # fmt: skip
    assert payload["text"] == "*New lead*\nAna\n<https://x.example/leads/3/|https://x.example/leads/3/>"
    assert payload["embudo"]["lead_id"] == 3 and payload["embudo"]["kind"] == "lead_assigned"


def test_absolute_url() -> None:
    assert domain.absolute_url("https://e.example/", "/leads/1/") == "https://e.example/leads/1/"
    assert domain.absolute_url("https://e.example", "https://other/") == "https://other/"
    assert domain.absolute_url("https://e.example", "") == ""


@given(st.text(min_size=1), st.text(), st.binary())
def test_signature_verifies_only_the_signed_body(secret: str, timestamp: str, body: bytes) -> None:
    header = domain.signature(secret, timestamp, body)
    assert domain.verify(secret, timestamp, body, header)
    assert not domain.verify(secret, timestamp, body + b"x", header)
