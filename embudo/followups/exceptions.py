from embudo.core.exceptions import InvalidInput, NotFound, PermissionDenied


class TaskNotFound(NotFound):
    code = "task_not_found"


class LeadNotFound(NotFound):
    code = "lead_not_found"


class RuleNotFound(NotFound):
    code = "rule_not_found"


class InvalidTask(InvalidInput):
    code = "validation_error"


class InvalidRule(InvalidInput):
    code = "validation_error"


class NotAllowed(PermissionDenied):
    code = "permission_denied"
