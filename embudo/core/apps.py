from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "embudo.core"
    label = "core"
    verbose_name = "Core"

    def ready(self) -> None:
        cache_long_statements()


# Big enough for the scoring engine's statement with a few dozen rules; the cache itself stays an LRU of 128.
CACHED_STATEMENT_LENGTH = 16_384
CACHED_STATEMENT_PARAMS = 200


def cache_long_statements() -> None:
    """Let psycopg cache the placeholder conversion of our long statements too.

    psycopg converts a query's ``%s`` placeholders at every execute, and caches the conversion (an LRU keyed on
    the query's text) only for queries of at most 4,096 characters and 50 parameters. The scoring engine's
    statement, run for every captured lead, has ~6 kB and ~70 parameters (bench model): it was converted
    again at every call, ~0.15 ms of CPU per lead. Its text takes one shape per model version and cause, so
    it caches well. The limits are module constants of psycopg, read at every call; a psycopg without them
    is left alone.
    """
    from psycopg import _queries

    for name, value in (
        ("MAX_CACHED_STATEMENT_LENGTH", CACHED_STATEMENT_LENGTH),
        ("MAX_CACHED_STATEMENT_PARAMS", CACHED_STATEMENT_PARAMS),
    ):
        if isinstance(getattr(_queries, name, None), int):
            setattr(_queries, name, max(getattr(_queries, name), value))
