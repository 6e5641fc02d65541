from __future__ import annotations

from embudo.core.exceptions import DomainError, InvalidInput, NotFound, PermissionDenied


class NotificationNotFound(NotFound):
    code = "notification_not_found"


class WebhookNotFound(NotFound):
    code = "webhook_not_found"


class InvalidWebhook(InvalidInput):
    code = "invalid_webhook"


class InvalidPreference(InvalidInput):
    code = "invalid_preference"


class NotAllowed(PermissionDenied):
    code = "permission_denied"


class WebhookDeliveryFailed(DomainError):
    """Raised by the webhook job so procrastinate retries it with backoff; never reaches ``notify``'s caller."""

    code = "webhook_delivery_failed"
    status = 502
