"""Jobs of the CSV import (imported by ``capture/tasks.py`` so procrastinate discovers them)."""

from procrastinate.contrib.django import app

from embudo.capture import imports


@app.task(name="capture.run_import", queueing_lock=None, pass_context=False)
def run_import(job_id: int) -> None:
    """Run an import job; idempotent (a finished job returns its counts, a crashed one resumes after
    its last committed batch)."""
    imports.run_import(job_id=job_id)
