from __future__ import annotations

import pytest
from django.contrib.auth import authenticate
from django.core.management import call_command
from django.db.models.functions import Lower

from embudo.accounts.models import Team, User
from embudo.core.models import DomainEvent
from embudo.demo import seed
from embudo.leads.models import Company, Lead

pytestmark = pytest.mark.django_db


def _counts() -> tuple[int, int, int, int]:
    return User.objects.count(), Company.objects.count(), Lead.objects.count(), DomainEvent.objects.count()


def test_load_demo_data_creates_personas_leads_and_timelines() -> None:
    result = seed.load_demo_data(password="first-pass-1234", leads=200)

    assert result.password == "first-pass-1234"
    assert [p.email for p in result.personas] == [p.email for p in seed.PERSONAS]
    expected = {
        "admin@embudo.demo": ("Alicia Admin", "admin", set()),
        "marketing@embudo.demo": ("Marta Marketing", "marketing", set()),
        "manager@embudo.demo": ("Sergio Salas", "manager", {"Iberia", "Americas"}),
        "lucia@embudo.demo": ("Lucía Romero", "sales_rep", {"Iberia"}),
        "diego@embudo.demo": ("Diego Herrera", "sales_rep", {"Americas"}),
        "emma@embudo.demo": ("Emma Clark", "sales_rep", {"Americas"}),
    }
    for email, (name, role, teams) in expected.items():
        user = User.objects.get(email=email)
        assert (user.full_name, user.role, set(user.teams.values_list("name", flat=True))) == (name, role, teams)
    assert User.objects.get(email="emma@embudo.demo").language == "en"
    assert User.objects.get(email="lucia@embudo.demo").language == "es"
    iberia, americas = Team.objects.get(name="Iberia"), Team.objects.get(name="Americas")
    assert (iberia.default_country, iberia.time_zone) == ("ES", "Europe/Madrid")
    assert (americas.default_country, americas.time_zone) == ("MX", "America/Mexico_City")

    assert Lead.objects.count() == 200 == result.created_leads
    assert Company.objects.count() == 30
    emails = list(Lead.objects.annotate(e=Lower("email")).values_list("e", flat=True))
    assert len(set(emails)) == len(emails) == 200
    assert set(Lead.objects.values_list("country", flat=True)) == {"ES", "MX", "US"}
    assert all(lead.phone.startswith(("+34", "+52", "+1")) for lead in Lead.objects.all())
    assert Lead.objects.filter(owner__isnull=True).exists()
    assert not Lead.objects.filter(owner__isnull=False, owner__role="sales_rep", team__isnull=True).exists()
    created = DomainEvent.objects.filter(type="leads.LeadCreated")
    assert created.count() == 200
    assert not Lead.objects.exclude(id__in=created.values("lead_id")).exists()
    assert DomainEvent.objects.filter(type="leads.LeadUpdated").exists()
    assert DomainEvent.objects.filter(type="leads.NoteAdded").exists()
    # Timelines start at the lead's creation.
    first = DomainEvent.objects.filter(lead_id=Lead.objects.order_by("id").first().pk).order_by("occurred_at").first()  # type: ignore[union-attr]
    assert first is not None and first.type == "leads.LeadCreated"


def test_second_load_creates_nothing_and_resets_passwords() -> None:
    seed.load_demo_data(password="first-pass-1234", leads=200)
    before = _counts()

    result = seed.load_demo_data(password="second-pass-5678", leads=200)

    assert _counts() == before
    assert (result.created_leads, result.created_companies, result.created_events) == (0, 0, 0)
    for persona in seed.PERSONAS:
        assert authenticate(email=persona.email, password="second-pass-5678") is not None
        assert authenticate(email=persona.email, password="first-pass-1234") is None


def test_password_comes_from_the_environment_else_is_generated(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(seed.PASSWORD_ENV, "from-env-pass")
    assert seed.resolve_password(None) == "from-env-pass"
    assert seed.resolve_password("given") == "given"
    monkeypatch.delenv(seed.PASSWORD_ENV)
    generated = seed.resolve_password(None)
    assert len(generated) >= 10 and generated != seed.resolve_password(None)


def test_seed_demo_command_prints_the_credentials(capsys: pytest.CaptureFixture[str]) -> None:
    call_command("seed_demo", "--password", "cmd-pass-1234", "--leads", "20")

    out = capsys.readouterr().out
    assert "lucia@embudo.demo" in out and "cmd-pass-1234" in out
    assert Lead.objects.count() == 20


def test_demo_command_prepares_data_and_prints_the_logins(monkeypatch: pytest.MonkeyPatch, tmp_path: object) -> None:
    from io import StringIO

    monkeypatch.setenv("EMBUDO_DEMO_PASSWORD", "demo-password-42")
    out = StringIO()

    call_command("demo", "--no-serve", "--leads", "30", stdout=out)

    text = out.getvalue()
    assert "http://127.0.0.1:8000" in text
    assert "password: demo-password-42" in text
    for persona in seed.PERSONAS:
        assert persona.email in text
    assert authenticate(username="lucia@embudo.demo", password="demo-password-42") is not None
    assert Lead.objects.count() == 30
