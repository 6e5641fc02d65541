"""Demo interactions: each sales rep has already called, emailed and met some of their best leads
(idempotent; no email is sent: the demo emails are logged as exchanged outside Embudo)."""

from __future__ import annotations

from datetime import timedelta

from embudo.accounts.models import Role, Team, User
from embudo.core import clock
from embudo.interactions import services
from embudo.interactions.models import Interaction
from embudo.leads import selectors as leads_selectors

LEADS_PER_REP = 4

NOTES = {
    "en": {
        "call": "Spoke with {name}: evaluating two vendors, budget approved for Q1. Wants a demo for the team.",
        "voicemail": "Left a voicemail with my direct number.",
        "email_subject": "Next steps after our call",
        "email_body": "Hi {name},\n\nThanks for your time today. As promised, here is a summary of what we discussed "
        "and a few slots for the demo next week.\n\nBest regards",
        "meeting": "Demo held with {name} and their IT lead. Concerns about the data migration; sending a plan.",
    },
    "es": {
        "call": "Hablé con {name}: comparan dos proveedores, presupuesto aprobado para el T1. Quiere una demo.",
        "voicemail": "Dejé un mensaje de voz con mi número directo.",
        "email_subject": "Próximos pasos tras nuestra llamada",
        "email_body": "Hola {name}:\n\nGracias por tu tiempo hoy. Como te prometí, te envío un resumen de lo que "
        "hablamos y algunos huecos para la demo de la semana que viene.\n\nUn saludo",
        "meeting": "Demo con {name} y su responsable de IT. Dudas sobre la migración de datos; envío un plan.",
    },
}


def seed_demo(*, teams: dict[str, Team], users: dict[str, User]) -> None:
    del teams
    now = clock.now()
    for rep in users.values():
        if rep.role != Role.SALES_REP or Interaction.objects.filter(actor=rep).exists():
            continue
        leads = list(
            leads_selectors.leads_visible_to(rep)
            .filter(owner=rep)
            .exclude(email="")
            .order_by("-score", "-id")[:LEADS_PER_REP]
        )
        for n, lead in enumerate(leads):
            text = NOTES["es" if lead.language == "es" else "en"]
            name = lead.first_name or str(lead)
            day = now - timedelta(days=n + 1, hours=2)
            if n % 2 == 0:
                services.log_call(actor=rep, lead_id=lead.pk, outcome="voicemail", duration_seconds=35,
                                  notes=text["voicemail"], occurred_at=day - timedelta(days=1))  # fmt: skip
            services.log_call(actor=rep, lead_id=lead.pk, outcome="connected", duration_seconds=7 * 60 + 42 + n * 31,
                              notes=text["call"].format(name=name), occurred_at=day)  # fmt: skip
            services.log_email(actor=rep, lead_id=lead.pk, subject=text["email_subject"],
                               body=text["email_body"].format(name=name),
                               occurred_at=day + timedelta(minutes=20))  # fmt: skip
            if n == 0:
                services.log_meeting(actor=rep, lead_id=lead.pk, outcome="held",
                                     notes=text["meeting"].format(name=name),
                                     occurred_at=now - timedelta(hours=3))  # fmt: skip
