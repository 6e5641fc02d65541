"""Demo configuration of scoring: the seed's model, published globally, and every demo lead scored."""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext as _

from embudo.accounts.models import Team, User
from embudo.scoring import services
from embudo.scoring.models import ScoringVersion, VersionStatus

SENIOR = ["director", "directora", "head", "vp", "vice president", "chief", "ceo", "cto", "cfo", "cmo", "coo",
          "cio", "founder", "fundador", "fundadora", "presidente", "gerente general"]  # fmt: skip

DEMO_RULES: list[dict[str, Any]] = [
    {
        "kind": "fit",
        "label": "Director/Head/VP/C-level at a 501+ company",
        "points": 50,
        "conditions": [
            {"field": "job_title", "op": "contains", "value": SENIOR},
            {"field": "company.size", "op": "in", "value": ["501-1000", "1000+"]},
        ],
    },
    {
        "kind": "fit",
        "label": "Free e-mail address",
        "points": -10,
        "conditions": [{"field": "email_domain_kind", "op": "equals", "value": "free"}],
    },  # fmt: skip
    {
        "kind": "fit",
        "label": "Student",
        "points": -30,
        "conditions": [{"field": "job_title", "op": "contains", "value": ["student", "estudiante"]}],
    },  # fmt: skip
    {
        "kind": "engagement",
        "label": "Visited the pricing page",
        "points": 15,
        "event_type": "page_view",
        "conditions": [{"field": "properties.url", "op": "contains", "value": "/pricing"}],
        "decay": "half_life",
        "decay_days": 60,
    },  # fmt: skip
    {
        "kind": "engagement",
        "label": "Read a case study",
        "points": 10,
        "event_type": "page_view",
        "conditions": [{"field": "properties.url", "op": "contains", "value": "/case-studies/"}],
    },  # fmt: skip
    {
        "kind": "engagement",
        "label": "Attended a webinar",
        "points": 25,
        "event_type": "webinar_attended",
        "repeatable": True,
        "max_points": 50,
    },  # fmt: skip
    {"kind": "engagement", "label": "Requested a demo", "points": 30, "event_type": "demo_requested"},
]


def seed_demo(*, teams: dict[str, Team], users: dict[str, User]) -> None:
    """Idempotent: publishes the demo model once (global), then scores all leads."""
    del teams
    if ScoringVersion.objects.filter(team__isnull=True).exclude(status=VersionStatus.DRAFT).exists():
        return
    actor = next((u for u in users.values() if u.role == "marketing"), None)
    draft = services.create_draft(actor=actor, name=_("Seed model (fit + behaviour)"))
    services.update_draft(
        draft.pk, actor=actor, rules=DEMO_RULES, warm_min=51, hot_min=81, mql_threshold=81,
        inactivity_days=30, inactivity_points=-10,
    )  # fmt: skip
    services.publish(draft.pk, actor=actor, rescore="now")
