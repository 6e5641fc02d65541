from __future__ import annotations

from typing import Any

import factory

from embudo.accounts.models import Role, Team, User


class TeamFactory(factory.django.DjangoModelFactory[Team]):
    class Meta:
        model = Team
        django_get_or_create = ("slug",)

    name = factory.Sequence(lambda n: f"Team {n}")
    slug = factory.Sequence(lambda n: f"team-{n}")


class UserFactory(factory.django.DjangoModelFactory[User]):
    class Meta:
        model = User
        skip_postgeneration_save = True

    email = factory.Sequence(lambda n: f"user{n}@example.com")
    full_name = factory.Faker("name")
    role = Role.SALES_REP
    password = factory.django.Password("correct horse battery")

    @factory.post_generation
    def teams(self, create: bool, extracted: list[Team] | None, **kwargs: Any) -> None:
        if create and extracted:
            self.teams.set(extracted)
