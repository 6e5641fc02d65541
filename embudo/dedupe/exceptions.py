from embudo.core.exceptions import Conflict, InvalidInput, NotFound, PermissionDenied


class CandidateNotFound(NotFound):
    code = "duplicate_not_found"


class MergeNotFound(NotFound):
    code = "merge_not_found"


class MergeLeadNotFound(NotFound):
    code = "lead_not_found"


class InvalidMerge(InvalidInput):
    code = "invalid_merge"


class MergeConflict(Conflict):
    code = "merge_conflict"


class NotAllowedToMerge(PermissionDenied):
    code = "permission_denied"
