"""The household ledger (敲门行动台账): scoped, paginated queries, census visits and resident tags.

Who sees what: a captain only their team's units, committee / medic / logistics the compound.
Phones are masked unless the actor may see phones in that unit; special-needs tags and medical
notes only for roles with `medical.view` (others learn only that a household needs priority support)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import pandas as pd

from . import access, kpi, testing, users
from .access import Actor
from .db import Database, Tx, contains
from .errors import InvalidInput, NotFound

TAGS = ("elderly_alone", "disability", "chronic", "dialysis", "chemo", "pregnancy", "newborn", "other")
MAX_OCCUPANTS = 20
STALE_VISIT_DAYS = 7  # "not visited": no census visit within this many days
PAGE_SIZE = 20
UNACCOUNTED = testing.UNACCOUNTED


@dataclass(frozen=True)
class Filters:
    unit_id: int | None = None
    tag: str | None = None  # one of TAGS, or "any" (has any tag)
    not_visited: bool = False
    not_tested: bool = False
    search: str | None = None


def sees_medical(actor: Actor) -> bool:
    return access.scope_of(actor, "medical.view") is not None


def _where(db: Database, actor: Actor, f: Filters, action: str = "household.view") -> tuple[str, list, dict | None]:
    """WHERE clause over households h (with units u) confined to the actor's scope and the filters."""
    scope_sql, params = access.unit_filter(actor, action, "h.unit_id")
    clauses = [scope_sql]
    params = list(params)
    if f.unit_id is not None:
        clauses.append("h.unit_id = ?")
        params.append(int(f.unit_id))
    if f.tag:
        if f.tag == "any":
            clauses.append(
                "h.id IN (SELECT r.household_id FROM residents r WHERE r.active AND coalesce(array_length(r.tags, 1), 0) > 0)"
            )
        else:
            if f.tag not in TAGS:
                raise InvalidInput("households.error.unknown_tag", tag=f.tag)
            if not sees_medical(actor):
                raise access.PermissionDenied(action="medical.view", unit="")
            clauses.append("h.id IN (SELECT r.household_id FROM residents r WHERE r.active AND ? = ANY(r.tags))")
            params.append(f.tag)
    if f.not_visited:
        clauses.append("(h.last_visit_at IS NULL OR h.last_visit_at < ?)")
        params.append(db.now() - timedelta(days=STALE_VISIT_DAYS))
    rnd = kpi.current_round(db)
    if f.not_tested:
        if rnd is None:
            clauses.append("FALSE")
        else:
            clauses.append(f"""h.id IN (SELECT r.household_id FROM residents r JOIN test_results tr ON tr.resident_id = r.id
                              WHERE tr.round_id = ? AND r.active AND tr.status IN {testing.UNACCOUNTED_SQL})""")
            params.append(rnd["id"])
    text = (f.search or "").strip()
    if text:
        like = contains(text)
        clauses.append("""(h.room ILIKE ? ESCAPE '\\' OR h.contact_name ILIKE ? ESCAPE '\\'
                           OR h.id IN (SELECT r.household_id FROM residents r WHERE r.active AND r.name ILIKE ? ESCAPE '\\'))""")
        params += [like, like, like]
    return " AND ".join(clauses), params, rnd


def list_households(
    db: Database, actor: Actor, filters: Filters | None = None, page: int = 1, page_size: int = PAGE_SIZE
) -> tuple[pd.DataFrame, int]:
    """One page of the ledger (paginated in SQL) and the number of households matching."""
    f = filters or Filters()
    page = max(1, int(page))
    page_size = max(1, min(int(page_size), 500))
    where, params, rnd = _where(db, actor, f)
    round_id = rnd["id"] if rnd else -1
    frame = db.df(
        f"""WITH pg AS (
                SELECT h.id, h.unit_id, u.building, u.unit_no, h.room, h.contact_name, h.phone, h.occupants, h.notes,
                       h.last_visit_at, h.last_visit_by, h.version
                FROM households h JOIN units u ON u.id = h.unit_id
                WHERE {where}
                ORDER BY h.unit_id, length(h.room), h.room, h.id
                LIMIT ? OFFSET ?)
            SELECT pg.*,
                   coalesce(a.residents, 0) AS residents,
                   coalesce(a.special, 0) AS special,
                   coalesce(g.tags, CAST(ARRAY[] AS VARCHAR[])) AS tags,
                   coalesce(t.accounted, 0) AS accounted,
                   coalesce(t.unaccounted, 0) AS unaccounted
            FROM pg
            LEFT JOIN (SELECT r.household_id, count(*) AS residents, count(*) FILTER (WHERE coalesce(array_length(r.tags, 1), 0) > 0) AS special
                       FROM residents r WHERE r.active AND r.household_id IN (SELECT id FROM pg) GROUP BY r.household_id) a
                   ON a.household_id = pg.id
            LEFT JOIN (SELECT household_id, array_agg(DISTINCT tag ORDER BY tag) AS tags
                       FROM (SELECT r.household_id, unnest(r.tags) AS tag FROM residents r
                             WHERE r.active AND r.household_id IN (SELECT id FROM pg)) x
                       GROUP BY household_id) g
                   ON g.household_id = pg.id
            LEFT JOIN (SELECT r.household_id,
                              count(*) FILTER (WHERE tr.status NOT IN {testing.UNACCOUNTED_SQL}) AS accounted,
                              count(*) FILTER (WHERE tr.status IN {testing.UNACCOUNTED_SQL}) AS unaccounted
                       FROM residents r JOIN test_results tr ON tr.resident_id = r.id AND tr.round_id = ?
                       WHERE r.active AND r.household_id IN (SELECT id FROM pg) GROUP BY r.household_id) t
                   ON t.household_id = pg.id
            ORDER BY pg.unit_id, length(pg.room), pg.room, pg.id""",
        [*params, page_size, (page - 1) * page_size, round_id],
    )
    total = count_households(db, actor, f) if len(frame) or page > 1 else 0
    frame = _protect(actor, frame)
    _log_tags(db, actor, frame, "medical_tags", f.unit_id)
    return frame, total


def _log_tags(db: Database, actor: Actor, frame: pd.DataFrame, what: str, unit_id: int | None) -> None:
    """Special-needs tags are medical detail: showing them (list, export) is audited with whose were shown."""
    if "tags" not in frame.columns:
        return
    shown = [
        int(h)
        for h, tags in zip(frame["id"] if "id" in frame.columns else frame["household_id"], frame["tags"], strict=True)
        if tags is not None and len(tags)
    ]
    if shown:
        users.log_view(
            db,
            actor,
            "unit" if unit_id is not None else "households",
            unit_id or "all",
            what=what,
            detail={"households": shown},
            listing=what == "medical_tags",
        )


def count_households(db: Database, actor: Actor, filters: Filters | None = None) -> int:
    where, params, _ = _where(db, actor, filters or Filters())
    return int(db.scalar(f"SELECT count(*) FROM households h JOIN units u ON u.id = h.unit_id WHERE {where}", params))


def _protect(actor: Actor, frame: pd.DataFrame) -> pd.DataFrame:
    """Mask phones the actor may not see; replace tags by a 'needs support' flag for non-medical roles."""
    frame = frame.copy()
    if "phone" in frame.columns:
        frame["phone"] = [
            p if access.can(actor, "phone.view", int(u)) else access.mask_phone(p)
            for p, u in zip(frame["phone"], frame["unit_id"], strict=True)
        ]
    if "special" in frame.columns:
        frame["needs_support"] = frame["special"] > 0
    if not sees_medical(actor):
        frame = frame.drop(columns=[c for c in ("tags", "medical_notes", "notes") if c in frame.columns])
    return frame


def export_frame(
    db: Database, actor: Actor, filters: Filters | None = None, lang: str = "zh", limit: int = 200_000
) -> pd.DataFrame:
    """What the actor may see, as a flat table with labelled columns for CSV/xlsx."""
    from .i18n import t

    f = filters or Filters()
    access.require(actor, "household.export")
    where, params, _ = _where(db, actor, f, "household.export")
    frame = db.df(
        f"""SELECT h.id, h.unit_id, u.building, u.unit_no, h.room, h.contact_name, h.phone, h.occupants,
                   coalesce(a.residents, 0) AS residents, coalesce(a.special, 0) AS special,
                   coalesce(g.tags, CAST(ARRAY[] AS VARCHAR[])) AS tags, h.last_visit_at, h.last_visit_by
            FROM households h JOIN units u ON u.id = h.unit_id
            LEFT JOIN (SELECT r.household_id, count(*) AS residents, count(*) FILTER (WHERE coalesce(array_length(r.tags, 1), 0) > 0) AS special
                       FROM residents r WHERE r.active GROUP BY r.household_id) a ON a.household_id = h.id
            LEFT JOIN (SELECT household_id, array_agg(DISTINCT tag ORDER BY tag) AS tags
                       FROM (SELECT r.household_id, unnest(r.tags) AS tag FROM residents r WHERE r.active) x
                       GROUP BY household_id) g
                   ON g.household_id = h.id
            WHERE {where}
            ORDER BY h.unit_id, length(h.room), h.room, h.id LIMIT ?""",
        [*params, int(limit)],
    )
    frame = _protect(actor, frame)
    _log_tags(db, actor, frame, "medical_export", f.unit_id)
    out = pd.DataFrame(
        {
            t("common.building", lang): frame["building"],
            t("common.unit", lang): frame["unit_no"],
            t("common.room", lang): frame["room"],
            t("households.col.contact", lang): frame["contact_name"],
            t("common.phone", lang): frame["phone"],
            t("households.col.occupants", lang): frame["occupants"],
            t("households.col.residents", lang): frame["residents"],
        }
    )
    if "tags" in frame.columns:
        out[t("households.col.tags", lang)] = [
            "、".join(tag_label(x, lang) for x in (tags if tags is not None else [])) for tags in frame["tags"]
        ]
    else:
        out[t("households.col.support", lang)] = [
            t("households.needs_support", lang) if s else "" for s in frame["needs_support"]
        ]
    out[t("households.col.last_visit", lang)] = frame["last_visit_at"]
    out[t("households.col.visited_by", lang)] = frame["last_visit_by"]
    return out


def tag_label(tag: str, lang: str = "zh") -> str:
    from .i18n import t

    return t(f"households.tag.{tag}", lang) if tag in TAGS else tag


def household(db: Database, actor: Actor, household_id: int, *, with_medical_notes: bool = False) -> dict:
    """One household with its residents and their current-round results, as the actor may see it.
    Reading medical notes is recorded in the audit log."""
    rows = db.dicts(
        """SELECT h.*, u.building, u.unit_no FROM households h JOIN units u ON u.id = h.unit_id
                       WHERE h.id = ?""",
        [int(household_id)],
    )
    if not rows:
        raise NotFound(entity="household", id=household_id)
    house = rows[0]
    access.require(actor, "household.view", house["unit_id"])
    medical = sees_medical(actor) and access.can(actor, "medical.view", house["unit_id"])
    if not access.can(actor, "phone.view", house["unit_id"]):
        house["phone"] = access.mask_phone(house["phone"])
    if not medical:
        house.pop("notes", None)
    rnd = kpi.current_round(db)
    residents = db.dicts(
        """SELECT r.id, r.name, r.gender, r.birth_year, r.phone, r.tags, r.medical_notes, r.version,
                  tr.status AS test_status, tr.reason AS test_reason, tr.version AS test_version
           FROM residents r LEFT JOIN test_results tr ON tr.resident_id = r.id AND tr.round_id = ?
           WHERE r.household_id = ? AND r.active ORDER BY r.id""",
        [rnd["id"] if rnd else -1, int(household_id)],
    )
    phones = access.can(actor, "phone.view", house["unit_id"])
    for r in residents:
        r["tags"] = list(r["tags"] or [])
        r["needs_support"] = bool(r["tags"])
        if not phones:
            r["phone"] = access.mask_phone(r["phone"])
        if not medical:
            r.pop("tags")
            r.pop("medical_notes")
        elif not with_medical_notes:
            r.pop("medical_notes")
    if medical and (with_medical_notes or any(r["tags"] for r in residents)):
        users.log_view(
            db,
            actor,
            "household",
            household_id,
            what="medical" if with_medical_notes else "medical_tags",
            listing=not with_medical_notes,
        )
    house["residents"] = residents
    house["round"] = rnd
    return house


def medicine_history(db: Database, actor: Actor, household_id: int, lang: str = "zh") -> pd.DataFrame | None:
    """The medicine orders of a household, from the medicine module once it exists (None until then,
    and None for a role that may not see medicine orders)."""
    try:
        from . import medicine

        history = medicine.household_history
    except (ImportError, AttributeError):
        return None
    try:
        return history(db, actor, household_id, lang=lang)
    except TypeError:
        return history(db, actor, household_id)
    except access.PermissionDenied:
        return None


def _check_tags(tags) -> list[str]:
    tags = [str(x) for x in (tags or [])]
    for tag in tags:
        if tag not in TAGS:
            raise InvalidInput("households.error.unknown_tag", tag=tag)
    return sorted(set(tags))


def _visit_input(occupants, notes: str | None, new_residents: list[dict] | None) -> tuple[int, str | None, list[dict]]:
    """The visit's figures checked: occupants, notes, the new residents worth adding."""
    try:
        occupants = int(occupants)
    except (TypeError, ValueError):
        raise InvalidInput("households.error.occupants", min=0, max=MAX_OCCUPANTS) from None
    if not 0 <= occupants <= MAX_OCCUPANTS:
        raise InvalidInput("households.error.occupants", min=0, max=MAX_OCCUPANTS)
    notes = (notes or "").strip()[:500] or None
    additions = []
    for item in new_residents or []:
        name = (item.get("name") or "").strip()
        if not name:
            continue
        if len(name) > 40:
            raise InvalidInput("households.error.name_long")
        additions.append({"name": name, "tags": _check_tags(item.get("tags"))})
    return occupants, notes, additions


def _update_residents(tx: Tx, house: dict, changes: list[dict], rnd: int | None) -> int:
    """Tags and 'moved out' of the household's residents as the user saw them; how many changed."""
    changed = 0
    for item in changes:
        resident = tx.record("residents", int(item["id"]))
        if resident["household_id"] != house["id"]:
            raise NotFound(entity="resident", id=item["id"])
        update: dict[str, Any] = {}
        if item.get("moved_out"):
            update["active"] = False
        if "tags" in item:
            tags = _check_tags(item["tags"])
            if tags != sorted(resident["tags"] or []):
                tx.require("medical.edit", house["unit_id"])
                update["tags"] = tags
        if not update:
            continue
        b, a = tx.update("residents", resident["id"], update, expected_version=item.get("version"))
        if update.get("active") is False and rnd:
            tx.execute(
                "DELETE FROM test_results WHERE round_id = ? AND resident_id = ? AND status = 'pending'",
                [rnd, resident["id"]],
                writes=("test_results",),
            )
            tx.changes += 1
        tx.audit("resident.update", "resident", resident["id"], _slim(b), _slim(a))
        changed += 1
    return changed


def _add_residents(tx: Tx, house: dict, additions: list[dict], rnd: int | None) -> None:
    """New residents, on the open round's list from the start."""
    for item in additions:
        if item["tags"]:
            tx.require("medical.edit", house["unit_id"])
        rid = tx.scalar("SELECT nextval('resident_seq')")
        tx.insert("residents", {"id": rid, "household_id": house["id"], "name": item["name"], "tags": item["tags"]})
        if rnd:
            tx.insert("test_results", {"round_id": rnd, "resident_id": rid, "status": "pending"}, returning=None)
        tx.audit("resident.create", "resident", rid, None, {"household_id": house["id"], **item})


def record_visit(
    db: Database,
    actor: Actor,
    household_id: int,
    *,
    expected_version: int,
    occupants: int,
    notes: str | None = None,
    residents: list[dict] | None = None,
    new_residents: list[dict] | None = None,
) -> dict:
    """A census visit in one transaction: occupants and notes of the household, each resident's tags
    (or 'moved out'), new residents. residents: [{id, version, tags?, moved_out?}] as the user saw them;
    new_residents: [{name, tags?}]. Returns the household's new version and counts."""
    occupants, notes, additions = _visit_input(occupants, notes, new_residents)
    changes = list(residents or [])

    def fn(tx: Tx):
        assert tx.actor is not None
        house = tx.record("households", int(household_id))
        tx.require("household.edit", house["unit_id"])
        before, after = tx.update(
            "households",
            house["id"],
            {"occupants": occupants, "notes": notes, "last_visit_at": tx.now, "last_visit_by": tx.actor.username},
            expected_version=expected_version,
        )
        tx.insert(
            "census_visits",
            {
                "household_id": house["id"],
                "visited_at": tx.now,
                "visited_by": tx.actor.username,
                "occupants": occupants,
                "notes": notes,
            },
        )
        tx.audit("household.visit", "household", house["id"], before, after)
        rnd = _open_round(tx)
        changed = _update_residents(tx, house, changes, rnd)
        _add_residents(tx, house, additions, rnd)
        return {"version": after["version"], "changed": changed, "added": len(additions)}

    return db.write(actor, fn)


def _open_round(tx: Tx) -> int | None:
    """The round new residents must be accounted in: an active round of today or earlier."""
    return tx.scalar(
        "SELECT id FROM test_rounds WHERE status = 'active' AND day <= ? ORDER BY day DESC, id DESC LIMIT 1", [tx.now.date()]
    )


def _slim(record: dict) -> dict:
    return {k: record.get(k) for k in ("household_id", "name", "tags", "active", "version")}


def set_tags(db: Database, actor: Actor, resident_id: int, tags: list[str], *, expected_version: int) -> int:
    """Special-needs tags of one resident (needs `medical.edit` in the resident's unit). Returns the new version."""
    tags = _check_tags(tags)

    def fn(tx: Tx):
        resident = tx.record("residents", int(resident_id))
        unit_id = tx.scalar("SELECT unit_id FROM households WHERE id = ?", [resident["household_id"]])
        tx.require("medical.edit", unit_id)
        before, after = tx.update("residents", resident["id"], {"tags": tags}, expected_version=expected_version)
        tx.audit("resident.tags", "resident", resident["id"], _slim(before), _slim(after))
        return after["version"]

    return db.write(actor, fn)
