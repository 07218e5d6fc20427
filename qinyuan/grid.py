"""The grid itself: building units, their teams, and households picked by room."""

from __future__ import annotations

import pandas as pd

from . import access
from .access import Actor
from .db import Database


def unit_label(building: int, unit_no: int, lang: str = "zh") -> str:
    return f"{building}号楼{unit_no}单元" if lang == "zh" else f"B{building}-U{unit_no}"


def units(db: Database, actor: Actor, action: str = "household.view") -> pd.DataFrame:
    """Units the actor may see for an action: id, building, unit_no, team_id, captain."""
    where, params = access.unit_filter(actor, action, "u.id")
    return db.df(f"""SELECT u.id, u.building, u.unit_no, u.team_id, v.name AS captain, v.phone AS captain_phone
                     FROM units u LEFT JOIN teams t ON t.id = u.team_id LEFT JOIN volunteers v ON v.id = t.captain_id
                     WHERE {where} ORDER BY u.id""", params)


def households_in_unit(db: Database, actor: Actor, unit_id: int, action: str = "household.view") -> pd.DataFrame:
    """Households of one unit for a room picker: id, room, contact_name."""
    access.require(actor, action, unit_id)
    return db.df("SELECT id, room, contact_name FROM households WHERE unit_id = ? ORDER BY length(room), room", [unit_id])


def residents_of(db: Database, actor: Actor, household_id: int, action: str = "household.view") -> pd.DataFrame:
    unit_id = household_unit(db, household_id)
    access.require(actor, action, unit_id)
    return db.df("SELECT id, name, gender, birth_year FROM residents WHERE household_id = ? AND active ORDER BY id", [household_id])


def household_unit(db: Database, household_id: int) -> int:
    from .errors import NotFound

    unit_id = db.scalar("SELECT unit_id FROM households WHERE id = ?", [household_id])
    if unit_id is None:
        raise NotFound(entity="household", id=household_id)
    return unit_id
