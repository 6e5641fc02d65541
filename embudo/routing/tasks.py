"""Jobs of the routing context: take ids, load, call one service; idempotent."""

from procrastinate.contrib.django import app

from embudo.core import events as core_events


@app.task(name="routing.on_lead_updated", retry=5)
def on_lead_updated(event_id: int) -> None:
    core_events.get_event(event_id)


@app.task(name="routing.on_grade_changed", retry=5)
def on_grade_changed(event_id: int) -> None:
    core_events.get_event(event_id)


@app.task(name="routing.on_lifecycle_changed", retry=5)
def on_lifecycle_changed(event_id: int) -> None:
    core_events.get_event(event_id)
