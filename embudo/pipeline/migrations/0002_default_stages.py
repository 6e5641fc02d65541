"""The default pipeline of the seed: New → Contacted → Interested → Proposal sent → Won / Lost."""

from __future__ import annotations

from typing import Any

from django.db import migrations

DEFAULTS = (
    ("new", "New", "open", 5),
    ("contacted", "Contacted", "open", 15),
    ("interested", "Interested", "open", 35),
    ("proposal_sent", "Proposal sent", "open", 60),
    ("won", "Won", "won", 100),
    ("lost", "Lost", "lost", 0),
)


def create_defaults(apps: Any, schema_editor: Any) -> None:
    Stage = apps.get_model("pipeline", "Stage")
    for position, (key, name, kind, probability) in enumerate(DEFAULTS):
        if not Stage.objects.filter(team__isnull=True, key=key).exists():
            Stage.objects.create(
                team=None, key=key, name=name, kind=kind, probability=probability, position=position, active=True
            )


class Migration(migrations.Migration):
    dependencies = [("pipeline", "0001_initial")]

    operations = [migrations.RunPython(create_defaults, migrations.RunPython.noop)]
