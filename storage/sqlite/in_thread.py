"""What the writer runs on the connection's own thread, each as one call (`on_worker`).

A member's statements, or a whole transaction with its COMMIT, go over in one hand-off
instead of one per statement: the event loop pays for one wake-up, not five. These are plain
sqlite3 calls; the writer keeps the group's bookkeeping on the event loop.
"""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Callable, Collection, Mapping, Sequence
from typing import Any, TypeVar

from core.errors import CHANGED, ConcurrentUpdate

log = logging.getLogger(__name__)

T = TypeVar("T")
Work = Callable[[sqlite3.Connection], T]


class CommitFailed(Exception):
    """The COMMIT (or a queued write before it) failed, and the transaction was rolled back;
    `cause` is the sqlite3 error or `ConcurrentUpdate`."""

    def __init__(self, cause: BaseException) -> None:
        super().__init__(str(cause))
        self.cause = cause


class QuietChanges:
    """Rows changed by writes that make no outbox row due sooner (a lane's last row marked
    sent), counted on the connection's thread next to `total_changes`: the delivery loop's
    knowledge of when the next row is due stands across them. `statements` maps a queued
    write to whether one of its rows, just written with these parameters, was quiet."""

    def __init__(self, statements: Mapping[str, Callable[[sqlite3.Connection, Any], bool]]) -> None:
        self.statements = dict(statements)
        self.count = 0

    def changes(self, conn: sqlite3.Connection) -> int:
        """`total_changes` less the quiet ones: equal at two moments, no other row was written
        in between."""
        return conn.total_changes - self.count


def alone(work: Work[T], conn: sqlite3.Connection) -> T:
    """`work` as a transaction of its own: BEGIN IMMEDIATE, its statements, COMMIT. If the
    work fails it is rolled back and its error raised as it is; a failed commit is raised as
    `CommitFailed`."""
    conn.execute("BEGIN IMMEDIATE")
    try:
        result = work(conn)
    except BaseException:
        rollback(conn)
        raise
    try:
        conn.execute("COMMIT")
    except BaseException as exc:
        rollback(conn)
        raise CommitFailed(exc) from exc
    return result


def member(work: Work[T], begin: bool, conn: sqlite3.Connection) -> T:
    """`work` as a member of the group's open transaction (begun here if `begin`), inside a
    SAVEPOINT: a failing member is undone alone and its error raised."""
    if begin:
        conn.execute("BEGIN IMMEDIATE")
    conn.execute("SAVEPOINT member")
    try:
        return work(conn)
    except BaseException:
        try:
            conn.execute("ROLLBACK TO member")
            conn.execute("RELEASE member")
        except sqlite3.OperationalError:
            # SQLite rolls the whole transaction back by itself after some errors (a full
            # disk, an I/O error); the writer sees `in_transaction` is gone and tells the group.
            pass
        raise


def read(work: Work[T], begin: bool, conn: sqlite3.Connection) -> T:
    """`work` in the group's transaction, begun here first if `begin`."""
    if begin:
        conn.execute("BEGIN IMMEDIATE")
    return work(conn)


def commit(
    statements: Mapping[str, Sequence[Any]],
    exact: Collection[str],
    begin: bool,
    quiet: QuietChanges,
    ride: Work[T] | None,
    conn: sqlite3.Connection,
) -> T | None:
    """The group's queued writes, one `executemany` per statement, then `ride` (see
    `writer.Ride`), then COMMIT; `ride`'s result. On any failure everything is rolled back
    and `CommitFailed` raised."""
    try:
        if begin:
            conn.execute("BEGIN IMMEDIATE")
        for sql, rows in statements.items():
            cursor = conn.executemany(sql, rows)
            if sql in exact and cursor.rowcount != len(rows):
                raise ConcurrentUpdate(CHANGED)
            if (quiet_row := quiet.statements.get(sql)) is not None:
                quiet.count += sum(1 for row in rows if quiet_row(conn, row))
        ridden = ride(conn) if ride is not None else None
        conn.execute("COMMIT")
    except BaseException as exc:
        rollback(conn)
        raise CommitFailed(exc) from exc
    return ridden


def rollback(conn: sqlite3.Connection) -> None:
    try:
        conn.execute("ROLLBACK")
    except sqlite3.OperationalError as exc:
        # SQLite rolls back by itself after some errors (an I/O error, a full disk); then
        # there is nothing left to roll back. Anything else leaves the connection unusable.
        if "no transaction is active" not in str(exc):
            log.exception("rollback failed; the SQLite writer connection may be stuck")
