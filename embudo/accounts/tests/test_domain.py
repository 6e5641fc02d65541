"""Pure account rules: tokens and roles."""

from __future__ import annotations

import re

from hypothesis import given
from hypothesis import strategies as st

from embudo.accounts import domain


def test_new_tokens_are_prefixed_random_and_url_safe() -> None:
    tokens = {domain.new_token() for _ in range(50)}
    assert len(tokens) == 50
    for token in tokens:
        assert token.startswith(domain.TOKEN_PREFIX)
        assert re.fullmatch(r"emb_[A-Za-z0-9_-]{43}", token)


@given(st.text())
def test_token_hash_is_a_stable_sha256_hex_digest(token: str) -> None:
    digest = domain.token_hash(token)
    assert digest == domain.token_hash(token)
    assert re.fullmatch(r"[0-9a-f]{64}", digest)
    assert token == "" or digest != token


@given(st.text(min_size=1), st.text(min_size=1))
def test_different_tokens_hash_differently(a: str, b: str) -> None:
    assert (domain.token_hash(a) == domain.token_hash(b)) == (a == b)


def test_display_prefix_shows_the_marker_and_a_few_characters() -> None:
    token = domain.new_token()
    prefix = domain.token_display_prefix(token)
    assert token.startswith(prefix)
    assert len(prefix) == len(domain.TOKEN_PREFIX) + 6


def test_roles() -> None:
    assert all(domain.is_valid_role(role) for role in domain.ROLES)
    assert not domain.is_valid_role("owner")
    assert domain.sees_all_leads("admin") and domain.sees_all_leads("marketing")
    assert not domain.sees_all_leads("manager") and not domain.sees_all_leads("sales_rep")
