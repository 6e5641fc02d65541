from embudo.core.exceptions import InvalidInput, NotFound, PermissionDenied


class NotAllowed(PermissionDenied):
    code = "permission_denied"


class NotEnoughData(InvalidInput):
    code = "not_enough_outcomes"


class InvalidOutcomeFile(InvalidInput):
    code = "invalid_outcome_file"


class LeadNotFound(NotFound):
    code = "lead_not_found"


class NoModel(NotFound):
    code = "no_model"
