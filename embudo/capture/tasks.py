"""Jobs of the capture context."""

from procrastinate.contrib.django import app

from embudo.capture import (
    forms_channel,  # noqa: F401 - defines capture.send_double_opt_in
    import_tasks,  # noqa: F401 - defines capture.run_import
    services,
)


@app.task(name="capture.process_submission", queueing_lock=None)
def process_submission(submission_id: int) -> None:
    services.process_submission(submission_id)


@app.periodic(cron="* * * * *", periodic_id="capture.sweep_open_submissions")
@app.task(name="capture.sweep_open_submissions", queueing_lock="capture.sweep_open_submissions")
def sweep_open_submissions(timestamp: int) -> None:
    """Safety net: submissions stored but never processed (process killed in between) get processed."""
    del timestamp
    services.sweep_open_submissions()
