"""Deterministic, idempotent demo data: personas, teams, ~300 companies, ~2,000 leads with timelines.

Rows are inserted in bulk (one transaction) but have the shape the services would give them:
each lead has a ``leads.LeadCreated`` event at ``created_at``; status changes are
``leads.LeadUpdated`` events by the owner and notes are ``leads.NoteAdded`` events, later in time.
A second run inserts nothing new (leads are keyed by lower(email), companies by domain) and only
resets the personas' passwords.
"""

from __future__ import annotations

import os
import random
import secrets
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.db import transaction
from django.db.models.functions import Lower
from faker import Faker

from embudo.accounts import selectors as accounts_selectors
from embudo.accounts import services as accounts_services
from embudo.accounts.models import User
from embudo.core import clock
from embudo.core.models import DomainEvent
from embudo.demo import catalog
from embudo.demo.catalog import Region
from embudo.followups import demo as followups_demo
from embudo.interactions import demo as interactions_demo
from embudo.leads import services as leads_services
from embudo.leads.models import Company, Lead
from embudo.notifications import demo as notifications_demo
from embudo.pipeline import demo as pipeline_demo
from embudo.predictive import demo as predictive_demo
from embudo.routing import demo as routing_demo
from embudo.scoring import demo as scoring_demo
from embudo.sla import demo as sla_demo
from embudo.tracking import demo as tracking_demo

SEED = 20260101
DAYS = 180
PASSWORD_ENV = "EMBUDO_DEMO_PASSWORD"  # noqa: S105 - a variable name, not a password
_PASSWORD_WORDS = (
    "lima", "tango", "delta", "coral", "rio", "sol", "luna", "mar", "faro", "nube", "vela", "pino",
    "roble", "cielo", "brisa", "monte", "plata", "jade", "ambar", "ocre",
)  # fmt: skip


@dataclass(frozen=True)
class TeamSpec:
    name: str
    default_country: str
    time_zone: str


@dataclass(frozen=True)
class Persona:
    email: str
    full_name: str
    role: str
    teams: tuple[str, ...]
    language: str


TEAMS = (
    TeamSpec("Iberia", "ES", "Europe/Madrid"),
    TeamSpec("Americas", "MX", "America/Mexico_City"),
)
PERSONAS = (
    Persona("admin@embudo.demo", "Alicia Admin", "admin", (), "en"),
    Persona("marketing@embudo.demo", "Marta Marketing", "marketing", (), "es"),
    Persona("manager@embudo.demo", "Sergio Salas", "manager", ("Iberia", "Americas"), "es"),
    Persona("lucia@embudo.demo", "Lucía Romero", "sales_rep", ("Iberia",), "es"),
    Persona("diego@embudo.demo", "Diego Herrera", "sales_rep", ("Americas",), "es"),
    Persona("emma@embudo.demo", "Emma Clark", "sales_rep", ("Americas",), "en"),
)
REGION_WEIGHTS: tuple[tuple[Region, int], ...] = ((catalog.IBERIA, 45), (catalog.MEXICO, 30), (catalog.USA, 25))
# Which reps own the leads of each region (the others in the team may still pick some up).
REGION_REPS = {"es_ES": ("lucia@embudo.demo",), "es_MX": ("diego@embudo.demo",), "en_US": ("emma@embudo.demo",)}
UNASSIGNED_SHARE = 0.12


@dataclass
class DemoResult:
    personas: list[Persona]
    password: str
    created_leads: int = 0
    created_companies: int = 0
    created_events: int = 0
    users: dict[str, User] = field(default_factory=dict)


def generate_password() -> str:
    """A readable password such as ``coral-faro-4821``."""
    words = [secrets.choice(_PASSWORD_WORDS) for _ in range(2)]
    return f"{words[0]}-{words[1]}-{secrets.randbelow(9000) + 1000}"


def resolve_password(password: str | None) -> str:
    return password or os.environ.get(PASSWORD_ENV) or generate_password()


def ensure_personas(password: str) -> dict[str, User]:
    """Create the teams and personas (or reset their role, teams and password); returns them by email."""
    for team in TEAMS:
        accounts_services.ensure_team(name=team.name, default_country=team.default_country, time_zone=team.time_zone)
    users: dict[str, User] = {}
    for persona in PERSONAS:
        user = accounts_services.create_user(
            email=persona.email,
            role=persona.role,
            password=password,
            full_name=persona.full_name,
            team_names=list(persona.teams) or None,
            language=persona.language,
        )
        if not persona.teams:
            user.teams.clear()
        users[persona.email] = user
    return users


def _phone(rng: random.Random, region: Region) -> str:
    if region.country == "ES":
        return region.dial_code + rng.choice("6679") + "".join(rng.choices("0123456789", k=8))
    if region.country == "MX":
        return region.dial_code + rng.choice(("55", "33", "81", "22", "99")) + "".join(rng.choices("0123456789", k=8))
    area = str(rng.randint(201, 989))
    return region.dial_code + area + str(rng.randint(2, 9)) + "".join(rng.choices("0123456789", k=6))


def _company_domain(name: str, region: Region, rng: random.Random, taken: set[str]) -> str:
    words = catalog.ascii_slug(name, sep=" ").split()
    base = "".join(w for w in words[:2] if w not in ("sa", "sl", "inc", "llc", "ltd", "y", "and", "de")) or "empresa"
    domain = base + rng.choice(region.tlds)
    n = 2
    while domain in taken:
        domain = f"{base}{n}{rng.choice(region.tlds)}"
        n += 1
    taken.add(domain)
    return domain


def _weighted(rng: random.Random, options: dict[str, int]) -> str:
    return rng.choices(list(options), weights=list(options.values()))[0]


@dataclass
class _Plan:
    lead: Lead
    region: Region
    events: list[tuple[str, datetime, int | None, dict[str, Any]]]


def _build(
    *, leads: int, now: datetime, users: dict[str, User], team_ids: dict[str, int]
) -> tuple[list[Company], dict[str, Region], list[_Plan]]:
    rng = random.Random(SEED)  # noqa: S311 - reproducible data, not secrets
    fakers: dict[str, Faker] = {}
    for region, _ in REGION_WEIGHTS:
        fake = Faker(region.locale)
        fake.seed_instance(SEED)
        fakers[region.locale] = fake
    regions = [r for r, _ in REGION_WEIGHTS]
    weights = [w for _, w in REGION_WEIGHTS]

    # Companies: about one per seven leads, each rooted in a region.
    companies: list[Company] = []
    company_region: dict[str, Region] = {}
    by_region: dict[str, list[Company]] = {r.locale: [] for r in regions}
    domains: set[str] = set()
    for _ in range(max(3, round(leads * 0.15))):
        region = rng.choices(regions, weights=weights)[0]
        name = fakers[region.locale].company()
        company = Company(
            name=name,
            domain=_company_domain(name, region, rng, domains),
            industry=rng.choice(catalog.INDUSTRIES),
            size=rng.choices(catalog.COMPANY_SIZES, weights=catalog.COMPANY_SIZE_WEIGHTS)[0],
            country=region.country,
        )
        companies.append(company)
        company_region[company.domain] = region
        by_region[region.locale].append(company)

    manager = users["manager@embudo.demo"]
    marketing = users["marketing@embudo.demo"]
    team_reps = {
        "Iberia": [users["lucia@embudo.demo"]],
        "Americas": [users["diego@embudo.demo"], users["emma@embudo.demo"]],
    }
    emails: set[str] = set()
    plans: list[_Plan] = []
    for _ in range(leads):
        region = rng.choices(regions, weights=weights)[0]
        fake = fakers[region.locale]
        first, last = fake.first_name(), fake.last_name()
        pool = by_region[region.locale]
        lead_company: Company | None = rng.choice(pool) if pool and rng.random() < 0.8 else None
        first_slug, last_slug = catalog.ascii_slug(first), catalog.ascii_slug(last)
        if lead_company is not None and rng.random() < 0.82:
            local = rng.choice((f"{first_slug}.{last_slug}", f"{first_slug[0]}{last_slug}", first_slug))
            domain = lead_company.domain
        else:
            local = rng.choice((f"{first_slug}.{last_slug}", f"{first_slug}{last_slug}{rng.randint(1, 99)}"))
            domain = rng.choice(catalog.FREE_MAIL[region.language])
        email = f"{local}@{domain}"
        n = 2
        while email in emails:
            email = f"{local}{n}@{domain}"
            n += 1
        emails.add(email)

        team = region.team
        unassigned = rng.random() < UNASSIGNED_SHARE
        owner: User | None = None
        if not unassigned:
            preferred = [users[e] for e in REGION_REPS[region.locale]]
            owner = rng.choice(preferred) if rng.random() < 0.85 else rng.choice(team_reps[team])
        status = "new" if owner is None else _weighted(rng, catalog.STATUS_WEIGHTS)
        stage = rng.choice(catalog.STAGE_OF_STATUS[status])
        grade = rng.choices(catalog.GRADES, weights=catalog.GRADE_WEIGHTS_OF_STATUS[status])[0]
        low, high = catalog.GRADE_SCORES[grade]
        source = rng.choices(catalog.SOURCES, weights=catalog.SOURCE_WEIGHTS)[0]
        # Skewed towards recent days: more leads arrive lately.
        created_at = now - timedelta(seconds=int(DAYS * 86400 * rng.random() ** 1.3))
        lead = Lead(
            first_name=first,
            last_name=last,
            email=email,
            phone=_phone(rng, region),
            job_title=rng.choice(catalog.JOB_TITLES[region.language]),
            company=lead_company,
            company_name=lead_company.name if lead_company is not None else "",
            street_address=fake.street_address(),
            address_line2=fake.secondary_address() if rng.random() < 0.2 else "",
            city=fake.city(),
            region=fake.state(),
            postal_code=fake.postcode(),
            country=region.country,
            language=region.language,
            source=source,
            owner=owner,
            team_id=team_ids[team],
            lifecycle_stage=stage,
            status=status,
            score=rng.randint(low, high),
            grade=grade,
            custom_fields={},
            created_at=created_at,
            updated_at=created_at,
        )
        fields = {k: getattr(lead, k) for k in _TEXT_FIELDS if getattr(lead, k)}
        creator = marketing if source in ("import", "event") else (owner if source == "referral" else None)
        events: list[tuple[str, datetime, int | None, dict[str, Any]]] = [
            (
                "leads.LeadCreated",
                created_at,
                creator.pk if creator else None,
                {"source": source, "channel": catalog.CHANNEL_OF_SOURCE[source], "fields": fields},
            )
        ]
        actor = owner or manager
        when = created_at
        path = catalog.STATUS_PATHS[status]
        for i, (old, new) in enumerate(path):
            when = min(now, when + timedelta(minutes=rng.randint(5, 60 * 24 * 6)))
            changes: dict[str, list[Any]] = {"status": [old, new]}
            if i == len(path) - 1 and stage != "lead":
                changes["lifecycle_stage"] = ["lead", stage]
            events.append(("leads.LeadUpdated", when, actor.pk, {"changes": changes}))
        if rng.random() < 0.45:
            for _ in range(rng.randint(1, 3)):
                when = min(now, when + timedelta(minutes=rng.randint(10, 60 * 24 * 4)))
                events.append(("leads.NoteAdded", when, actor.pk, {"text": rng.choice(catalog.NOTES[region.language])}))
        events += _activity_events(email=email, grade=grade, created_at=created_at, now=now)
        lead.updated_at = max(e[1] for e in events)
        plans.append(_Plan(lead=lead, region=region, events=events))
    return companies, company_region, plans


# Behaviour the tracking snippet and email tools would have recorded: (event type, properties, weight).
_ACTIVITY = (
    ("page_view", {"url": "https://embudo.demo/", "path": "/", "title": "Home"}, 30),
    ("page_view", {"url": "https://embudo.demo/features", "path": "/features", "title": "Features"}, 20),
    ("page_view", {"url": "https://embudo.demo/pricing", "path": "/pricing", "title": "Pricing"}, 12),
    (
        "page_view",
        {"url": "https://embudo.demo/case-studies/logistica", "path": "/case-studies/logistica", "title": "Case study"},
        8,
    ),  # fmt: skip
    ("email_opened", {"campaign": "onboarding-1"}, 14),
    ("email_clicked", {"campaign": "onboarding-1", "url": "https://embudo.demo/pricing"}, 5),
    ("content_downloaded", {"asset": "guia-lead-scoring.pdf"}, 5),
    ("webinar_attended", {"webinar": "funnel-2026"}, 3),
    ("demo_requested", {"product": "embudo-cloud"}, 2),
)
_ACTIVITY_COUNT = {"cold": (0, 3), "warm": (2, 7), "hot": (5, 12)}


def _activity_events(
    *, email: str, grade: str, created_at: datetime, now: datetime
) -> list[tuple[str, datetime, int | None, dict[str, Any]]]:
    """Anonymous-then-identified website and email behaviour, more of it for warmer leads.

    Its own generator per lead, so adding behaviour did not change the rest of the demo data.
    """
    rng = random.Random(f"{SEED}:{email}")  # noqa: S311 - reproducible data, not secrets
    low, high = _ACTIVITY_COUNT.get(grade, (0, 3))
    weights = [w for _, _, w in _ACTIVITY]
    span = max(60, int((now - created_at).total_seconds()))
    out: list[tuple[str, datetime, int | None, dict[str, Any]]] = []
    for _ in range(rng.randint(low, high)):
        kind, properties, _w = rng.choices(_ACTIVITY, weights=weights)[0]
        when = created_at + timedelta(seconds=rng.randint(30, span))
        out.append((f"activity.{kind}", min(when, now), None, {"properties": dict(properties), "source": "demo"}))
    return out


_TEXT_FIELDS = (
    "first_name", "last_name", "email", "phone", "job_title", "company_name", "street_address",
    "address_line2", "city", "region", "postal_code", "country", "language", "source",
)  # fmt: skip


def _say(stdout: catalog.Output | None, message: str) -> None:
    if stdout is not None:
        stdout.write(message + "\n")


@transaction.atomic
def load_demo_data(
    *, password: str | None = None, leads: int = 2000, stdout: catalog.Output | None = None
) -> DemoResult:
    """Load the demo personas, teams, companies, leads and timelines; idempotent and deterministic.

    The generated data depend only on ``SEED`` and ``leads`` (timestamps are relative to the hour of
    the first load); rows that already exist (leads by lower(email), companies by domain) are skipped.
    """
    password = resolve_password(password)
    users = ensure_personas(password)
    team_ids = {team.name: team.pk for team in accounts_selectors.list_teams()}
    now = clock.now().replace(minute=0, second=0, microsecond=0)
    companies, _, plans = _build(leads=leads, now=now, users=users, team_ids=team_ids)

    existing_domains = set(
        Company.objects.filter(domain__in=[c.domain for c in companies]).values_list("domain", flat=True)
    )
    new_companies = [c for c in companies if c.domain not in existing_domains]
    Company.objects.bulk_create(new_companies, batch_size=1000)
    company_ids = dict(Company.objects.filter(domain__in=[c.domain for c in companies]).values_list("domain", "id"))

    wanted = [p.lead.email.lower() for p in plans]
    existing_emails = set(
        Lead.objects.annotate(email_lower=Lower("email"))
        .filter(email_lower__in=wanted)
        .values_list("email_lower", flat=True)
    )
    new_plans = [p for p in plans if p.lead.email.lower() not in existing_emails]
    for plan in new_plans:
        if plan.lead.company is not None:
            plan.lead.company_id = company_ids[plan.lead.company.domain]
    Lead.objects.bulk_create([p.lead for p in new_plans], batch_size=1000)
    events = [
        DomainEvent(type=type_, occurred_at=when, lead_id=plan.lead.pk, actor_id=actor_id, payload=payload)
        for plan in new_plans
        for type_, when, actor_id, payload in plan.events
    ]
    DomainEvent.objects.bulk_create(events, batch_size=2000)
    # The leads' triggers queued their companies: count them now, not at the worker's first drain.
    leads_services.drain_company_stats()
    ensure_demo_forms(team_ids)
    seed_contexts(users=users)
    result = DemoResult(
        personas=list(PERSONAS),
        password=password,
        created_leads=len(new_plans),
        created_companies=len(new_companies),
        created_events=len(events),
        users=users,
    )
    _say(
        stdout,
        f"Demo data: {result.created_leads} leads, {result.created_companies} companies, "
        f"{result.created_events} events created.",
    )
    return result


def seed_contexts(*, users: dict[str, User]) -> None:
    """Each context's demo configuration, in the order the product flows: score the leads (a published
    model), then route (rule sets, pools), time (SLA policies), notify, track, and learn from outcomes
    (closes some older leads as won/lost and trains the predictive model), then the rep's day: deals on
    the board, logged calls and emails, follow-up tasks and a task rule. Each step is idempotent."""
    teams = {team.name: team for team in accounts_selectors.list_teams()}
    for seed in (
        scoring_demo.seed_demo,
        routing_demo.seed_demo,
        sla_demo.seed_demo,
        notifications_demo.seed_demo,
        tracking_demo.seed_demo,
        predictive_demo.seed_demo,
        pipeline_demo.seed_demo,
        interactions_demo.seed_demo,
        followups_demo.seed_demo,
    ):
        seed(teams=teams, users=users)


def credentials_table(result: DemoResult) -> str:
    """The personas and their password, as a plain-text table for the terminal."""
    rows = [("Email", "Name", "Role", "Teams")] + [
        (p.email, p.full_name, p.role, ", ".join(p.teams) or "-") for p in result.personas
    ]
    widths = [max(len(row[i]) for row in rows) for i in range(4)]
    lines = ["  ".join(cell.ljust(widths[i]) for i, cell in enumerate(row)).rstrip() for row in rows]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join([*lines, "", f"Password for every persona: {result.password}", ""])


DEMO_FORM_FIELDS = [
    {"name": "email", "type": "email", "required": True, "label_en": "Work email", "label_es": "Correo de trabajo",
     "maps_to": "email"},
    {"name": "first_name", "type": "text", "required": True, "label_en": "First name", "label_es": "Nombre",
     "maps_to": "first_name"},
    {"name": "last_name", "type": "text", "required": False, "label_en": "Last name", "label_es": "Apellidos",
     "maps_to": "last_name"},
    {"name": "company", "type": "text", "required": False, "label_en": "Company", "label_es": "Empresa",
     "maps_to": "company_name"},
    {"name": "phone", "type": "tel", "required": False, "label_en": "Phone", "label_es": "Teléfono",
     "maps_to": "phone"},
    {"name": "job_title", "type": "text", "required": False, "label_en": "Job title", "label_es": "Cargo",
     "maps_to": "job_title"},
]  # fmt: skip


def ensure_demo_forms(team_ids: dict[str, int]) -> None:
    """A ready-to-try contact form (hosted at /f/contacto/), so the capture side of the demo is not empty."""
    from embudo.capture.models import Form

    Form.objects.get_or_create(
        slug="contacto",
        defaults={
            "name": "Contacto / Contact us",
            "team_id": team_ids.get("Iberia"),
            "fields": DEMO_FORM_FIELDS,
            "default_language": "es",
            "default_region": "ES",
            "source": "web_form",
            "consent_text_en": "I agree to receive information about Acme's products by email.",
            "consent_text_es": "Acepto recibir información comercial de Acme por correo electrónico.",
            "consent_version": "2026-11",
            "thank_you_en": "Thank you! We will be in touch within the day.",
            "thank_you_es": "¡Gracias! Te contactaremos hoy mismo.",
        },
    )
