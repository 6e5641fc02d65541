from __future__ import annotations

from argparse import ArgumentParser
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from embudo.accounts import selectors, services
from embudo.core.exceptions import DomainError


class Command(BaseCommand):
    help = "API tokens: `create --user EMAIL --name NAME` (prints the token once), `list --user EMAIL`, `revoke`."

    def add_arguments(self, parser: ArgumentParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        create = sub.add_parser("create", help="Create a token; it is printed once and stored hashed.")
        create.add_argument("--user", required=True, help="The user's email.")
        create.add_argument("--name", required=True, help="What the token is for, e.g. 'website form'.")
        listing = sub.add_parser("list", help="List a user's tokens.")
        listing.add_argument("--user", required=True)
        revoke = sub.add_parser("revoke", help="Revoke a token by id.")
        revoke.add_argument("--user", required=True)
        revoke.add_argument("--id", type=int, required=True)

    def handle(self, *args: Any, **options: Any) -> None:
        action = options["action"]
        if action == "create":
            try:
                row, token = services.create_api_token(user_email=options["user"], name=options["name"])
            except DomainError as exc:
                raise CommandError(exc.message) from exc
            self.stdout.write(f"Token {row.name!r} (id {row.pk}) for {row.user.email}:")
            self.stdout.write(token)
            self.stdout.write("Store it now: it is not shown again. Send it as `Authorization: Bearer <token>`.")
            return
        user = selectors.get_user_by_email(options["user"])
        if user is None:
            raise CommandError(f"No user with email {options['user']!r}.")
        if action == "list":
            for row in selectors.list_api_tokens(user):
                state = "revoked" if row.revoked_at else "active"
                used = row.last_used_at.isoformat() if row.last_used_at else "never used"
                self.stdout.write(f"{row.pk}\t{row.name}\t{row.prefix}…\t{state}\t{used}")
        else:
            services.revoke_api_token(token_id=options["id"], user=user)
            self.stdout.write(f"Token {options['id']} revoked.")
