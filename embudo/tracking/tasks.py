"""Jobs of the tracking context."""

from procrastinate.contrib.django import app

from embudo.tracking import services


@app.periodic(cron="17 * * * *", periodic_id="tracking.prune")
@app.task(name="tracking.prune", queueing_lock="tracking.prune")
def prune(timestamp: int) -> None:
    """Hourly: forget client event ids past their retention and old rate-limit buckets. Idempotent."""
    del timestamp
    services.prune()


@app.periodic(cron="*/10 * * * *", periodic_id="tracking.stitch_known_visitors")
@app.task(name="tracking.stitch_known_visitors", queueing_lock="tracking.stitch_known_visitors")
def stitch_known_visitors(timestamp: int) -> None:
    """Every 10 minutes: anonymous events of visitors identified meanwhile go to their lead. Idempotent."""
    del timestamp
    services.stitch_known_visitors()


@app.task(name=services.SCORE_CONTENDED_TASK, retry=5)
def score_contended_leads(lead_ids: list[int], product_lead_ids: list[int]) -> None:
    """Leads whose new events a batch stored while another transaction held them: score them now."""
    services.score_contended_leads(lead_ids, product_lead_ids)
