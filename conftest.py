"""Test database: a throwaway embedded PostgreSQL per test session (or DATABASE_URL when set)."""

from __future__ import annotations

from typing import Any

import pytest
from django.conf import settings


@pytest.fixture(scope="session")
def django_db_modify_db_settings(tmp_path_factory: pytest.TempPathFactory) -> None:
    db = settings.DATABASES["default"]
    # Lets procrastinate's worker threads close their connections at teardown.
    db["CONN_MAX_AGE"] = 0
    if db["ENGINE"] == "embudo.core.db.pgembedded":
        db["EMBEDDED_PGDATA"] = str(tmp_path_factory.mktemp("pg") / "data")
        db["EMBEDDED_CLEANUP"] = "delete"


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings: Any) -> None:
    """Factories hash a password per user; PBKDF2 would dominate the suite's run time."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def _plain_static_storage(settings: Any) -> None:
    """The manifest storage needs `collectstatic`; tests render `{% static %}` without it."""
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }
