"""Procrastinate setup. Tasks live in each context's ``tasks.py`` (autodiscovered) and are
declared on ``procrastinate.contrib.django.app`` with explicit stable names."""

from procrastinate import App


def on_app_ready(app: App) -> None:
    # Retries and locks are set per task; nothing global to tweak yet.
    del app
