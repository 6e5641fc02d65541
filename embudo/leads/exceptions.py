from embudo.core.exceptions import Conflict, InvalidInput, NotFound, PermissionDenied


class LeadNotFound(NotFound):
    code = "lead_not_found"


class InvalidLead(InvalidInput):
    code = "validation_error"


class DuplicateLead(Conflict):
    code = "duplicate_lead"

    def __init__(self, message: str, *, existing_lead_id: int, fields: dict[str, list[str]] | None = None):
        super().__init__(message, fields=fields)
        self.existing_lead_id = existing_lead_id


class OwnerNotAllowed(PermissionDenied):
    code = "owner_not_allowed"
