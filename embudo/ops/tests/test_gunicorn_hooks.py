"""The keep-alive quota of ``embudo serve`` (embudo.ops.gunicorn_hooks): spread over the clients' ports."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from hypothesis import given
from hypothesis import strategies as st

from embudo.ops import gunicorn_hooks
from embudo.ops.gunicorn_hooks import REQUESTS_PER_CONNECTION, pre_request, quota_of


@given(st.integers(min_value=0, max_value=65535))
def test_a_connection_quota_is_between_the_setting_and_half_as_much_again(port: int) -> None:
    quota = quota_of(("127.0.0.1", port))
    assert REQUESTS_PER_CONNECTION <= quota <= REQUESTS_PER_CONNECTION * 3 // 2
    assert quota == quota_of(("10.0.0.1", port))  # the same connection keeps its quota


def test_simultaneous_connections_get_different_quotas() -> None:
    quotas = {quota_of(("127.0.0.1", port)) for port in range(40000, 40016)}
    assert len(quotas) == 16


def test_a_unix_socket_peer_gets_the_setting_itself() -> None:
    assert quota_of("") == REQUESTS_PER_CONNECTION


def test_pre_request_closes_the_connection_at_its_quota() -> None:
    peer = ("127.0.0.1", 40007)
    quota = quota_of(peer)
    before = SimpleNamespace(req_number=quota - 1, peer_addr=peer, must_close=False)
    at = SimpleNamespace(req_number=quota, peer_addr=peer, must_close=False)
    pre_request(None, before)
    pre_request(None, at)
    assert (before.must_close, at.must_close) == (False, True)


def test_a_quota_of_zero_never_closes(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(gunicorn_hooks, "REQUESTS_PER_CONNECTION", 0)
    req = SimpleNamespace(req_number=10_000, peer_addr=("127.0.0.1", 1), must_close=False)
    pre_request(None, req)
    assert req.must_close is False
