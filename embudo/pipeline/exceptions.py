from embudo.core.exceptions import Conflict, InvalidInput, NotFound, PermissionDenied


class DealNotFound(NotFound):
    code = "deal_not_found"


class StageNotFound(NotFound):
    code = "stage_not_found"


class InvalidMove(InvalidInput):
    code = "invalid_move"


class InvalidDeal(InvalidInput):
    code = "validation_error"


class InvalidStage(InvalidInput):
    code = "validation_error"


class DealNotAllowed(PermissionDenied):
    code = "deal_not_allowed"


class StageInUse(Conflict):
    code = "stage_in_use"
