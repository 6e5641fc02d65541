from embudo.core.exceptions import InvalidInput, NotFound, PermissionDenied


class NotAllowed(PermissionDenied):
    code = "sla_not_allowed"


class PolicyNotFound(NotFound):
    code = "sla_policy_not_found"


class InvalidPolicy(InvalidInput):
    code = "validation_error"


class InvalidHoliday(InvalidInput):
    code = "validation_error"
