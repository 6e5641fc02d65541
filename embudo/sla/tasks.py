"""Jobs of the SLA context: each clock's reminder and breach check at their exact times, plus a
sweeper every minute (one at a time: ``queueing_lock`` keeps one queued, ``lock`` one running)."""

from procrastinate.contrib.django import app

from embudo.sla import services


@app.task(name="sla.remind", queueing_lock=None)
def remind(clock_id: int) -> None:
    services.send_reminder(clock_id)


@app.task(name="sla.check_breach", queueing_lock=None)
def check_breach(clock_id: int) -> None:
    services.breach_clock(clock_id)


@app.periodic(cron="* * * * *", periodic_id="sla.sweep")
@app.task(name="sla.sweep", queueing_lock="sla.sweep", lock="sla.sweep")
def sweep(timestamp: int) -> None:
    """Safety net: overdue clocks and reminders whose jobs were lost or ran early."""
    del timestamp
    services.sweep()
