"""``embudo import leads FILE.csv`` on real files."""

from __future__ import annotations

import json
from io import StringIO
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from embudo.accounts.tests.factories import TeamFactory
from embudo.capture.models import FieldMapping, Submission
from embudo.leads.models import Lead

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _data_dir(settings: Any, tmp_path: Path) -> None:
    settings.DATA_DIR = tmp_path / "data"


def _run(*args: str) -> str:
    out = StringIO()
    call_command("import", *args, stdout=out, stderr=StringIO())
    return out.getvalue()


def test_import_leads_from_a_csv_file(tmp_path: Path) -> None:
    team = TeamFactory(name="Iberia")
    path = tmp_path / "fair.csv"
    path.write_text(
        "Nombre;Correo;Móvil;Interés\nana;ANA@Example.es;600 123 456;alto\nLuis;luis@@x;;bajo\nAna;ana@example.es;;\n",
        encoding="utf-8",
    )
    output = _run("leads", str(path), "--mapping", "Móvil=phone", "--mapping", "Interés=custom:interest",
                  "--source", "fair", "--region", "España", "--team", "iberia")  # fmt: skip
    assert "3 rows" in output and "1 created, 1 merged, 1 rejected" in output
    assert "rejected.csv" in output
    lead = Lead.objects.get()
    assert (lead.first_name, lead.email, lead.phone, lead.team_id) == ("Ana", "ana@example.es", "+34600123456", team.pk)
    assert lead.custom_fields == {"interest": "alto"}
    assert Submission.objects.filter(channel="import").count() == 3
    assert FieldMapping.objects.get(source="fair").mapping["Móvil"] == "phone"


def test_import_with_a_mapping_file(tmp_path: Path) -> None:
    path = tmp_path / "x.csv"
    path.write_text("who,contact\nEva,eva@x.es\n", encoding="utf-8")
    mapping = tmp_path / "m.json"
    mapping.write_text(json.dumps({"who": "first_name", "contact": "email"}))
    assert "1 created" in _run("leads", str(path), "--mapping-file", str(mapping))


@pytest.mark.parametrize(
    ("content", "args", "message"),
    [
        (None, [], "No such file"),
        ("", [], "empty"),
        ("a,b\n1,2\n", ["--mapping", "a=shoe_size"], "mapping"),
        ("a,b\n1,2\n", [], "Map at least one"),
        ("email\nx@y.es\n", ["--team", "Nowhere"], "No team"),
        ("email\nx@y.es\n", ["--mapping", "email"], "COLUMN=FIELD"),
    ],
)
def test_bad_files_and_mappings_exit_with_code_2(tmp_path: Path, content: str | None, args: list[str],
                                                 message: str) -> None:  # fmt: skip
    path = tmp_path / "bad.csv"
    if content is not None:
        path.write_text(content, encoding="utf-8")
    with pytest.raises(CommandError, match=message) as info:
        _run("leads", str(path), *args)
    assert info.value.returncode == 2
    assert Lead.objects.count() == 0
