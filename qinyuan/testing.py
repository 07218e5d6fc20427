"""Mass testing rounds: staggered slots by building, per-resident results, the miss-no-one board.

Every resident of every round is in one of STATUSES; `pending` and `home_sampling_needed` are the
ones not yet accounted for (UNACCOUNTED), the rest count as covered."""

from __future__ import annotations

import html
from datetime import date, datetime, timedelta

import pandas as pd

from . import access, users
from .access import Actor
from .db import Database, Tx, contains
from .errors import InvalidInput, NotFound, StaleEdit
from .i18n import t
from .states import Machine

STATUSES = ("pending", "tested", "home_sampling_needed", "sampled_at_home", "away", "exempt")
HOME_TAGS = ("dialysis", "chemo", "disability", "elderly_alone")  # sampled at home by default
LAST_SLOT_END = 22 * 60  # no slot may end after 22:00
MAX_SITES = 10

_ALL = ("committee", "captain", "medic")
_CLINIC = ("committee", "medic")
RESULT = Machine(
    "test_result",
    {
        "pending": {"tested": _ALL, "home_sampling_needed": _ALL, "away": _ALL, "exempt": _ALL},
        "home_sampling_needed": {"sampled_at_home": _CLINIC, "tested": _ALL, "pending": _ALL, "away": _ALL, "exempt": _ALL},
        "tested": {"pending": _ALL},
        "sampled_at_home": {"home_sampling_needed": _CLINIC},
        "away": {"pending": _ALL, "tested": _ALL},
        "exempt": {"pending": _ALL},
    },
    terminal=("tested", "sampled_at_home", "away", "exempt"),
)
UNACCOUNTED = RESULT.open_states  # not yet accounted for: the round still waits on them
UNACCOUNTED_SQL = RESULT.sql_list(UNACCOUNTED)
AT_SITE = ("pending", "tested")  # who a sampling site expects: not at home, away or exempt
AT_HOME = ("home_sampling_needed", "sampled_at_home")
# The statuses a captain taps per resident on a phone, in the order of the buttons.
TAP_STATUSES = ("tested", "home_sampling_needed", "away", "exempt")
ROUND = Machine(
    "test_round",
    {
        "planned": {"active": _CLINIC},
        "active": {"completed": _CLINIC},
    },
    terminal=("completed",),
)


# -- rounds ------------------------------------------------------------------------------------
def rounds(db: Database) -> list[dict]:
    return db.dicts("SELECT * FROM test_rounds ORDER BY day DESC, id DESC")


def get_round(db: Database, round_id: int) -> dict:
    rows = db.dicts("SELECT * FROM test_rounds WHERE id = ?", [int(round_id)])
    if not rows:
        raise NotFound(entity="test_round", id=round_id)
    return rows[0]


def sites_of(rnd: dict) -> list[str]:
    return [s.strip() for s in str(rnd["sites"]).split(";") if s.strip()]


def _minutes(hhmm: str) -> int:
    try:
        hours, minutes = (int(x) for x in str(hhmm).split(":"))
    except ValueError:
        raise InvalidInput("testing.error.start_time") from None
    if not (0 <= hours < 24 and 0 <= minutes < 60):
        raise InvalidInput("testing.error.start_time")
    return hours * 60 + minutes


def create_round(
    db: Database,
    actor: Actor,
    day: date,
    sites: list[str],
    slot_minutes: int = 30,
    capacity: int = 200,
    start_time: str = "08:00",
) -> int:
    """A new round (planned), every active resident pending (home sampling for the bedbound and
    those under treatment). Returns its id."""
    sites = [s.strip().replace(";", ",") for s in sites if s and s.strip()]
    if not sites or len(sites) > MAX_SITES:
        raise InvalidInput("testing.error.sites", max=MAX_SITES)
    if not 10 <= int(slot_minutes) <= 120:
        raise InvalidInput("testing.error.slot_minutes")
    if not 1 <= int(capacity) <= 10_000:
        raise InvalidInput("testing.error.capacity")
    _minutes(start_time)

    def fn(tx: Tx):
        tx.require("testing.manage")
        rid = tx.scalar("SELECT nextval('round_seq')")
        number = tx.scalar("SELECT coalesce(max(round_no), 0) + 1 FROM test_rounds")
        values = {
            "id": rid,
            "round_no": number,
            "day": day,
            "sites": ";".join(sites),
            "slot_minutes": int(slot_minutes),
            "capacity": int(capacity),
            "start_time": start_time,
            "status": "planned",
        }
        tx.insert("test_rounds", values)
        tx.execute(
            """INSERT INTO test_results (round_id, resident_id, status)
                      SELECT ?, r.id, CASE WHEN r.tags && CAST(? AS VARCHAR[]) THEN 'home_sampling_needed' ELSE 'pending' END
                      FROM residents r WHERE r.active""",
            [rid, list(HOME_TAGS)],
            writes=("test_results",),
        )
        tx.changes += 1
        tx.audit("testing.round_create", "test_round", rid, None, values)
        return rid

    return db.write(actor, fn)


def set_round_status(db: Database, actor: Actor, round_id: int, status: str, expected_version: int) -> None:
    def fn(tx: Tx):
        assert tx.actor is not None
        tx.require("testing.manage")
        rnd = tx.record("test_rounds", int(round_id))
        ROUND.check(rnd["status"], status, tx.actor.role)
        before, after = tx.update("test_rounds", rnd["id"], {"status": status}, expected_version=expected_version)
        tx.audit("testing.round_status", "test_round", rnd["id"], {"status": before["status"]}, {"status": status})

    db.write(actor, fn)


# -- scheduling --------------------------------------------------------------------------------
RESULT_TABLES = ("test_results", "residents", "households", "units")  # what the board and the lists read
BOARD_ROWS = 60  # a board table lists at most this many buildings / units (the worst first when there are more)


def _in(column: str, units: tuple[int, ...] | None) -> tuple[str, list]:
    if units is None:
        return "TRUE", []
    if not units:
        return "FALSE", []
    return f"{column} IN ({', '.join('?' for _ in units)})", [int(u) for u in units]


def view_units(actor: Actor, action: str = "testing.view") -> tuple[int, ...] | None:
    """The units an actor may see for an action, None for the whole compound (PermissionDenied when none)."""
    where, params = access.unit_filter(actor, action, "u.id")
    return None if where == "TRUE" else tuple(int(p) for p in params)


def expected_by_unit(db: Database, round_id: int, units: tuple[int, ...] | None = None) -> pd.DataFrame:
    """Residents expected at a sampling site per unit (of `units` if given, else every unit): active, and not
    sampled at home, away or exempt. Cached until a write touches what it reads."""
    units = None if units is None else tuple(sorted(int(u) for u in units))
    inner, inner_p = _in("h.unit_id", units)
    outer, outer_p = _in("u.id", units)

    def compute() -> pd.DataFrame:
        return db.df(
            f"""WITH c AS (
                            SELECT h.unit_id, count(*) AS expected
                            FROM residents r JOIN households h ON h.id = r.household_id
                            LEFT JOIN test_results tr ON tr.resident_id = r.id AND tr.round_id = ?
                            WHERE r.active AND {inner} AND coalesce(tr.status, 'pending') IN {RESULT.sql_list(AT_SITE)}
                            GROUP BY h.unit_id)
                        SELECT u.id AS unit_id, u.building, u.unit_no, coalesce(c.expected, 0) AS expected
                        FROM units u LEFT JOIN c ON c.unit_id = u.id WHERE {outer}
                        ORDER BY u.building, u.unit_no, u.id""",
            [int(round_id), *inner_p, *outer_p],
        )

    return db.cached("testing.expected_by_unit", (int(round_id), units), RESULT_TABLES, compute)


def plan_slots(loads: list[tuple[int, int, int]], capacity: int, sites: int, max_slots: int) -> dict[int, tuple[int, int]]:
    """loads: (unit_id, building, expected) ordered by building. Returns {unit_id: (slot index, site index)}:
    first fit in time order, a building's units together in one slot and site when they fit, never over
    capacity. Raises InvalidInput when a unit alone exceeds the capacity or the day is too short."""
    used: dict[tuple[int, int], int] = {}
    bins = [(slot, site) for slot in range(max_slots) for site in range(sites)]
    plan: dict[int, tuple[int, int]] = {}
    start = 0  # bins before `start` are full enough to be skipped quickly

    def first_fit(load: int) -> tuple[int, int]:
        nonlocal start
        for i in range(start, len(bins)):
            if used.get(bins[i], 0) + load <= capacity:
                return bins[i]
        raise InvalidInput("testing.error.day_too_short")

    buildings: dict[int, list[tuple[int, int]]] = {}
    for unit_id, building, load in loads:
        if load > capacity:
            raise InvalidInput("testing.error.unit_over_capacity", unit=unit_id, n=load, capacity=capacity)
        buildings.setdefault(building, []).append((unit_id, load))
    for building in buildings:
        units = buildings[building]
        total = sum(load for _, load in units)
        if total <= capacity:
            target = first_fit(total)
            used[target] = used.get(target, 0) + total
            for unit_id, _ in units:
                plan[unit_id] = target
        else:
            for unit_id, load in units:
                target = first_fit(load)
                used[target] = used.get(target, 0) + load
                plan[unit_id] = target
        while start < len(bins) and used.get(bins[start], 0) >= capacity:
            start += 1
    return plan


def _slot_time(rnd: dict, index: int) -> datetime:
    from .clock import at

    minutes = _minutes(rnd["start_time"]) + index * int(rnd["slot_minutes"])
    return at(rnd["day"], 0, minutes)


def schedule(db: Database, actor: Actor, round_id: int, expected_version: int | None = None) -> dict:
    """Assign every building unit to a (slot, site), staggered by building, no slot over capacity."""
    access.require(actor, "testing.manage")
    rnd = get_round(db, round_id)
    if rnd["status"] == "completed":
        raise InvalidInput("testing.error.round_closed")
    sites = sites_of(rnd)
    loads = expected_by_unit(db, round_id)
    max_slots = max(0, (LAST_SLOT_END - _minutes(rnd["start_time"])) // int(rnd["slot_minutes"]))
    plan = plan_slots(
        list(loads[["unit_id", "building", "expected"]].itertuples(index=False, name=None)),
        int(rnd["capacity"]),
        len(sites),
        max_slots,
    )
    rows = [(int(round_id), int(uid), _slot_time(rnd, slot), sites[site]) for uid, (slot, site) in plan.items()]

    def fn(tx: Tx):
        tx.require("testing.manage")
        current = tx.record("test_rounds", int(round_id))
        if expected_version is not None and current["version"] != expected_version:
            raise StaleEdit()
        tx.execute("DELETE FROM test_slots WHERE round_id = ?", [int(round_id)], writes=("test_slots",))
        frame = pd.DataFrame(rows, columns=["round_id", "unit_id", "slot_start", "site"])
        with tx.frame("testing_slot_frame", frame):
            tx.execute(
                "INSERT INTO test_slots (round_id, unit_id, slot_start, site) "
                "SELECT round_id, unit_id, slot_start, site FROM testing_slot_frame",
                writes=("test_slots",),
            )
        before, after = tx.update("test_rounds", current["id"], {"status": current["status"]})
        last = max((r[2] for r in rows), default=None)
        summary = {"units": len(rows), "slots": len({(r[2], r[3]) for r in rows}), "last_slot": last}
        tx.audit("testing.schedule", "test_round", current["id"], None, summary)
        return summary

    return db.write(actor, fn)


def slot_table(db: Database, actor: Actor, round_id: int, unit_id: int | None = None) -> pd.DataFrame:
    """Each visible unit's (or the one unit's) slot and expected residents."""
    where, params = access.unit_filter(actor, "testing.view", "u.id")
    units = view_units(actor)
    if unit_id is not None:
        access.require(actor, "testing.view", int(unit_id))
        where, params, units = f"{where} AND u.id = ?", [*params, int(unit_id)], (int(unit_id),)
    loads = expected_by_unit(db, round_id, units)[["unit_id", "expected"]]
    frame = db.df(
        f"""SELECT u.id AS unit_id, u.building, u.unit_no, s.slot_start, s.site, s.version
                      FROM units u LEFT JOIN test_slots s ON s.unit_id = u.id AND s.round_id = ?
                      WHERE {where} ORDER BY s.slot_start NULLS LAST, u.building, u.unit_no""",
        [int(round_id), *params],
    )
    return frame.merge(loads, on="unit_id", how="left")


def slot_loads(db: Database, round_id: int) -> pd.DataFrame:
    """Expected residents per (slot, site): the numbers scheduling keeps under capacity."""
    loads = expected_by_unit(db, round_id)
    slots = db.df("SELECT unit_id, slot_start, site FROM test_slots WHERE round_id = ?", [int(round_id)])
    merged = slots.merge(loads, on="unit_id")
    if merged.empty:
        return pd.DataFrame(columns=["slot_start", "site", "units", "expected"])
    return (
        merged.groupby(["slot_start", "site"], as_index=False)
        .agg(units=("unit_id", "count"), expected=("expected", "sum"))
        .sort_values(["slot_start", "site"])
        .reset_index(drop=True)
    )


def move_slot(
    db: Database, actor: Actor, round_id: int, unit_id: int, slot_start: datetime, site: str, expected_version: int | None
) -> None:
    """Adjust one unit's slot by hand; refused when it would put the slot over capacity."""
    access.require(actor, "testing.manage")
    rnd = get_round(db, round_id)
    if site not in sites_of(rnd):
        raise InvalidInput("testing.error.unknown_site", site=site)
    loads = dict(expected_by_unit(db, round_id)[["unit_id", "expected"]].itertuples(index=False, name=None))

    def fn(tx: Tx):
        tx.require("testing.manage")
        row = tx.one(
            "SELECT slot_start, site, version FROM test_slots WHERE round_id = ? AND unit_id = ?", [int(round_id), int(unit_id)]
        )
        others = tx.rows(
            "SELECT unit_id FROM test_slots WHERE round_id = ? AND slot_start = ? AND site = ? AND unit_id <> ?",
            [int(round_id), slot_start, site, int(unit_id)],
        )
        load = sum(int(loads.get(u, 0)) for (u,) in others) + int(loads.get(int(unit_id), 0))
        if load > int(rnd["capacity"]):
            raise InvalidInput("testing.error.over_capacity", n=load, capacity=rnd["capacity"])
        if row is None:
            tx.insert(
                "test_slots",
                {"round_id": int(round_id), "unit_id": int(unit_id), "slot_start": slot_start, "site": site},
                returning=None,
            )
            before = None
        else:
            if expected_version is not None and row[2] != expected_version:
                raise StaleEdit()
            count = tx.scalar(
                """UPDATE test_slots SET slot_start = ?, site = ?, version = version + 1
                                 WHERE round_id = ? AND unit_id = ? AND version = ? RETURNING 1""",
                [slot_start, site, int(round_id), int(unit_id), row[2]],
                writes=("test_slots",),
            )
            if count is None:
                raise StaleEdit()
            tx.changes += 1
            before = {"slot_start": row[0], "site": row[1]}
        tx.audit("testing.slot_move", "test_slot", f"{round_id}:{unit_id}", before, {"slot_start": slot_start, "site": site})

    db.write(actor, fn)


# -- results -----------------------------------------------------------------------------------
def _rows_to_mark(
    tx: Tx, round_id: int, household_id: int, status: str, reason: str | None, only: int | None
) -> tuple[str | None, list]:
    """The checks before marking (status, reason, open round, permission) and the household's residents to mark."""
    if status not in STATUSES:
        raise InvalidInput("testing.error.unknown_status", status=status)
    reason = (reason or "").strip()[:200] or None
    if status == "exempt" and not reason:
        raise InvalidInput("testing.error.reason_required")
    rnd = tx.record("test_rounds", int(round_id))
    if rnd["status"] == "completed":
        raise InvalidInput("testing.error.round_closed")
    unit_id = tx.scalar("SELECT unit_id FROM households WHERE id = ?", [int(household_id)])
    if unit_id is None:
        raise NotFound(entity="household", id=household_id)
    tx.require("testing.mark", unit_id)
    rows = tx.rows(
        """SELECT r.id, tr.status, tr.version FROM residents r
                      LEFT JOIN test_results tr ON tr.resident_id = r.id AND tr.round_id = ?
                      WHERE r.household_id = ? AND r.active ORDER BY r.id""",
        [int(round_id), int(household_id)],
    )
    if only is not None:
        rows = [r for r in rows if r[0] == only]
        if not rows:
            raise NotFound(entity="resident", id=only)
    return reason, rows


def _mark(
    tx: Tx, round_id: int, household_id: int, status: str, reason: str | None, versions: dict | None, only: int | None = None
) -> int:
    assert tx.actor is not None
    reason, rows = _rows_to_mark(tx, round_id, household_id, status, reason, only)
    changed, before, after = 0, {}, {}
    for rid, current, version in rows:
        if versions is not None and rid in versions and versions[rid] != version:
            raise StaleEdit()
        current = current or "pending"
        if current == status:
            continue
        if only is None and (current not in UNACCOUNTED or status not in RESULT.next_steps(current, tx.actor.role)):
            continue  # a whole household: only residents still open move; the others keep their status
        RESULT.check(current, status, tx.actor.role)
        _write_result(tx, round_id, rid, version, status, reason)
        before[rid], after[rid] = current, status
        changed += 1
    if changed:
        tx.audit(
            "testing.mark",
            "household",
            household_id,
            {"round_id": round_id, "results": before},
            {"round_id": round_id, "results": after, "reason": reason},
        )
    return changed


def _write_result(tx: Tx, round_id: int, rid: int, version: int | None, status: str, reason: str | None) -> None:
    """One resident's result: a first row, or a version-checked update of the one there."""
    assert tx.actor is not None
    if version is None:
        tx.insert(
            "test_results",
            {
                "round_id": int(round_id),
                "resident_id": rid,
                "status": status,
                "reason": reason,
                "updated_at": tx.now,
                "updated_by": tx.actor.username,
            },
            returning=None,
        )
    else:
        ok = tx.scalar(
            """UPDATE test_results SET status = ?, reason = ?, updated_at = ?, updated_by = ?, version = version + 1
                          WHERE round_id = ? AND resident_id = ? AND version = ? RETURNING 1""",
            [status, reason, tx.now, tx.actor.username, int(round_id), rid, version],
            writes=("test_results",),
        )
        if ok is None:
            raise StaleEdit()
        tx.changes += 1


def mark_household(
    db: Database,
    actor: Actor,
    round_id: int,
    household_id: int,
    status: str,
    reason: str | None = None,
    versions: dict[int, int | None] | None = None,
) -> int:
    """Mark every resident of a household still open (pending / home sampling needed) who may move to `status`.
    versions: {resident_id: result version the user saw}. Returns how many residents changed."""
    return db.write(actor, lambda tx: _mark(tx, round_id, household_id, status, reason, versions))


def mark_resident(
    db: Database,
    actor: Actor,
    round_id: int,
    resident_id: int,
    status: str,
    reason: str | None = None,
    expected_version: int | None = None,
) -> int:
    household_id = db.scalar("SELECT household_id FROM residents WHERE id = ? AND active", [int(resident_id)])
    if household_id is None:
        raise NotFound(entity="resident", id=resident_id)
    versions = {int(resident_id): expected_version} if expected_version is not None else None
    return db.write(actor, lambda tx: _mark(tx, round_id, household_id, status, reason, versions, only=int(resident_id)))


def tap_choices(current: str, role: str) -> dict[str, bool]:
    """For one resident's row of status buttons: each of TAP_STATUSES and whether this role may tap it now
    (the current status is never tappable); plus 'pending' (undo) when the result may go back."""
    steps = RESULT.next_steps(current, role)
    choices = {status: status != current and status in steps for status in TAP_STATUSES}
    if current != "pending" and "pending" in steps:
        choices["pending"] = True
    return choices


def unit_households(db: Database, actor: Actor, round_id: int, unit_id: int) -> list[dict]:
    """Households of one unit with their residents' results, for marking on a phone."""
    access.require(actor, "testing.view", int(unit_id))
    rows = db.dicts(
        """SELECT h.id AS household_id, h.room, h.contact_name, r.id AS resident_id, r.name,
                              coalesce(array_length(r.tags, 1), 0) > 0 AS needs_support, coalesce(tr.status, 'pending') AS status, tr.reason,
                              tr.version
                       FROM households h JOIN residents r ON r.household_id = h.id AND r.active
                       LEFT JOIN test_results tr ON tr.resident_id = r.id AND tr.round_id = ?
                       WHERE h.unit_id = ? ORDER BY length(h.room), h.room, r.id""",
        [int(round_id), int(unit_id)],
    )
    houses: dict[int, dict] = {}
    for row in rows:
        house = houses.setdefault(
            row["household_id"],
            {"id": row["household_id"], "room": row["room"], "contact_name": row["contact_name"], "residents": [], "open": 0},
        )
        house["residents"].append({k: row[k] for k in ("resident_id", "name", "needs_support", "status", "reason", "version")})
        house["open"] += row["status"] in UNACCOUNTED
    return list(houses.values())


# -- the miss-no-one board -----------------------------------------------------------------------
def board(db: Database, actor: Actor, round_id: int) -> pd.DataFrame:
    """Per unit the actor may see: residents, accounted for, still open, coverage (the kpi arithmetic).
    Cached until a write touches test_results, residents, households or units."""
    where, params = access.unit_filter(actor, "testing.view", "u.id")
    inner, inner_p = access.unit_filter(actor, "testing.view", "h.unit_id")
    cols = ["residents", "accounted", "pending", "home_needed", "home_done", "tested", "away", "exempt"]

    def compute() -> pd.DataFrame:
        frame = db.df(
            f"""WITH c AS (
                              SELECT h.unit_id, count(*) AS residents,
                                     count(*) FILTER (WHERE tr.status NOT IN {UNACCOUNTED_SQL}) AS accounted,
                                     count(*) FILTER (WHERE tr.status = 'pending') AS pending,
                                     count(*) FILTER (WHERE tr.status = 'home_sampling_needed') AS home_needed,
                                     count(*) FILTER (WHERE tr.status = 'sampled_at_home') AS home_done,
                                     count(*) FILTER (WHERE tr.status = 'tested') AS tested,
                                     count(*) FILTER (WHERE tr.status = 'away') AS away,
                                     count(*) FILTER (WHERE tr.status = 'exempt') AS exempt
                              FROM test_results tr JOIN residents r ON r.id = tr.resident_id
                              JOIN households h ON h.id = r.household_id
                              WHERE tr.round_id = ? AND {inner} GROUP BY h.unit_id)
                          SELECT u.id AS unit_id, u.building, u.unit_no,
                                 {", ".join(f"coalesce(c.{c}, 0) AS {c}" for c in cols)}
                          FROM units u LEFT JOIN c ON c.unit_id = u.id
                          WHERE {where} ORDER BY u.building, u.unit_no, u.id""",
            [int(round_id), *inner_p, *params],
        )
        frame["coverage"] = [round(a / n, 4) if n else 0.0 for a, n in zip(frame["accounted"], frame["residents"], strict=True)]
        return frame

    return db.cached("testing.board", (int(round_id), where, tuple(params)), RESULT_TABLES, compute)


def _worst(frame: pd.DataFrame, limit: int) -> pd.DataFrame:
    """All rows in their order when they fit, else the `limit` with the lowest coverage (most open first)."""
    if len(frame) <= limit:
        return frame.reset_index(drop=True)
    ranked = frame.assign(_open=frame["residents"] - frame["accounted"])
    ranked = ranked.sort_values(["coverage", "_open"], ascending=[True, False], kind="stable").head(limit)
    return ranked.drop(columns=["_open"]).reset_index(drop=True)


def board_summary(db: Database, actor: Actor, round_id: int, limit: int = BOARD_ROWS) -> dict:
    """What the board shows: totals, and per building and per unit at most `limit` rows (the worst when more),
    with how many there are. Cached with the board, so a rerun does no work over the whole compound."""
    where, params = access.unit_filter(actor, "testing.view", "u.id")

    def compute() -> dict:
        units = board(db, actor, round_id)
        buildings = by_building(units)
        return {
            "totals": totals(units),
            "units": _worst(units, limit),
            "unit_count": len(units),
            "buildings": _worst(buildings, limit),
            "building_count": len(buildings),
        }

    return db.cached("testing.board_summary", (int(round_id), where, tuple(params), int(limit)), RESULT_TABLES, compute)


def by_building(unit_board: pd.DataFrame) -> pd.DataFrame:
    cols = ["residents", "accounted", "pending", "home_needed", "home_done", "tested", "away", "exempt"]
    frame = unit_board.groupby("building", as_index=False)[cols].sum()
    frame["coverage"] = [round(a / n, 4) if n else 0.0 for a, n in zip(frame["accounted"], frame["residents"], strict=True)]
    return frame


def totals(unit_board: pd.DataFrame) -> dict:
    residents = int(unit_board["residents"].sum()) if len(unit_board) else 0
    accounted = int(unit_board["accounted"].sum()) if len(unit_board) else 0
    return {
        "residents": residents,
        "accounted": accounted,
        "open": residents - accounted,
        "home_needed": int(unit_board["home_needed"].sum()) if len(unit_board) else 0,
        "home_done": int(unit_board["home_done"].sum()) if len(unit_board) else 0,
        "coverage": round(accounted / residents, 4) if residents else 0.0,
    }


PAGE_CACHE_ROWS = 200
_BOARD_COUNT = {"pending": "pending", "home_sampling_needed": "home_needed"}  # list status -> board column


def pending_list(
    db: Database,
    actor: Actor,
    round_id: int,
    *,
    unit_id: int | None = None,
    statuses: tuple[str, ...] = UNACCOUNTED,
    page: int = 1,
    page_size: int = 50,
    building: int | None = None,
    search: str | None = None,
) -> tuple[pd.DataFrame, int]:
    """Residents still to account for (paginated in SQL), ordered building, unit, room; optionally of one
    building, or whose name or room contains `search`."""
    statuses = tuple(s for s in statuses if s in STATUSES) or UNACCOUNTED
    where, clauses, params, filtered = _pending_filters(actor, unit_id, building, search)
    marks = ", ".join("?" for _ in statuses)

    offset = (max(1, int(page)) - 1) * int(page_size)

    def rows(clauses: list[str], params: list, offset: int) -> pd.DataFrame:
        return db.df(
            f"""SELECT r.id AS resident_id, h.id AS household_id, h.unit_id, u.building, u.unit_no, h.room,
                                r.name, coalesce(r.phone, h.phone) AS phone, coalesce(array_length(r.tags, 1), 0) > 0 AS needs_support,
                                r.tags,
                                tr.status, tr.version
                         FROM test_results tr JOIN residents r ON r.id = tr.resident_id
                         JOIN households h ON h.id = r.household_id JOIN units u ON u.id = h.unit_id
                         WHERE tr.round_id = ? AND tr.status IN ({marks}) AND {" AND ".join(clauses)}
                         ORDER BY u.building, u.unit_no, u.id, length(h.room), h.room, r.id LIMIT ? OFFSET ?""",
            [int(round_id), *statuses, *params, int(page_size), int(offset)],
        )

    def compute() -> tuple[pd.DataFrame, int]:
        if not filtered and set(statuses) <= set(_BOARD_COUNT):
            # the board (cached, same tables) counts every unit's open residents in the list's order: read only
            # the units that hold this page instead of sorting the whole compound's list
            unit_ids, first, total = _board_window(board(db, actor, round_id), statuses, offset, int(page_size))
            inside, inside_p = _in("h.unit_id", unit_ids)
            return rows([inside], inside_p, offset - first), total
        frame = rows(clauses, params, offset)
        return frame, _pending_total(db, round_id, statuses, where, clauses, params, filtered)

    if int(page_size) <= PAGE_CACHE_ROWS:  # a page is small: keep it until a write touches what it reads
        key = (int(round_id), statuses, tuple(clauses), tuple(params), max(1, int(page)), int(page_size))
        frame, total = db.cached("testing.pending_list", key, RESULT_TABLES, compute)
    else:  # a whole door-to-door list is read fresh and not kept
        frame, total = compute()
    return _as_seen_by(db, actor, frame, round_id, unit_id), total


def _board_window(
    units: pd.DataFrame, statuses: tuple[str, ...], offset: int, page_size: int
) -> tuple[tuple[int, ...], int, int]:
    """From the board's open residents per unit (in the list's order): the units holding this page, the list
    position of the first of them, and the list's length."""
    counts = units[[_BOARD_COUNT[s] for s in statuses]].sum(axis=1).to_numpy()
    ends = counts.cumsum()
    starts = ends - counts
    hit = (counts > 0) & (starts < offset + int(page_size)) & (ends > offset)
    unit_ids = tuple(int(u) for u in units["unit_id"].to_numpy()[hit])
    first = int(starts[hit][0]) if unit_ids else 0
    return unit_ids, first, int(counts.sum())


def _pending_total(
    db: Database, round_id: int, statuses: tuple[str, ...], where: str, clauses: list[str], params: list, filtered: bool
) -> int:
    """How many residents the (unpaged) list holds."""
    marks = ", ".join("?" for _ in statuses)
    if where == "TRUE" and not filtered:  # the whole compound: no joins needed to count
        total = int(
            db.scalar(f"SELECT count(*) FROM test_results WHERE round_id = ? AND status IN ({marks})", [int(round_id), *statuses])
        )
    else:
        total = int(
            db.scalar(
                f"""SELECT count(*) FROM test_results tr JOIN residents r ON r.id = tr.resident_id
                                   JOIN households h ON h.id = r.household_id
                                   WHERE tr.round_id = ? AND tr.status IN ({marks}) AND {" AND ".join(clauses)}""",
                [int(round_id), *statuses, *params],
            )
        )
    return total


def _pending_filters(
    actor: Actor, unit_id: int | None, building: int | None, search: str | None
) -> tuple[str, list[str], list, bool]:
    """(the actor's unit filter, every WHERE clause, their params, whether the list is narrowed by the user)."""
    where, params = access.unit_filter(actor, "testing.view", "h.unit_id")
    clauses, params = [where], list(params)
    if unit_id is not None:
        clauses.append("h.unit_id = ?")
        params.append(int(unit_id))
    if building is not None:
        clauses.append("h.unit_id IN (SELECT id FROM units WHERE building = ?)")
        params.append(int(building))
    search = (search or "").strip()[:40]
    if search:  # a name or a room; LIKE's wildcards in what was typed are taken literally
        pattern = contains(search)
        clauses.append("(r.name ILIKE ? ESCAPE '\\' OR h.room ILIKE ? ESCAPE '\\')")
        params += [pattern, pattern]
    filtered = unit_id is not None or building is not None or bool(search)
    return where, clauses, params, filtered


def _as_seen_by(db: Database, actor: Actor, frame: pd.DataFrame, round_id: int, unit_id: int | None) -> pd.DataFrame:
    """Phones masked outside the actor's units; medical tags dropped, or their viewing audited."""
    frame["phone"] = [
        p if access.can(actor, "phone.view", int(u)) else access.mask_phone(p)
        for p, u in zip(frame["phone"], frame["unit_id"], strict=True)
    ]
    if access.scope_of(actor, "medical.view") is None:
        frame = frame.drop(columns=["tags"])
    elif frame["tags"].map(lambda tags: tags is not None and len(tags) > 0).any():
        # tags are medical detail: who saw whose is audited (the lists and the door-to-door exports)
        users.log_view(
            db,
            actor,
            "round",
            round_id,
            what="medical_tags",
            detail={
                "unit": unit_id,
                "residents": [
                    int(r) for r, tags in zip(frame["resident_id"], frame["tags"], strict=True) if tags is not None and len(tags)
                ],
            },
            listing=True,
        )
    return frame


def status_label(status: str, lang: str = "zh") -> str:
    return RESULT.label(status, lang)


def door_to_door(
    db: Database, actor: Actor, round_id: int, unit_id: int | None = None, lang: str = "zh", limit: int = 20_000
) -> pd.DataFrame:
    """The door-to-door list: everyone still open, by building, unit and room, with a column to tick."""
    frame, _ = pending_list(db, actor, round_id, unit_id=unit_id, page=1, page_size=limit)
    return pd.DataFrame(
        {
            t("common.building", lang): frame["building"],
            t("common.unit", lang): frame["unit_no"],
            t("common.room", lang): frame["room"],
            t("common.name", lang): frame["name"],
            t("common.phone", lang): frame["phone"],
            t("common.status", lang): [status_label(s, lang) for s in frame["status"]],
            t("testing.col.support", lang): [t("households.needs_support", lang) if s else "" for s in frame["needs_support"]],
            t("testing.col.tick", lang): ["" for _ in range(len(frame))],
        }
    )


def door_to_door_html(db: Database, actor: Actor, round_id: int, unit_id: int | None = None, lang: str = "zh") -> bytes:
    """A print-friendly page of the door-to-door list, one section per building unit."""
    rnd = get_round(db, round_id)
    frame = door_to_door(db, actor, round_id, unit_id, lang)
    cols = list(frame.columns)
    b_col, u_col = cols[0], cols[1]
    title = t("testing.door.title", lang, round=rnd["round_no"], day=rnd["day"].isoformat())
    parts = [
        f"<!doctype html><html lang='{lang}'><head><meta charset='utf-8'><title>{html.escape(title)}</title>",
        "<style>body{font-family:'Noto Sans CJK SC',sans-serif;margin:12px;font-size:14px}"
        "table{border-collapse:collapse;width:100%;margin-bottom:14px}td,th{border:1px solid #999;padding:4px 6px;text-align:left}"
        "h2{font-size:16px;margin:16px 0 6px;page-break-after:avoid}section{page-break-inside:avoid}"
        "@media print{button{display:none}}</style></head><body>",
        f"<h1>{html.escape(title)}</h1>",
        f"<p>{html.escape(t('testing.door.count', lang, n=len(frame)))}</p>",
        f"<button onclick='window.print()'>{html.escape(t('testing.door.print', lang))}</button>",
    ]
    if frame.empty:
        parts.append(f"<p>{html.escape(t('testing.door.none', lang))}</p>")
    for (building, unit), group in frame.groupby([b_col, u_col], sort=True):
        label = t("common.unit_label", lang, building=building, unit=unit)
        parts.append(f"<section><h2>{html.escape(label)} · {len(group)}</h2><table><tr>")
        parts += [f"<th>{html.escape(str(c))}</th>" for c in cols[2:]]
        parts.append("</tr>")
        for _, row in group.iterrows():
            parts.append(
                "<tr>" + "".join(f"<td>{html.escape('' if row[c] is None else str(row[c]))}</td>" for c in cols[2:]) + "</tr>"
            )
        parts.append("</table></section>")
    parts.append("</body></html>")
    return "".join(parts).encode("utf-8")


# -- notices -----------------------------------------------------------------------------------
def notice_text(db: Database, actor: Actor, round_id: int, unit_id: int, lang: str = "zh") -> str:
    """A ready-to-paste notice for the unit's chat group: time, place, what to bring, home sampling."""
    access.require(actor, "notice.draft", int(unit_id))
    rnd = get_round(db, round_id)
    unit = db.one("SELECT building, unit_no FROM units WHERE id = ?", [int(unit_id)])
    if unit is None:
        raise NotFound(entity="unit", id=unit_id)
    slot = db.one("SELECT slot_start, site FROM test_slots WHERE round_id = ? AND unit_id = ?", [int(round_id), int(unit_id)])
    home = db.scalar(
        f"""SELECT count(*) FROM test_results tr JOIN residents r ON r.id = tr.resident_id
                        JOIN households h ON h.id = r.household_id
                        WHERE tr.round_id = ? AND h.unit_id = ? AND tr.status IN {RESULT.sql_list(AT_HOME)}""",
        [int(round_id), int(unit_id)],
    )
    captain = (
        db.scalar(
            """SELECT v.name FROM units u JOIN teams tm ON tm.id = u.team_id JOIN volunteers v ON v.id = tm.captain_id
                           WHERE u.id = ?""",
            [int(unit_id)],
        )
        or ""
    )
    label = t("common.unit_label", lang, building=unit[0], unit=unit[1])
    if slot is None:
        when, place = t("testing.notice.no_slot", lang), t("testing.notice.no_site", lang)
    else:
        start = slot[0].astimezone(_tz())
        end = start + timedelta(minutes=int(rnd["slot_minutes"]))
        when = f"{start:%m-%d} {start:%H:%M}–{end:%H:%M}"
        place = slot[1] or ""
    return t("testing.notice.body", lang, unit=label, round=rnd["round_no"], when=when, place=place, home=home, captain=captain)


def _tz():
    from .clock import TZ

    return TZ
