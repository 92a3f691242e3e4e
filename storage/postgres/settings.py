"""Settings of the PostgreSQL store, as they appear under `store:` in the config file."""

from __future__ import annotations

from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, SecretStr

# An identifier used unquoted in SQL (search_path, CREATE SCHEMA): nothing to escape.
IDENTIFIER = r"^[a-z_][a-z0-9_]{0,62}$"


class PostgresSettings(BaseModel):
    """Where the database is, and how replicas tell that one of them has died.

    `dsn` is a libpq URL (`postgresql://user:password@host:5432/db`), usually given as
    `${FRONTDESK_DATABASE_URL}`; it is a secret because it may carry the password. Tables live
    in `schema` (created when missing). A replica writes a heartbeat every
    `heartbeat_seconds`; one silent for `owner_timeout_seconds` is taken for dead and the
    others take over its work.
    """

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    dsn: SecretStr
    schema_name: str = Field(default="frontdesk", alias="schema", pattern=IDENTIFIER)
    pool_size: int = Field(default=10, ge=2, le=200)
    heartbeat_seconds: float = Field(default=2.0, gt=0)
    owner_timeout_seconds: float = Field(default=10.0, gt=0)

    def where(self) -> str:
        """The server as an operator names it (host, port, database), never the password."""
        parts = urlsplit(self.dsn.get_secret_value())
        host = parts.hostname or "localhost"
        port = parts.port or 5432
        database = parts.path.lstrip("/") or "(default database)"
        return f"{host}:{port}/{database}"
