"""Jobs of the interactions context: take ids, load, call one service; idempotent."""

from __future__ import annotations

from procrastinate import JobContext, RetryStrategy
from procrastinate.contrib.django import app

from embudo.interactions import services
from embudo.interactions.exceptions import EmailNotSentYet

# ~20 s, 60 s, 3 min, 9 min, 27 min: a mail server down for a deploy still gets the email.
DELIVERY_ATTEMPTS = 6
DELIVERY_RETRY = RetryStrategy(
    max_attempts=DELIVERY_ATTEMPTS, wait=20, exponential_wait=3, retry_exceptions={EmailNotSentYet}
)


@app.task(name=services.DELIVER_TASK, retry=DELIVERY_RETRY, pass_context=True)
def deliver_email(context: JobContext, interaction_id: int) -> None:
    """Send one logged email (at most once; a second run of the job is a no-op)."""
    attempts = context.job.attempts if context.job is not None else 0
    services.deliver_email(interaction_id=interaction_id, final_attempt=attempts + 1 >= DELIVERY_ATTEMPTS)


@app.periodic(cron="*/10 * * * *", periodic_id="interactions.fail_interrupted_emails")
@app.task(name="interactions.fail_interrupted_emails", queueing_lock="interactions.fail_interrupted_emails")
def fail_interrupted_emails(timestamp: int) -> None:
    """Safety net: an email left "sending" by a worker that died is marked failed (never sent twice)."""
    del timestamp
    services.fail_interrupted_emails()
