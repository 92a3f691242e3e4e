"""Settings of the SQLite store, as they appear under `store:` in the config file."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator


class SqliteSettings(BaseModel):
    """Where the database file lives and how hard SQLite works to keep a commit.

    `synchronous="normal"` (with WAL) keeps every commit across a crash of the process;
    `"full"` also across a power cut or an OS crash, at the cost of an fsync per commit.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    path: str = "frontdesk.db"
    synchronous: Literal["normal", "full"] = "normal"
    busy_timeout_ms: int = Field(default=5000, ge=0)

    @field_validator("path")
    @classmethod
    def _names_a_file(cls, value: str) -> str:
        # The store holds a writer and a reader connection on one database; an in-memory or
        # temporary database would be a different, private database on each of them.
        if value.strip() in ("", ":memory:") or value.startswith("file:"):
            raise ValueError(
                f"{value!r} is not supported: give the path of a database file "
                "(':memory:', temporary databases and URIs cannot be shared by the store's "
                "connections)"
            )
        return value

    def database_file(self, base_dir: Path) -> Path:
        """The database file; a relative `path` is taken from `base_dir`, the config's folder."""
        path = Path(self.path)
        return path if path.is_absolute() else base_dir / path
