"""Pure rules about tokens and roles (no Django)."""

from __future__ import annotations

import hashlib
import secrets

TOKEN_PREFIX = "emb_"  # noqa: S105 - a public marker, not a secret
ROLES = ("admin", "manager", "marketing", "sales_rep")
ROLES_SEEING_ALL = frozenset({"admin", "marketing"})


def new_token() -> str:
    """A random, URL-safe token with a recognisable prefix (so secret scanners can spot leaks)."""
    return TOKEN_PREFIX + secrets.token_urlsafe(32)


def token_hash(token: str) -> str:
    # Tokens carry 256 random bits, so a fast hash is enough (no password stretching needed).
    return hashlib.sha256(token.encode()).hexdigest()


def token_display_prefix(token: str) -> str:
    return token[: len(TOKEN_PREFIX) + 6]


def sees_all_leads(role: str) -> bool:
    return role in ROLES_SEEING_ALL


def is_valid_role(role: str) -> bool:
    return role in ROLES
