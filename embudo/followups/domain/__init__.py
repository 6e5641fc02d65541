"""Pure rules of follow-up tasks (no Django): due buckets, quick picks, reminder times, rule delays."""

from embudo.followups.domain.schedule import (
    KINDS,
    QUICK_PICKS,
    SNOOZES,
    Bucket,
    Window,
    add_delay,
    at_local,
    bucket_of,
    day_bounds,
    local_date,
    quick_pick,
    remind_at_for,
    snooze,
    window,
)

__all__ = [
    "KINDS",
    "QUICK_PICKS",
    "SNOOZES",
    "Bucket",
    "Window",
    "add_delay",
    "at_local",
    "bucket_of",
    "day_bounds",
    "local_date",
    "quick_pick",
    "remind_at_for",
    "snooze",
    "window",
]
