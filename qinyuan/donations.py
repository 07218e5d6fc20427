"""Donated vegetable batches: distribution checked off per household (one tap per room), progress
per building and unit, hourly throughput, and the households still waiting. Everything is counted
in SQL over the actor's scope (captains and members: their team's units)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

import duckdb
import pandas as pd

from . import access, clock, keylocks
from .access import Actor
from .db import Database, Tx
from .errors import InvalidInput, NotFound

# Seconds since 1970-01-01 in Shanghai time (UTC+8 all year, no DST): hour and day buckets by plain
# arithmetic, several times faster than per-row time-zone conversion at 150k deliveries.
_LOCAL_SECONDS = "CAST(floor(extract(epoch FROM d.delivered_at)) AS BIGINT) + 28800"


@dataclass(frozen=True)
class Tick:
    """What a tap did: ticked now, or found already ticked (by whom, when)."""

    ticked: bool
    household_id: int
    room: str
    by: str
    by_name: str
    at: datetime

    @property
    def at_local(self) -> str:
        return self.at.astimezone(clock.TZ).strftime("%H:%M")


# -- batches -------------------------------------------------------------------------------------
def batches(db: Database, actor: Actor) -> pd.DataFrame:
    """Batches, newest first, with households served and in scope, and the coverage (0-1)."""
    where, params = access.unit_filter(actor, "donation.view", "h.unit_id")
    return db.cached_read(
        "donations.batches",
        ("donation_batches", "donation_deliveries", "households"),
        "df",
        f"""WITH scope AS (SELECT h.id FROM households h WHERE {where}),
                 served AS (SELECT d.batch_id, count(*) AS served, sum(d.portions) AS portions_given
                            FROM donation_deliveries d JOIN scope s ON s.id = d.household_id GROUP BY d.batch_id)
            SELECT b.id, b.donor, b.item, b.portions, b.day, b.version,
                   coalesce(sv.served, 0) AS served, coalesce(sv.portions_given, 0) AS portions_given,
                   (SELECT count(*) FROM scope) AS households
            FROM donation_batches b LEFT JOIN served sv ON sv.batch_id = b.id
            ORDER BY b.day DESC, b.id DESC""",
        params,
    )


def latest_batch(db: Database, as_of: date | None = None) -> int | None:
    """The latest batch that has started by today (the one the KPI covers)."""
    return db.cached_read(
        "donations.latest_batch",
        ("donation_batches",),
        "scalar",
        "SELECT id FROM donation_batches WHERE day <= ? ORDER BY day DESC, id DESC LIMIT 1",
        [as_of or db.today()],
    )


def batch(db: Database, batch_id: int) -> dict:
    rows = db.cached_read(
        "donations.batch", ("donation_batches",), "dicts", "SELECT * FROM donation_batches WHERE id = ?", [batch_id]
    )
    if not rows:
        raise NotFound(entity="donation_batches", id=batch_id)
    return rows[0]


def create_batch(db: Database, actor: Actor, donor: str, item: str, portions, day: date) -> int:
    donor, item = (donor or "").strip(), (item or "").strip()
    if not donor:
        raise InvalidInput("supplies.error.missing_donor")
    if not item:
        raise InvalidInput("supplies.error.missing_item")
    if len(donor) > 100 or len(item) > 100:
        raise InvalidInput("supplies.error.too_long", n=100)
    try:
        portions = int(portions)
    except (TypeError, ValueError):
        raise InvalidInput("donation.error.portions") from None
    if portions <= 0 or portions > 10_000_000:
        raise InvalidInput("donation.error.portions")
    if not isinstance(day, date):
        raise InvalidInput("supplies.error.missing_day")

    def fn(tx: Tx) -> int:
        tx.require("donation.manage")
        new_id = tx.scalar("SELECT nextval('batch_seq')")
        values = {"id": new_id, "donor": donor, "item": item, "portions": portions, "day": day}
        tx.insert("donation_batches", values)
        tx.audit("donation.batch_add", "donation_batches", new_id, None, values)
        return new_id

    return db.write(actor, fn)


# -- progress ------------------------------------------------------------------------------------
def coverage(db: Database, actor: Actor, batch_id: int) -> tuple[int, int, float]:
    """(households served, households in scope, served / in scope) for one batch."""
    where, params = access.unit_filter(actor, "donation.view", "h.unit_id")
    served, total = db.cached_read(
        "donations.coverage",
        ("households", "donation_deliveries"),
        "one",
        f"""SELECT count(d.household_id), count(*) FROM households h
            LEFT JOIN donation_deliveries d ON d.household_id = h.id AND d.batch_id = ? WHERE {where}""",
        [batch_id, *params],
    )
    return served, total, (served / total if total else 0.0)


def building_progress(db: Database, actor: Actor, batch_id: int) -> pd.DataFrame:
    """Per building (within scope): households, served, waiting, share served."""
    where, params = access.unit_filter(actor, "donation.view", "h.unit_id")
    return db.cached_read(
        "donations.building_progress",
        ("households", "units", "donation_deliveries"),
        "df",
        f"""SELECT u.building, count(*) AS households, count(d.household_id) AS served,
                   count(*) - count(d.household_id) AS waiting,
                   CAST(count(d.household_id) AS DOUBLE PRECISION) / nullif(count(*), 0) AS share
            FROM households h JOIN units u ON u.id = h.unit_id
            LEFT JOIN donation_deliveries d ON d.household_id = h.id AND d.batch_id = ?
            WHERE {where} GROUP BY u.building ORDER BY u.building""",
        [batch_id, *params],
    )


def unit_progress(
    db: Database, actor: Actor, batch_id: int, building: int | None = None, unit_id: int | None = None
) -> pd.DataFrame:
    """Per unit (within scope, optionally one building or one unit): households, served, waiting."""
    where, params = access.unit_filter(actor, "donation.view", "h.unit_id")
    if building is not None:
        where += " AND u.building = ?"
        params = [*params, building]
    if unit_id is not None:
        where += " AND u.id = ?"
        params = [*params, int(unit_id)]
    return db.cached_read(
        "donations.unit_progress",
        ("households", "units", "donation_deliveries"),
        "df",
        f"""SELECT u.id AS unit_id, u.building, u.unit_no, count(*) AS households, count(d.household_id) AS served,
                   count(*) - count(d.household_id) AS waiting
            FROM households h JOIN units u ON u.id = h.unit_id
            LEFT JOIN donation_deliveries d ON d.household_id = h.id AND d.batch_id = ?
            WHERE {where} GROUP BY u.id, u.building, u.unit_no ORDER BY u.building, u.unit_no""",
        [batch_id, *params],
    )


def rooms(db: Database, actor: Actor, batch_id: int, unit_id: int) -> pd.DataFrame:
    """The rooms of one unit for ticking: household, room, floor, and who ticked it when (or nulls)."""
    access.require(actor, "donation.tick", unit_id)
    return db.cached_read(
        "donations.rooms",
        ("households", "donation_deliveries", "users"),
        "df",
        """SELECT h.id AS household_id, h.room,
                  d.delivered_by, coalesce(u.display_name, d.delivered_by) AS delivered_name, d.delivered_at
           FROM households h
           LEFT JOIN donation_deliveries d ON d.household_id = h.id AND d.batch_id = ?
           LEFT JOIN users u ON u.username = d.delivered_by
           WHERE h.unit_id = ? ORDER BY length(h.room), h.room""",
        [batch_id, unit_id],
    )


def throughput(db: Database, actor: Actor, batch_id: int, day: date | None = None) -> pd.DataFrame:
    """Households served per hour (Asia/Shanghai) on one day of a batch (default: the batch's day)."""
    where, params = access.unit_filter(actor, "donation.view", "h.unit_id")
    day = day or batch(db, batch_id)["day"]
    start = clock.day_start(day)
    return db.cached_read(
        "donations.throughput",
        ("donation_deliveries", "households"),
        "df",
        f"""SELECT CAST(floor((({_LOCAL_SECONDS}) % 86400) / 3600) AS INTEGER) AS hour, count(*) AS households
            FROM donation_deliveries d JOIN households h ON h.id = d.household_id
            WHERE d.batch_id = ? AND d.delivered_at >= ? AND d.delivered_at < ? AND {where}
            GROUP BY 1 ORDER BY hour""",
        [batch_id, start, start + timedelta(days=1), *params],
    )


def delivery_days(db: Database, actor: Actor, batch_id: int) -> list[date]:
    access.require(actor, "donation.view")
    return [
        date(1970, 1, 1) + timedelta(days=int(r[0]))
        for r in db.cached_read(
            "donations.delivery_days",
            ("donation_deliveries",),
            "rows",
            f"""SELECT DISTINCT CAST(floor(({_LOCAL_SECONDS.replace("d.", "")}) / 86400) AS INTEGER) AS day
            FROM donation_deliveries WHERE batch_id = ? ORDER BY day""",
            [batch_id],
        )
    ]


def waiting(
    db: Database, actor: Actor, batch_id: int, page: int = 1, size: int = 20, building: int | None = None
) -> tuple[pd.DataFrame, int]:
    """Households in scope not yet served by this batch: one page, and the total."""
    where, params = access.unit_filter(actor, "donation.view", "h.unit_id")
    if building is not None:
        where += " AND u.building = ?"
        params = [*params, building]
    base = f"""FROM households h JOIN units u ON u.id = h.unit_id
               LEFT JOIN donation_deliveries d ON d.household_id = h.id AND d.batch_id = ?
               WHERE d.household_id IS NULL AND {where}"""
    tables = ("households", "units", "donation_deliveries")
    total = db.cached_read("donations.waiting_count", tables, "scalar", f"SELECT count(*) {base}", [batch_id, *params])
    frame = db.cached_read(
        "donations.waiting",
        tables,
        "df",
        f"""SELECT h.id AS household_id, u.id AS unit_id, u.building, u.unit_no, h.room, h.contact_name, h.occupants
            {base} ORDER BY u.building, u.unit_no, length(h.room), h.room LIMIT ? OFFSET ?""",
        [batch_id, *params, size, max(0, page - 1) * size],
    )
    return frame, total


# -- ticking -------------------------------------------------------------------------------------
def _existing(read, batch_id: int, household_id: int):
    return read(
        """SELECT d.delivered_by, coalesce(u.display_name, d.delivered_by), d.delivered_at
                   FROM donation_deliveries d LEFT JOIN users u ON u.username = d.delivered_by
                   WHERE d.batch_id = ? AND d.household_id = ?""",
        [batch_id, household_id],
    )


def tick(db: Database, actor: Actor, batch_id: int, household_id: int, portions: int = 1) -> Tick:
    """Check a household off for a batch. Insert-if-absent inside the transaction: of two people
    tapping the same room, one ticks it and the other learns who did and when; it counts once."""
    if not isinstance(portions, int) or portions < 1 or portions > 20:
        raise InvalidInput("donation.error.portions")

    def fn(tx: Tx) -> Tick:
        house = tx.record("households", household_id)
        tx.require("donation.tick", house["unit_id"])
        the_batch = tx.record("donation_batches", batch_id)
        if the_batch["day"] > tx.now.date():
            raise InvalidInput("donation.error.not_started", day=the_batch["day"].isoformat())
        found = _existing(tx.one, batch_id, household_id)
        if found:
            return Tick(False, household_id, house["room"], found[0], found[1], found[2])
        keylocks.hold(tx, f"donation-batch:{batch_id}")  # ticks on other app processes count in `given` too
        given = tx.scalar("SELECT coalesce(sum(portions), 0) FROM donation_deliveries WHERE batch_id = ?", [batch_id])
        if given + portions > the_batch["portions"]:
            raise InvalidInput("donation.error.exhausted", portions=the_batch["portions"])
        tx.insert(
            "donation_deliveries",
            {
                "batch_id": batch_id,
                "household_id": household_id,
                "portions": portions,
                "delivered_at": tx.now,
                "delivered_by": actor.username,
            },
            returning=None,
        )
        tx.audit(
            "donation.tick",
            "donation_deliveries",
            f"{batch_id}:{household_id}",
            None,
            {"batch_id": batch_id, "household_id": household_id, "unit_id": house["unit_id"], "portions": portions},
        )
        return Tick(True, household_id, house["room"], actor.username, actor.display_name or actor.username, tx.now)

    # Ticks and unticks of this process run one at a time, so the "batch used up" check sees every earlier
    # tick; ticks of other app processes on a shared PostgreSQL database wait for the batch's key in fn.
    # The primary key (batch_id, household_id) still decides who ticked a room.
    try:
        with keylocks.local(db, "donations.ticks"):
            return db.write(actor, fn)
    except duckdb.ConstraintException:
        # The other tap committed between our look and our insert: report theirs.
        found = _existing(db.one, batch_id, household_id)
        if not found:
            raise
        room = db.scalar("SELECT room FROM households WHERE id = ?", [household_id])
        return Tick(False, household_id, room, found[0], found[1], found[2])


def can_untick(actor: Actor, delivered_by: str | None, unit_id: int) -> bool:
    """A manager may undo any tick; a captain or member only their own tap, in their units."""
    if access.can(actor, "donation.manage"):
        return True
    return delivered_by == actor.username and access.can(actor, "donation.tick", unit_id)


def untick(db: Database, actor: Actor, batch_id: int, household_id: int) -> bool:
    """Undo a mistaken tick (audited with what it removed). False when there was nothing to undo."""

    def fn(tx: Tx) -> bool:
        house = tx.record("households", household_id)
        tx.require("donation.tick", house["unit_id"])
        row = tx.one(
            "SELECT portions, delivered_at, delivered_by FROM donation_deliveries WHERE batch_id = ? AND household_id = ?",
            [batch_id, household_id],
        )
        if row is None:
            return False
        if not can_untick(actor, row[2], house["unit_id"]):
            raise InvalidInput("donation.error.untick_other", by=row[2])
        tx.execute(
            "DELETE FROM donation_deliveries WHERE batch_id = ? AND household_id = ?",
            [batch_id, household_id],
            writes=("donation_deliveries",),
        )
        tx.changes += 1
        tx.audit(
            "donation.untick",
            "donation_deliveries",
            f"{batch_id}:{household_id}",
            {"portions": row[0], "delivered_at": row[1], "delivered_by": row[2]},
            None,
        )
        return True

    with keylocks.local(db, "donations.ticks"):
        return db.write(actor, fn)
