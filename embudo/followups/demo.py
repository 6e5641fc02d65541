"""Demo tasks: a few per demo rep (one overdue, one later today, one in a few days) and the default task
rule "Call 3 days after the proposal" (idempotent: a rep who already has tasks gets no more)."""

from __future__ import annotations

from datetime import timedelta

from embudo.accounts.models import Team, User
from embudo.core import clock
from embudo.followups import services
from embudo.followups.models import Task, TaskKind, TaskRule
from embudo.leads import selectors as leads_selectors

DEFAULT_RULE = {
    "stage_key": "proposal_sent", "kind": TaskKind.CALL, "title": "Call to follow up on the proposal",
    "delay_days": 3, "delay_hours": 0, "active": True,
}  # fmt: skip
# (kind, title, due in hours from now, remind minutes before)
DEMO_TASKS = (
    (TaskKind.CALL, "Call back about pricing", -26, 0),
    (TaskKind.EMAIL, "Send the case study", 2, 15),
    (TaskKind.MEETING, "Demo with the team", 24 * 3 + 2, 60),
    (TaskKind.WHATSAPP, "Check they received the quote", -3, 0),
    (TaskKind.FOLLOW_UP, "Follow up after the webinar", 24 * 5, 0),
)


def seed_demo(*, teams: dict[str, Team], users: dict[str, User]) -> None:
    del teams
    now = clock.now()
    if not TaskRule.objects.filter(team__isnull=True, stage_key=DEFAULT_RULE["stage_key"]).exists():
        TaskRule.objects.create(**DEFAULT_RULE, created_at=now, updated_at=now)
    for user in users.values():
        if user.role != "sales_rep" or Task.objects.filter(assignee_id=user.pk).exists():
            continue
        leads = list(leads_selectors.leads_visible_to(user).filter(owner_id=user.pk).order_by("-score", "id")[:5])
        for lead, (kind, title, hours, remind) in zip(leads, DEMO_TASKS, strict=False):
            services.create_task(actor=user, lead_id=lead.pk, kind=kind, title=title,
                                 due_at=(now + timedelta(hours=hours)).replace(second=0, microsecond=0),
                                 remind_minutes_before=remind)  # fmt: skip
