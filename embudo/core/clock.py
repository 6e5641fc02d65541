"""The one place that reads the time, so tests can move it (time-machine) consistently."""

from datetime import datetime

from django.utils import timezone


def now() -> datetime:
    return timezone.now()
