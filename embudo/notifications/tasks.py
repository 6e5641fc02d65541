"""Jobs of the notifications context: take ids/values, call one service; safe to retry."""

from __future__ import annotations

from typing import Any

from procrastinate import RetryStrategy
from procrastinate.contrib.django import app

from embudo.notifications import services

# ~14 s, 26 s, 74 s, 266 s, 17 min: an endpoint down for a deploy still gets the message.
WEBHOOK_RETRY = RetryStrategy(max_attempts=6, wait=10, exponential_wait=4)


@app.task(name="notifications.send_email", retry=RetryStrategy(max_attempts=5, wait=30, exponential_wait=3))
def send_email(user_id: int, kind: str, title: str, body: str, url: str) -> None:
    services.send_email(user_id=user_id, kind=kind, title=title, body=body, url=url)


@app.task(name="notifications.post_webhook", retry=WEBHOOK_RETRY)
def post_webhook(webhook_id: int, payload: dict[str, Any]) -> None:
    services.deliver_webhook(webhook_id=webhook_id, payload=payload)
