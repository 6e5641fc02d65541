"""PostgreSQL backend that starts the embedded server lazily, on the first connection.

Lazy start keeps settings import free of side effects and works the same in web workers,
job workers, management commands and pytest.
"""

from typing import Any

from django.db.backends.postgresql import base as postgresql

from embudo.core import embedded_pg


class DatabaseWrapper(postgresql.DatabaseWrapper):
    def get_connection_params(self) -> dict[str, Any]:
        sd = self.settings_dict
        address = embedded_pg.ensure_server(
            sd["EMBEDDED_PGDATA"], sd["NAME"], cleanup_mode=sd.get("EMBEDDED_CLEANUP", "stop")
        )
        sd["HOST"], sd["PORT"] = address.host, str(address.port)
        return super().get_connection_params()
