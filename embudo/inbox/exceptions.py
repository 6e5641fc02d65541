from embudo.core.exceptions import InvalidInput, NotFound, PermissionDenied


class InboxNotAllowed(PermissionDenied):
    code = "inbox_not_allowed"


class InvalidSnooze(InvalidInput):
    code = "validation_error"


class InvalidSavedView(InvalidInput):
    code = "validation_error"


class SavedViewNotFound(NotFound):
    code = "saved_view_not_found"


class InvalidReassign(InvalidInput):
    code = "validation_error"
