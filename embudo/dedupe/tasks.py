"""Jobs of the dedupe context."""

from procrastinate.contrib.django import app

from embudo.dedupe import services


@app.periodic(cron="*/15 * * * *", periodic_id="dedupe.scan")
@app.task(name="dedupe.scan", queueing_lock="dedupe.scan")
def scan(timestamp: int) -> None:
    """Look for duplicates among leads added since the last scan (incremental; position in ScanState)."""
    del timestamp
    services.scan()


@app.task(name="dedupe.build_key_index", queueing_lock="dedupe.build_key_index")
def build_key_index() -> None:
    """File leads written in bulk (CSV import, seeding) under their blocking keys (incremental; the scan
    does this too before it starts)."""
    services.build_key_index()
