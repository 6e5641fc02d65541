"""The `embudo` command's own subcommands, called as a user would."""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from embudo.accounts.models import ApiToken, User
from embudo.accounts.services import authenticate_token

pytestmark = pytest.mark.django_db


def run(*args: str) -> str:
    out = StringIO()
    call_command(*args, stdout=out)
    return out.getvalue()


def test_createuser_with_team_and_generated_password() -> None:
    output = run("createuser", "--email", "Rep@Example.com", "--role", "sales_rep", "--team", "Iberia")

    user = User.objects.get(email="rep@example.com")
    assert user.role == "sales_rep"
    assert [t.name for t in user.teams.all()] == ["Iberia"]
    password = output.split("Password: ")[1].strip()
    assert user.check_password(password)


def test_createuser_rejects_weak_password_and_bad_email() -> None:
    with pytest.raises(CommandError, match="Password rejected"):
        run("createuser", "--email", "a@example.com", "--role", "admin", "--password", "123")
    with pytest.raises(CommandError, match="Invalid email"):
        run("createuser", "--email", "not-an-email", "--role", "admin", "--password", "correct horse battery")
    assert not User.objects.exists()


def test_token_create_prints_once_and_stores_only_a_hash() -> None:
    run("createuser", "--email", "api@example.com", "--role", "marketing", "--password", "correct horse battery")

    output = run("token", "create", "--user", "api@example.com", "--name", "website")

    token = output.splitlines()[1].strip()
    row = ApiToken.objects.get()
    assert token.startswith("emb_") and token not in row.token_hash
    assert authenticate_token(token) == User.objects.get(email="api@example.com")
    assert "website" in run("token", "list", "--user", "api@example.com")
    run("token", "revoke", "--user", "api@example.com", "--id", str(row.pk))
    assert authenticate_token(token) is None


def test_token_create_for_unknown_user_is_a_clear_error() -> None:
    with pytest.raises(CommandError, match="No user with email"):
        run("token", "create", "--user", "ghost@example.com", "--name", "x")


def test_check_passes_the_deploy_checklist_with_production_settings(tmp_path: object) -> None:
    # The browser tests' conftest sets DJANGO_ALLOW_ASYNC_UNSAFE, which the deploy check rightly flags.
    env = {
        **{k: v for k, v in os.environ.items() if k != "DJANGO_ALLOW_ASYNC_UNSAFE"},
        "EMBUDO_SECURE": "1",
        "EMBUDO_SECRET_KEY": secrets.token_urlsafe(50),
        "EMBUDO_ALLOWED_HOSTS": "leads.example.com",
        "EMBUDO_DATA_DIR": str(tmp_path),
    }
    result = subprocess.run(
        [sys.executable, "-m", "embudo.cli", "check", "--fail-level", "WARNING"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout
