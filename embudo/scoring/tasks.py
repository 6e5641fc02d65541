"""Jobs of the scoring context: take ids, load, call one service; idempotent."""

from procrastinate.contrib.django import app

from embudo.core import events as core_events
from embudo.scoring import services


@app.task(name="scoring.rescore_lead", retry=5)
def rescore_lead(event_id: int) -> None:
    """A lead was edited or merged: its fit may have changed."""
    event = core_events.get_event(event_id)
    if event.lead_id is not None:
        services.score_leads([event.lead_id], cause=event.type, event_id=event.pk, actor_id=event.actor_id)
