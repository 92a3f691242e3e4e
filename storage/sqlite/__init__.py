"""The SQLite store (aiosqlite): the default backend, one database file in WAL mode."""

from storage.sqlite.settings import SqliteSettings
from storage.sqlite.store import SqliteStore

__all__ = ["SqliteSettings", "SqliteStore"]
