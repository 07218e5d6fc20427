"""One writer at a time per key, across processes: for writes that count rows and then add one (the login
throttle, the door's hourly limits, a donated batch's portions), where two at once would both count the same
rows and together pass a limit.

A process lock is not enough once several app processes share a PostgreSQL database, and neither is
`pg_advisory_xact_lock`: at REPEATABLE READ the transaction's snapshot is taken by its first statement, before
the lock is granted, so the writer that waited still counts without the rows the holder just committed
(measured: 8 of 8 writers passed a limit of 3). Instead each such write first bumps its key's row in
`write_locks`. Of two writes of one key, the later one's bump meets the earlier one's: PostgreSQL raises
SQLSTATE 40001 (DuckDB a TransactionException) and Database.write runs it again on a fresh snapshot, which
sees the earlier write's rows. Keys are hashed into a fixed number of slots, so the table stays small; two
keys sharing a slot only wait for each other."""

from __future__ import annotations

import hashlib
import threading
import weakref

from .db import Database, Tx

SLOTS = 1 << 16
_LOCAL: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()  # Database -> {name: lock}
_LOCAL_GUARD = threading.Lock()
_BUMP = "INSERT INTO write_locks (slot, bumps) VALUES (?, 1) ON CONFLICT (slot) DO UPDATE SET bumps = write_locks.bumps + 1"


def slot(key: str) -> int:
    """The key's slot: the same in every process (Python's hash() is not)."""
    return int.from_bytes(hashlib.sha256(key.encode("utf-8")).digest()[:4], "big") % SLOTS


def hold(tx: Tx, *keys: str) -> None:
    """Take these keys for the rest of the transaction `tx`: call it before counting. Slots in ascending order,
    so two writes holding several keys cannot wait for each other in a circle."""
    for number in sorted({slot(key) for key in keys}):
        tx.execute(_BUMP, [number], writes=("write_locks",))


def local(db: Database, name: str) -> threading.Lock:
    """A lock of this process for one kind of write on this database: writes of this process queue here
    instead of conflicting and retrying (on DuckDB, which one process holds, that is the whole story). One
    per Database, so two Database objects in a test stand for two app processes."""
    with _LOCAL_GUARD:
        return _LOCAL.setdefault(db, {}).setdefault(name, threading.Lock())
