"""The PostgreSQL store (asyncpg): several frontdesk replicas on one database."""

from storage.postgres.settings import PostgresSettings
from storage.postgres.store import PostgresStore

__all__ = ["PostgresSettings", "PostgresStore"]
