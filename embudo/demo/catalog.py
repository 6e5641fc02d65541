"""Fixed vocabularies shared by the demo seed and the benchmark generator (plain Python)."""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from typing import Any, Protocol


class Output(Protocol):
    """Where progress goes: a text stream or a management command's ``self.stdout``."""

    def write(self, msg: str, /) -> Any: ...


@dataclass(frozen=True)
class Region:
    """Where a share of the leads comes from: Faker locale, country, phone prefix, language, team."""

    locale: str
    country: str
    dial_code: str
    language: str
    team: str
    tlds: tuple[str, ...]


IBERIA = Region("es_ES", "ES", "+34", "es", "Iberia", (".es", ".com"))
MEXICO = Region("es_MX", "MX", "+52", "es", "Americas", (".com.mx", ".mx", ".com"))
USA = Region("en_US", "US", "+1", "en", "Americas", (".com", ".io", ".co"))

SOURCES = ("web_form", "whatsapp", "email", "import", "event", "api", "referral")
SOURCE_WEIGHTS = (30, 15, 12, 15, 10, 8, 10)
CHANNEL_OF_SOURCE = {
    "web_form": "form",
    "whatsapp": "whatsapp",
    "email": "email",
    "import": "import",
    "event": "manual",
    "api": "api",
    "referral": "manual",
}
FREE_MAIL = {
    "es": ("gmail.com", "hotmail.com", "yahoo.es", "outlook.es"),
    "en": ("gmail.com", "yahoo.com", "outlook.com", "icloud.com"),
}
INDUSTRIES = (
    "Software",
    "Retail",
    "Manufacturing",
    "Logistics",
    "Healthcare",
    "Education",
    "Financial services",
    "Real estate",
    "Hospitality",
    "Energy",
    "Construction",
    "Marketing",
    "Agriculture",
    "Telecommunications",
)
COMPANY_SIZES = ("1-10", "11-50", "51-200", "201-500", "501-1000", "1000+")
COMPANY_SIZE_WEIGHTS = (20, 30, 25, 12, 7, 6)

JOB_TITLES = {
    "es": (
        "Director General",
        "Directora Comercial",
        "Director de Marketing",
        "Responsable de Compras",
        "Jefa de Operaciones",
        "Gerente de Ventas",
        "Directora Financiera",
        "Responsable de IT",
        "Coordinadora de Proyectos",
        "Fundador",
        "Analista de Negocio",
        "Jefe de Logística",
        "Directora de Recursos Humanos",
        "Consultor",
    ),
    "en": (
        "CEO",
        "VP of Sales",
        "Marketing Director",
        "Head of Procurement",
        "Operations Manager",
        "Sales Manager",
        "CFO",
        "IT Manager",
        "Project Coordinator",
        "Founder",
        "Business Analyst",
        "Logistics Lead",
        "HR Director",
        "Consultant",
    ),
}

NOTES = {
    "es": (
        "Llamada inicial: interesado en una demo la próxima semana.",
        "Pide presupuesto para 25 usuarios.",
        "No contesta; vuelvo a intentarlo el jueves.",
        "Le envié la propuesta por correo.",
        "Tiene presupuesto aprobado para el próximo trimestre.",
        "Prefiere que le contactemos por WhatsApp.",
        "Reunión con el equipo de compras confirmada.",
        "Está comparando con otro proveedor; el precio es clave.",
        "Solicita referencias de clientes del sector.",
        "Buena conversación; quiere una prueba gratuita.",
        "Pidió que le llamemos después de las vacaciones.",
        "El decisor final es su directora financiera.",
    ),
    "en": (
        "Intro call: wants a demo next week.",
        "Asked for a quote for 25 seats.",
        "No answer; will try again on Thursday.",
        "Sent the proposal by email.",
        "Budget approved for next quarter.",
        "Prefers to be contacted on WhatsApp.",
        "Meeting with their procurement team booked.",
        "Comparing us with a competitor; price matters most.",
        "Asked for customer references in their industry.",
        "Great conversation; wants a free trial.",
        "Asked us to call back after the holidays.",
        "The final decision maker is their CFO.",
    ),
}

# Final status → the status changes that led there (each a LeadUpdated event).
STATUS_PATHS: dict[str, tuple[tuple[str, str], ...]] = {
    "new": (),
    "working": (("new", "working"),),
    "nurturing": (("new", "working"), ("working", "nurturing")),
    "qualified": (("new", "working"), ("working", "qualified")),
    "disqualified": (("new", "working"), ("working", "disqualified")),
    "converted": (("new", "working"), ("working", "qualified"), ("qualified", "converted")),
}
STATUS_WEIGHTS = {"new": 30, "working": 25, "nurturing": 15, "qualified": 12, "disqualified": 10, "converted": 8}
# Lifecycle stage consistent with a status.
STAGE_OF_STATUS = {
    "new": ("subscriber", "lead", "lead", "mql"),
    "working": ("lead", "mql", "mql", "sql"),
    "nurturing": ("subscriber", "lead", "mql"),
    "qualified": ("sql", "sql", "opportunity", "pql"),
    "disqualified": ("disqualified",),
    "converted": ("customer", "opportunity"),
}
# (min score, max score) per grade; grade follows the status' temperature.
GRADE_SCORES = {"cold": (0, 39), "warm": (40, 69), "hot": (70, 100)}
GRADE_WEIGHTS_OF_STATUS = {
    "new": (60, 30, 10),
    "working": (30, 45, 25),
    "nurturing": (55, 35, 10),
    "qualified": (5, 35, 60),
    "disqualified": (90, 10, 0),
    "converted": (0, 20, 80),
}
GRADES = ("cold", "warm", "hot")


def ascii_slug(text: str, sep: str = "") -> str:
    """``"Núñez y Asociados S.L."`` → ``"nunezyasociadossl"`` (letters and digits only)."""
    plain = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode().lower()
    words = ["".join(ch for ch in word if ch.isalnum()) for word in plain.replace("-", " ").split()]
    return sep.join(word for word in words if word)


def e164(dial_code: str, national_digits: str) -> str:
    return dial_code + national_digits
