from embudo.core.exceptions import DomainError, InvalidInput, NotFound


class UnknownUser(NotFound):
    code = "unknown_user"


class InvalidRole(InvalidInput):
    code = "invalid_role"


class TokenRevoked(DomainError):
    code = "token_revoked"
    status = 401
