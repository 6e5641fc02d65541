"""Jobs of the scoring context: take ids, load, call one service; idempotent."""

from django.db import transaction
from procrastinate.contrib.django import app

from embudo.core import events as core_events
from embudo.scoring import services


@app.task(name="scoring.rescore_lead", retry=5)
def rescore_lead(event_id: int) -> None:
    """A lead was created by hand, edited or merged: its fit may have changed."""
    event = core_events.get_event(event_id)
    if event.type == "leads.LeadCreated" and (event.payload or {}).get("channel") != "manual":
        return  # intake and imports score the leads they create in their own transaction
    if event.lead_id is not None:
        services.score_leads([event.lead_id], cause=event.type, event_id=event.pk, actor_id=event.actor_id)


@app.task(name="scoring.score_leads", retry=5)
def score_leads(lead_ids: list[int], cause: str) -> None:
    """Score leads created or changed in bulk (a CSV import batch) soon after they are stored."""
    with transaction.atomic():
        services.score_leads(lead_ids, cause=cause)


@app.task(name="scoring.rescore_version", retry=3)
def rescore_version(version_id: int, previous_id: int | None = None) -> None:
    """After publishing: bring every lead of the version's scope to it (progress on the version)."""
    services.rescore_after_publish(version_id, previous_id=previous_id)


@app.task(name="scoring.run_backtest", retry=1)
def run_backtest(backtest_id: int) -> None:
    services.run_backtest(backtest_id)


@app.periodic(cron="17 * * * *", periodic_id="scoring.decay")
@app.task(name="scoring.decay", queueing_lock="scoring.decay")
def decay(timestamp: int) -> None:
    """Hourly: decaying and windowed engagement rules and inactivity follow the clock."""
    del timestamp
    services.run_decay()
