"""The one connection that writes, shared by group commit.

Every round trip to aiosqlite's thread costs tens of microseconds and every COMMIT more, so
writers that arrive while another one works share its transaction: the connection stays in
one `BEGIN IMMEDIATE` while members queue up, and the last member of the group (the one who
finds nobody waiting behind it) commits for all. A member's context returns only once its
group has committed, so "returned" still means "durable".

Four kinds of member:
- `unit(work)`: a plain function of the sqlite3 connection, run on the connection's thread
  in one call with its SAVEPOINT (and BEGIN); alone, with its COMMIT too (see `in_thread`);
- `transaction()`: runs its statements at once, inside a SAVEPOINT, so a failing member is
  undone alone and the rest of the group goes on;
- `buffered()`: queues its writes in a `Batch` that the commit runs as one `executemany` per
  statement for the whole group (the engine's turns). It joins the group only at its end, or
  earlier when a read must stay true until its writes commit (`Member.hold`: assignment);
  its other reads go to the reader connection meanwhile, so a turn's steps do not keep the
  inbound inserts a platform waits on queued behind it;
- `later()`: one write that needs no answer, queued for the next commit (outbox marks). An
  urgent one (a message recorded as sent) ends the group at the member under way, instead of
  waiting for the members queued behind it: until it is committed, a crash would have the
  message sent again.

A commit may carry one more piece of work of the store's (`Writer.rider`): run on the thread
after the group's writes and before its COMMIT, in the same call, and handed its result once
committed (the outbox's claim of the replies a turn has just queued, see `SqliteStore`).

If the commit fails (a conflict found while flushing, a full disk) the whole group is rolled
back and every member gets the error: `ConcurrentUpdate` for a conflict, which the engine
answers by running the turn again; `Unstorable` for data that can never be written, when the
group had one member (with more, nobody knows whose it was: `ConcurrentUpdate` for all).
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3
from collections import Counter
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from functools import partial
from typing import Any, TypeVar

import aiosqlite

from core.errors import ConcurrentUpdate, StoreUnavailable, Unstorable
from storage.sqlite import in_thread
from storage.sqlite.checkpoint import Checkpointer
from storage.sqlite.connection import on_worker, store_error

log = logging.getLogger(__name__)

MAX_GROUP = 128  # members per commit: bounds how long a group keeps others waiting

Params = tuple[Any, ...] | dict[str, Any]
T = TypeVar("T")


class Batch:
    """Writes queued for a commit, and what they will change that reads must already see."""

    def __init__(self) -> None:
        self.statements: dict[str, list[Params]] = {}  # in the order first queued
        self.exact: set[str] = set()  # statements each of whose rows must change one row
        self.cursors: dict[str, str] = {}  # team → agent picked last, not yet stored
        self.open_delta: Counter[str] = Counter()  # agent → open conversations not yet stored
        self.members: list[asyncio.Future[None]] = []
        self.urgent = False  # commit when the member under way leaves
        # Outbox rows queued: (message id, channel, due), for a claim riding the commit.
        self.enqueued: list[tuple[str, str, int]] = []

    def add(self, sql: str, params: Params, *, exact: bool = False) -> None:
        self.statements.setdefault(sql, []).append(params)
        if exact:
            self.exact.add(sql)

    def absorb(self, other: Batch) -> None:
        for sql, rows in other.statements.items():
            self.statements.setdefault(sql, []).extend(rows)
        self.exact |= other.exact
        self.cursors.update(other.cursors)
        self.open_delta.update(other.open_delta)
        self.urgent |= other.urgent
        self.enqueued.extend(other.enqueued)

    def join(self) -> asyncio.Future[None]:
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        # A member whose caller has gone (cancelled) never reads its outcome; say it is
        # read so that asyncio does not log "exception was never retrieved".
        done.add_done_callback(_retrieved)
        self.members.append(done)
        return done

    @property
    def empty(self) -> bool:
        return not self.members and not self.statements


def _retrieved(future: asyncio.Future[None]) -> None:
    if not future.cancelled():
        future.exception()


@dataclass(frozen=True)
class Ride:
    """Work of the store's that rides a group's commit (`Writer.rider`): `work` runs on the
    thread after the group's writes, before COMMIT; `done` gets its result once committed."""

    work: in_thread.Work[Any]
    done: Callable[[Any], None]


class Member:
    """A `buffered` member: its queued writes, and whether it holds the writer yet."""

    def __init__(self, writer: Writer) -> None:
        self._writer = writer
        self.batch = Batch()
        self.holding = False

    @property
    def writer(self) -> Writer:
        return self._writer

    @property
    def conn(self) -> aiosqlite.Connection:
        return self._writer.connection

    @property
    def group(self) -> Batch:
        """The group's writes so far (read while holding: the group changes at each commit)."""
        return self._writer.pending

    async def hold(self) -> None:
        """Join the group now: from here until the member ends, nobody else writes, so what
        it reads through the writer stays true until its writes are committed."""
        if not self.holding:
            await self._writer.enter()
            self.holding = True


class Writer:
    def __init__(
        self,
        conn: aiosqlite.Connection,
        quiet: in_thread.QuietChanges,
        checkpointer: Checkpointer | None = None,
    ) -> None:
        self._conn = conn
        self.quiet = quiet
        # Runs the WAL checkpoints that SQLite would otherwise run inside this connection's
        # commits (see `checkpoint`), told of each commit.
        self._checkpointer = checkpointer
        self._lock = asyncio.Lock()
        self._queued = 0  # members waiting for the lock
        self._in_transaction = False
        self._batch = Batch()
        self._flusher: asyncio.Task[None] | None = None
        # Asked at each group commit for work to run in it (see `Ride`), or None.
        self.rider: Callable[[Batch], Ride | None] | None = None

    @property
    def changes(self) -> int:
        """Rows this connection has inserted, updated or deleted so far (SQLite's
        `total_changes`) less the quiet ones (`in_thread.QuietChanges`): equal at two moments,
        no other row was written in between."""
        return self._conn.total_changes - self.quiet.count

    @property
    def connection(self) -> aiosqlite.Connection:
        return self._conn

    @property
    def pending(self) -> Batch:
        """The group's queued writes, for reads that must see them (round robin)."""
        return self._batch

    # members ----------------------------------------------------------------------------

    async def unit(self, work: in_thread.Work[T]) -> T:
        """Run `work` (sqlite3 statements, no awaits) as a member, in one call to the
        connection's thread; returns once it is committed. With nobody else in or waiting
        for the group, that one call is the whole transaction, COMMIT included."""
        await self._enter()
        if self._batch.empty and not self._in_transaction and self._queued == 0:
            # A task of its own that releases the lock, as a commit does: a caller cancelled
            # now must not let the next member in before this call has ended on the thread.
            alone = asyncio.get_running_loop().create_task(self._alone(work))
            alone.add_done_callback(_read_outcome)
            return await asyncio.shield(alone)
        done: asyncio.Future[None] | None = None
        try:
            begin = not self._in_transaction
            self._in_transaction = True
            try:
                result = await on_worker(self._conn, partial(in_thread.member, work, begin))
            except BaseException:
                if begin:  # nothing had begun: nothing of the group's is lost
                    self._in_transaction = self._conn.in_transaction
                else:
                    self._check_still_open()
                raise
            done = self._batch.join()
        finally:
            await self._leave()
        assert done is not None
        await done
        return result

    async def _alone(self, work: in_thread.Work[T]) -> T:
        try:
            result = await on_worker(self._conn, partial(in_thread.alone, work))
        except in_thread.CommitFailed as failed:
            raise store_error(failed.cause) from failed.cause
        else:
            self._committed()
            return result
        finally:
            self._release()

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[aiosqlite.Connection]:
        """Statements run at once; undone alone (and the error re-raised) if the block raises."""
        await self._enter()
        done: asyncio.Future[None] | None = None
        try:
            await self._begin()
            await self._conn.execute("SAVEPOINT member")
            try:
                yield self._conn
            except BaseException:
                await self._undo_member()
                raise
            await self._conn.execute("RELEASE member")
            done = self._batch.join()
        finally:
            await self._leave()
        assert done is not None
        await done

    @asynccontextmanager
    async def buffered(self) -> AsyncIterator[Member]:
        """A member whose writes go in its `Batch` and are committed with the group; nothing
        is written if the block raises. It joins the group (takes the writer) only when it
        calls `Member.hold`, or at the end of the block: until then its reads go to the
        reader connection, and the steps it runs keep nobody waiting for the writer."""
        member = Member(self)
        done: asyncio.Future[None] | None = None
        try:
            yield member
            await member.hold()
            self._batch.absorb(member.batch)
            done = self._batch.join()
        finally:
            if member.holding:
                await self._leave()
        assert done is not None
        await done

    async def read(self, work: in_thread.Work[T]) -> T:
        """Within a held `buffered` member: `work` on the connection's thread, in one call
        with the group's BEGIN if it has not begun yet."""
        begin = not self._in_transaction
        self._in_transaction = True
        try:
            return await on_worker(self._conn, partial(in_thread.read, work, begin))
        except BaseException:
            self._in_transaction = self._conn.in_transaction
            raise

    async def begin(self) -> None:
        """Within a held `buffered` member: open the group's transaction if it is not open yet."""
        await self._begin()

    async def later(self, sql: str, params: Params, *, urgent: bool = False) -> None:
        """Queue one write for the next commit and return once it is committed; an `urgent`
        one has that commit come as soon as the member under way leaves."""
        self._batch.add(sql, params)
        self._batch.urgent |= urgent
        done = self._batch.join()
        self._flush_soon()
        await done

    # the group --------------------------------------------------------------------------

    async def enter(self) -> None:
        """Take the writer, as a member; `_leave` gives it back (see `buffered`)."""
        await self._enter()

    async def _enter(self) -> None:
        self._queued += 1
        try:
            await self._lock.acquire()
        except BaseException:
            # The member before us may have left the group open for us to commit.
            self._flush_soon()
            raise
        finally:
            self._queued -= 1

    async def _begin(self) -> None:
        if not self._in_transaction:
            # Marked first: aiosqlite has queued the statement even if this task is
            # cancelled while awaiting it, and it runs before anything queued later.
            self._in_transaction = True
            try:
                # BEGIN IMMEDIATE takes SQLite's write lock now, so no statement of the group
                # fails half way with SQLITE_BUSY; another process is waited for.
                await self._conn.execute("BEGIN IMMEDIATE")
            except sqlite3.Error:
                self._in_transaction = False
                raise

    async def _leave(self) -> None:
        # A transaction left open with nothing to commit (its members failed) is closed too:
        # it would hold SQLite's write lock against every other process.
        idle = self._batch.empty and self._in_transaction and self._queued == 0
        grows = self._queued > 0 and len(self._batch.members) < MAX_GROUP and not self._batch.urgent
        if not idle and (self._batch.empty or grows):
            self._lock.release()
            return
        # The commit runs in a task of its own that releases the lock when it is done: a
        # member cancelled now must neither cut the commit short (the others wait for it)
        # nor let the next member's statements in before it ends.
        commit = asyncio.get_running_loop().create_task(self._commit_and_release())
        await asyncio.shield(commit)

    async def _commit_and_release(self) -> None:
        try:
            await self._commit()
        finally:
            self._release()

    def _release(self) -> None:
        # Writes queued (`later`) while the lock was held, with no member waiting to commit
        # them: a task of its own commits them.
        self._lock.release()
        if not self._batch.empty and self._queued == 0:
            self._flush_soon()

    def _flush_soon(self) -> None:
        if self._flusher is None:
            self._flusher = asyncio.get_running_loop().create_task(
                self._flush(), name="sqlite-group-commit"
            )

    async def _flush(self) -> None:
        try:
            # Writes queued while this task was finishing are this task's to commit too.
            while not self._batch.empty:
                await self._enter()
                await self._leave()
        finally:
            self._flusher = None

    async def _commit(self) -> None:
        batch, self._batch = self._batch, Batch()
        begin = not self._in_transaction
        self._in_transaction = False  # committed or rolled back when the call returns
        ride = self.rider(batch) if self.rider is not None else None
        work = ride.work if ride is not None else None
        try:
            ridden = await on_worker(
                self._conn,
                partial(in_thread.commit, batch.statements, batch.exact, begin, self.quiet, work),
            )
        except BaseException as exc:
            cause = exc.cause if isinstance(exc, in_thread.CommitFailed) else exc
            if not isinstance(cause, Exception):
                self._fail_members(batch, StoreUnavailable("the commit was interrupted"))
                raise
            error = store_error(cause)
            if isinstance(error, Unstorable) and len(batch.members) > 1:
                # Whose write it was is not known, and the others must not count a failure
                # that is not theirs: each runs again on fresh state, as after a conflict.
                error = ConcurrentUpdate(f"a write committed with others failed: {cause}")
            log.warning("group commit of %d members failed: %r", len(batch.members), cause)
            self._fail_members(batch, error)
            if not isinstance(exc, Exception):
                raise
            return
        self._committed()
        if ride is not None:
            ride.done(ridden)
        for done in batch.members:
            if not done.done():
                done.set_result(None)

    def _committed(self) -> None:
        if self._checkpointer is not None:
            self._checkpointer.committed(self._checkpoint_alone)

    async def _checkpoint_alone(self) -> None:
        # Between two groups (the one open is committed first), so that the checkpoint copies
        # the whole log and the next transaction starts it again from its beginning.
        await self._enter()
        try:
            if not self._batch.empty or self._in_transaction:
                await self._commit()
            if self._checkpointer is not None:
                await self._checkpointer.run()
        finally:
            self._release()

    async def _undo_member(self) -> None:
        try:
            await self._conn.execute("ROLLBACK TO member")
            await self._conn.execute("RELEASE member")
        except sqlite3.OperationalError:
            self._check_still_open()

    def _check_still_open(self) -> None:
        # SQLite rolls the whole transaction back by itself after some errors (a full disk,
        # an I/O error): then the group is gone and its members must hear so.
        self._in_transaction = self._conn.in_transaction
        if not self._in_transaction:
            batch, self._batch = self._batch, Batch()
            self._fail_members(batch, StoreUnavailable("the write transaction was rolled back"))

    @staticmethod
    def _fail_members(batch: Batch, error: Exception) -> None:
        for done in batch.members:
            if not done.done():
                done.set_exception(error)

    async def close(self) -> None:
        """Commit what is queued, then close the connection."""
        checkpointer, self._checkpointer = self._checkpointer, None
        if checkpointer is not None:  # first: a checkpoint under way may wait for the writer
            await checkpointer.close()
        await self._enter()
        try:
            if not self._batch.empty or self._in_transaction:
                await self._commit()
            try:
                # SQLite's advice for long-lived connections: refresh planner statistics.
                await self._conn.execute("PRAGMA optimize")
            except sqlite3.Error:
                log.warning("PRAGMA optimize failed while closing", exc_info=True)
            await self._conn.close()
        finally:
            self._lock.release()


def _read_outcome(task: asyncio.Task[Any]) -> None:
    # A caller cancelled while its unit ran never reads the outcome; say it is read so that
    # asyncio does not log "exception was never retrieved".
    if not task.cancelled():
        task.exception()
