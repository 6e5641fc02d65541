"""Jobs of the leads context: take ids, load, call one service; idempotent."""

from procrastinate.contrib.django import app

from embudo.core import events as core_events
from embudo.leads import services


@app.task(name="leads.refresh_company_stats", retry=5)
def refresh_company_stats(event_id: int) -> None:
    event = core_events.get_event(event_id)
    if event.lead_id is not None:
        services.refresh_company_stats(lead_id=event.lead_id)
