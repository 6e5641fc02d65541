"""Jobs of the pipeline context: take ids, load, call one service; idempotent."""

from __future__ import annotations

from procrastinate.contrib.django import app

from embudo.core import events as core_events
from embudo.pipeline import services


@app.task(name="pipeline.on_lead_assigned", retry=5)
def on_lead_assigned(event_id: int) -> None:
    """A lead got an owner: it enters the owner's board (first stage) or its deal follows the new owner."""
    event = core_events.get_event(event_id)
    if event.lead_id is None:
        return
    services.follow_owner(lead_id=event.lead_id)


@app.task(name="pipeline.on_interaction_logged", retry=5)
def on_interaction_logged(event_id: int) -> None:
    """The first call/email/meeting/WhatsApp moves a deal from the first stage to "contacted"."""
    event = core_events.get_event(event_id)
    if event.lead_id is None:
        return
    services.mark_contacted(lead_id=event.lead_id)


@app.periodic(cron="23 3 * * *", periodic_id="pipeline.rebuild_totals")
@app.task(name="pipeline.rebuild_totals", queueing_lock="pipeline.rebuild_totals", lock="pipeline.rebuild_totals")
def rebuild_totals(timestamp: int) -> None:
    """Nightly: recompute the board's column totals (deals removed with their lead are not counted any more)
    and copy the leads' grades onto any deal the minutely sync missed."""
    del timestamp
    services.rebuild_totals()
    services.resync_all_grades()


@app.periodic(cron="* * * * *", periodic_id="pipeline.sync_grades")
@app.task(name="pipeline.sync_grades", queueing_lock="pipeline.sync_grades", lock="pipeline.sync_grades")
def sync_grades(timestamp: int) -> None:
    """Every minute: the deals follow their lead's grade (scoring's GradeChanged events since the checkpoint)."""
    del timestamp
    services.sync_grades()
