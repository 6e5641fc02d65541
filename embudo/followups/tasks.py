"""Jobs of the followups context: take ids, load, call one service; idempotent.

Each task's reminder runs at its ``remind_at``; a sweeper every minute (one at a time) sends the reminders
whose job was lost."""

from __future__ import annotations

from procrastinate.contrib.django import app

from embudo.followups import services


@app.task(name="followups.on_deal_stage_changed", retry=5)
def on_deal_stage_changed(event_id: int) -> None:
    """Task rules: entering a stage creates the follow-up tasks configured for it."""
    services.on_deal_stage_changed(event_id)


@app.task(name="followups.remind", queueing_lock=None)
def remind(task_id: int) -> None:
    services.send_reminder(task_id)


@app.periodic(cron="* * * * *", periodic_id="followups.sweep_reminders")
@app.task(name="followups.sweep_reminders", queueing_lock="followups.sweep_reminders", lock="followups.sweep_reminders")
def sweep_reminders(timestamp: int) -> None:
    """Safety net: reminders due whose job was lost."""
    del timestamp
    services.sweep_reminders()
