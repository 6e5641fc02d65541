"""Jobs of the dedupe context."""

from procrastinate.contrib.django import app

from embudo.dedupe import services


@app.periodic(cron="*/15 * * * *", periodic_id="dedupe.scan")
@app.task(name="dedupe.scan", queueing_lock="dedupe.scan")
def scan(timestamp: int) -> None:
    """Look for duplicates among leads added since the last scan (incremental; position in ScanState)."""
    del timestamp
    services.scan()
