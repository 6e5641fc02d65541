"""Jobs of the leads context: take ids, load, call one service; idempotent."""

from procrastinate.contrib.django import app

from embudo.leads import services


# Every 5 seconds (croniter's sixth field is the second): a company's counts lag its leads by that much at most.
@app.periodic(cron="* * * * * */5", periodic_id="leads.drain_company_stats")
@app.task(name="leads.drain_company_stats", queueing_lock="leads.drain_company_stats")
def drain_company_stats(timestamp: int) -> None:
    del timestamp
    services.drain_company_stats()


@app.task(name="leads.refresh_company_stats", retry=5)
def refresh_company_stats(event_id: int) -> None:
    """Deferred per lead by earlier versions (jobs may still be queued at upgrade): the drain does it now."""
    del event_id
    services.drain_company_stats()
