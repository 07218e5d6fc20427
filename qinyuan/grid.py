"""The grid itself: building units, their teams, and households picked by room."""

from __future__ import annotations

import pandas as pd

from . import access, i18n
from .access import Actor
from .db import Database


def unit_label(building: int, unit_no: int, lang: str = "zh") -> str:
    """A building unit as people say it (1号楼2单元 / Bldg 1 Unit 2), the same on every page and export."""
    return i18n.t("common.unit_label", lang, building=int(building), unit=int(unit_no))


def units(db: Database, actor: Actor, action: str = "household.view", building: int | None = None) -> pd.DataFrame:
    """Units the actor may see for an action (of one building if given): id, building, unit_no, team_id, captain."""
    where, params = access.unit_filter(actor, action, "u.id")
    if building is not None:
        where += " AND u.building = ?"
        params = [*params, int(building)]
    return db.df(
        f"""SELECT u.id, u.building, u.unit_no, u.team_id, v.name AS captain, v.phone AS captain_phone
                     FROM units u LEFT JOIN teams t ON t.id = u.team_id LEFT JOIN volunteers v ON v.id = t.captain_id
                     WHERE {where} ORDER BY u.id""",
        params,
    )


def unit_span(db: Database, actor: Actor, action: str = "household.view") -> tuple[int, int]:
    """How many units the actor may see for an action, and the highest building number among them."""
    where, params = access.unit_filter(actor, action, "u.id")
    count, top = db.rows(f"SELECT count(*), coalesce(max(building), 0) FROM units u WHERE {where}", params)[0]
    return int(count), int(top)


def households_in_unit(db: Database, actor: Actor, unit_id: int, action: str = "household.view") -> pd.DataFrame:
    """Households of one unit for a room picker: id, room, contact_name."""
    access.require(actor, action, unit_id)
    return db.df("SELECT id, room, contact_name FROM households WHERE unit_id = ? ORDER BY length(room), room, id", [unit_id])


def residents_of(db: Database, actor: Actor, household_id: int, action: str = "household.view") -> pd.DataFrame:
    unit_id = household_unit(db, household_id)
    access.require(actor, action, unit_id)
    return db.df(
        "SELECT id, name, gender, birth_year FROM residents WHERE household_id = ? AND active ORDER BY id", [household_id]
    )


def household_unit(db: Database, household_id: int) -> int:
    from .errors import NotFound

    unit_id = db.scalar("SELECT unit_id FROM households WHERE id = ?", [household_id])
    if unit_id is None:
        raise NotFound(entity="household", id=household_id)
    return unit_id


def create_grid(db: Database, actor: Actor, buildings: int, units_per_building: int, floors: int = 6) -> int:
    """Lay out a real compound: building units numbered as the demo's, one team per unit. Returns units added."""
    from .errors import InvalidInput

    if not (1 <= buildings <= 500 and 1 <= units_per_building <= 12 and 1 <= floors <= 60):
        raise InvalidInput("error.grid_size")

    def fn(tx):
        tx.require("users.manage")
        if tx.scalar("SELECT count(*) FROM units"):
            raise InvalidInput("error.grid_exists")
        added = 0
        for building in range(1, buildings + 1):
            for unit_no in range(1, units_per_building + 1):
                uid = (building - 1) * units_per_building + unit_no
                tx.insert("teams", {"id": uid, "name": f"沁园红第{uid}队"}, returning=None)
                tx.insert(
                    "units",
                    {"id": uid, "building": building, "unit_no": unit_no, "floors": floors, "team_id": uid},
                    returning=None,
                )
                added += 1
        tx.audit("grid.create", "units", None, None, {"buildings": buildings, "units_per_building": units_per_building})
        return added

    return db.write(actor, fn)
