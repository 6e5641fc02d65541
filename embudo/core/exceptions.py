"""Errors the domain raises; interfaces turn them into HTTP 4xx JSON, form errors or CLI messages."""

from __future__ import annotations


class DomainError(Exception):
    """Base of every expected business error. ``code`` is stable and documented in the API."""

    code = "domain_error"
    status = 400

    def __init__(self, message: str, *, fields: dict[str, list[str]] | None = None, code: str | None = None):
        super().__init__(message)
        self.message = message
        self.fields = fields or {}
        if code is not None:
            self.code = code


class NotFound(DomainError):
    code = "not_found"
    status = 404


class PermissionDenied(DomainError):
    code = "permission_denied"
    status = 403


class Conflict(DomainError):
    code = "conflict"
    status = 409


class InvalidInput(DomainError):
    code = "validation_error"
    status = 422
