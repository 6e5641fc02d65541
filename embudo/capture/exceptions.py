from embudo.core.exceptions import Conflict, InvalidInput, NotFound


class InvalidSubmission(InvalidInput):
    code = "validation_error"


class SubmissionNotFound(NotFound):
    code = "submission_not_found"


class IdempotencyKeyReused(Conflict):
    code = "idempotency_key_reused"
