"""Errors of the interactions context (the API answers them as {code, message, fields})."""

from __future__ import annotations

from embudo.core.exceptions import InvalidInput, NotFound


class LeadNotFound(NotFound):
    """The lead does not exist or is not visible to the actor (the two are indistinguishable on purpose)."""

    code = "lead_not_found"


class InteractionNotFound(NotFound):
    code = "interaction_not_found"


class InvalidInteraction(InvalidInput):
    code = "validation_error"


class EmailNotSentYet(Exception):
    """The mail server could not be reached: nothing was sent, the job retries later."""
