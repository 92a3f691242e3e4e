"""A consistent copy of the database while it is in use, by SQLite's online backup API.

The copy is taken in one step, inside one read transaction of the source: in WAL mode that
holds up no writer, and the copy is the database as of one commit. It is written beside the
target and renamed into place, so a target that exists is always a whole copy.
https://www.sqlite.org/backup.html
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
from pathlib import Path

from core.errors import StoreUnavailable


def copy(source: Path, target: Path) -> None:
    """Copy the database at `source` to `target` (a new file), as a self-contained database
    (rollback journal, not WAL, so that it is one file). Blocking: run it in a thread."""
    if target.exists():
        raise FileExistsError(f"{target} exists already; back up to a new file")
    partial = target.with_name(f"{target.name}.partial")
    partial.unlink(missing_ok=True)  # left by a copy cut short
    try:
        # Read-only, and never created: a wrong path is an error, not an empty copy.
        src = sqlite3.connect(f"{source.resolve().as_uri()}?mode=ro", uri=True)
    except sqlite3.Error as exc:
        raise StoreUnavailable(f"cannot open SQLite database {source}: {exc}") from exc
    try:
        dst = sqlite3.connect(partial)
        try:
            src.backup(dst)
            dst.execute("PRAGMA journal_mode = DELETE")
        finally:
            dst.close()
        os.replace(partial, target)
    except sqlite3.Error as exc:
        raise StoreUnavailable(f"cannot back up SQLite database {source}: {exc}") from exc
    finally:
        src.close()
        with contextlib.suppress(FileNotFoundError):
            partial.unlink()
