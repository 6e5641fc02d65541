"""Errors of the routing context (the API turns them into {code, message, fields})."""

from embudo.core.exceptions import Conflict, InvalidInput, NotFound, PermissionDenied


class RuleSetNotFound(NotFound):
    code = "rule_set_not_found"


class PoolNotFound(NotFound):
    code = "pool_not_found"


class InvalidRouting(InvalidInput):
    code = "validation_error"


class NotADraft(Conflict):
    code = "not_a_draft"


class RoutingNotAllowed(PermissionDenied):
    code = "routing_not_allowed"
