from __future__ import annotations

import secrets
from argparse import ArgumentParser
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from embudo.accounts import domain, services
from embudo.core.exceptions import DomainError


class Command(BaseCommand):
    help = "Create or update a user who logs in by email. Prints a generated password when none is given."

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("--email", required=True)
        parser.add_argument("--role", required=True, choices=domain.ROLES)
        parser.add_argument("--team", action="append", default=[], help="Team name (repeat for several).")
        parser.add_argument("--password", help="At least 10 characters. Generated and printed when omitted.")
        parser.add_argument("--name", default="", help="Full name.")
        parser.add_argument("--language", default="en", choices=["en", "es"])

    def handle(self, *args: Any, **options: Any) -> None:
        from django.contrib.auth.password_validation import validate_password
        from django.core.exceptions import ValidationError
        from django.core.validators import validate_email

        try:
            validate_email(options["email"])
        except ValidationError as exc:
            raise CommandError(f"Invalid email {options['email']!r}.") from exc
        password = options["password"]
        generated = password is None
        if generated:
            password = secrets.token_urlsafe(12)
        else:
            try:
                validate_password(password)
            except ValidationError as exc:
                raise CommandError("Password rejected: " + " ".join(exc.messages)) from exc
        try:
            user = services.create_user(
                email=options["email"],
                role=options["role"],
                password=password,
                full_name=options["name"],
                team_names=options["team"],
                language=options["language"],
            )
        except DomainError as exc:
            raise CommandError(exc.message) from exc
        teams = ", ".join(t.name for t in user.teams.all()) or "no team"
        self.stdout.write(f"User {user.email} ({user.role}; {teams}) is ready.")
        if generated:
            self.stdout.write(f"Password: {password}")
