"""Role x action x in/out-of-scope over the service layer.

For every action of qinyuan.access.ACTIONS that a service enforces, one probe calls the real
service function as each of the five roles, on a record inside captain01's / member001's units
(unit 1) and on one outside them (unit 2). What must happen is what ACTIONS says:
- forbidden (no scope for the role, or out of the actor's units) -> PermissionDenied, and the
  actor leaves no audit row;
- allowed -> the call succeeds, and a write (or a view of medical detail) leaves an audit row by
  the actor.
docs/access.md carries the same matrix; a test checks it is up to date."""

from __future__ import annotations

import itertools
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

import pytest

from qinyuan import access
from qinyuan.access import SYSTEM, Actor
from qinyuan.db import Database
from qinyuan.errors import PermissionDenied, QinyuanError

from . import access_doc

USERS = {
    "committee": "committee",
    "captain": "captain01",
    "member": "member001",
    "medic": "medic01",
    "logistics": "logistics01",
    "household": None,
}  # None: the household at its door (first of unit 1)
IN, OUT = 1, 2  # captain01 and member001 act in unit 1 (team 1); unit 2 belongs to team 2
TODAY = date(2022, 1, 10)

Act = Callable[[Actor], Any]
SERIAL = itertools.count(1)  # unique names, days and times across probes


@dataclass(frozen=True)
class Probe:
    action: str
    prepare: Callable[[Database, int | None], Act]  # (db, unit) -> the call to make as an actor
    scoped: bool = True  # the target lies in a unit: probe unit 1 and unit 2
    audited: bool = True  # success leaves an audit row by the actor (writes, views of medical detail)
    expect: Callable[[Actor, int | None], bool] | None = None  # overrides access.can for "self" scopes
    filtered: bool = False  # a list read returning a row count: out of the actor's units it may count 0 instead of raising

    @property
    def id(self) -> str:
        return self.action


# -- targets ------------------------------------------------------------------------------------
def household(db: Database, unit: int) -> int:
    return db.scalar("SELECT min(id) FROM households WHERE unit_id = ?", [unit])


def resident(db: Database, unit: int) -> tuple[int, int]:
    return db.one(
        """SELECT r.id, r.version FROM residents r JOIN households h ON h.id = r.household_id
                     WHERE h.unit_id = ? AND r.active ORDER BY r.id LIMIT 1""",
        [unit],
    )


def current_round(db: Database) -> int:
    return db.scalar("SELECT id FROM test_rounds WHERE status = 'active' ORDER BY round_no DESC LIMIT 1")


def volunteer(db: Database, unit: int, captain: bool = False) -> tuple[int, int]:
    return db.one(
        """SELECT v.id, v.version FROM volunteers v JOIN units u ON u.team_id = v.team_id
                     WHERE u.id = ? AND v.active AND v.is_captain = ? ORDER BY v.id LIMIT 1""",
        [unit, captain],
    )


# -- probes ---------------------------------------------------------------------------------------
def _households():
    from qinyuan import households, medical

    def view(db, unit):
        hid = household(db, unit)
        return lambda actor: households.household(db, actor, hid)

    def view_medical(db, unit):
        rid, _ = resident(db, unit)
        return lambda actor: medical.resident_medical(db, actor, rid)

    def visit(db, unit):
        hid = household(db, unit)

        def act(actor):
            version, occupants = db.one("SELECT version, occupants FROM households WHERE id = ?", [hid])
            households.record_visit(db, actor, hid, expected_version=version, occupants=occupants, notes="matrix")

        return act

    def edit_medical(db, unit):
        rid, _ = resident(db, unit)

        def act(actor):
            version, tags, contact = db.one("SELECT version, tags, emergency_contact FROM residents WHERE id = ?", [rid])
            medical.update_profile(
                db,
                actor,
                rid,
                tags=list(tags),
                medical_notes="matrix check",
                due_date=None,
                emergency_contact=contact,
                expected_version=version,
            )

        return act

    return [
        Probe("household.view", view, audited=False),
        Probe("household.edit", visit),
        Probe("medical.view", view_medical),
        Probe("medical.edit", edit_medical),
    ]


def _testing():
    from qinyuan import testing

    def view(db, unit):
        rnd = current_round(db)
        return lambda actor: testing.unit_households(db, actor, rnd, unit)

    def mark(db, unit):
        rnd = current_round(db)
        rid = db.scalar(
            """SELECT r.id FROM residents r JOIN households h ON h.id = r.household_id
                           JOIN test_results tr ON tr.resident_id = r.id AND tr.round_id = ?
                           WHERE h.unit_id = ? AND r.active AND tr.status = 'pending' ORDER BY r.id LIMIT 1""",
            [rnd, unit],
        )
        return lambda actor: testing.mark_resident(db, actor, rnd, rid, "tested")

    def notice(db, unit):
        rnd = current_round(db)
        return lambda actor: testing.notice_text(db, actor, rnd, unit)

    def manage(db, _unit):
        def act(actor):
            rnd = db.one("SELECT id, version FROM test_rounds WHERE status = 'planned' ORDER BY id LIMIT 1")
            if rnd is None:
                testing.create_round(db, SYSTEM, date(2022, 1, 12), ["东门"])
                rnd = db.one("SELECT id, version FROM test_rounds WHERE status = 'planned' ORDER BY id LIMIT 1")
            testing.schedule(db, actor, rnd[0], rnd[1])

        return act

    return [
        Probe("testing.view", view, audited=False),
        Probe("testing.mark", mark),
        Probe("notice.draft", notice, audited=False),
        Probe("testing.manage", manage, scoped=False),
    ]


def _teams():
    from qinyuan import teams

    def view(db, unit):
        return lambda actor: teams.members(db, actor, team_id=unit)[1]  # how many; team N owns unit N

    def contact(db, unit):
        vid, _ = volunteer(db, unit)

        def act(actor):
            version = db.scalar("SELECT version FROM volunteers WHERE id = ?", [vid])
            teams.update_contact(db, actor, vid, version, notes="matrix")

        return act

    def edit(db, unit):
        def act(actor):
            version, name = db.one("SELECT version, name FROM teams WHERE id = ?", [unit])
            teams.update_team(db, actor, unit, version, name=name, notes="matrix")

        return act

    return [
        Probe("roster.view", view, audited=False, filtered=True),
        Probe("roster.contact", contact),
        Probe("roster.edit", edit),
    ]


def _duty():
    from qinyuan import clock, duty

    def new_shift(db, day: date, start: datetime, end: datetime) -> int:
        post = db.scalar("SELECT min(id) FROM duty_posts WHERE active")

        def fn(tx):
            sid = tx.scalar(
                """INSERT INTO shifts (id, post_id, day, start_at, end_at)
                               VALUES (nextval('shift_seq'), ?, ?, ?, ?) RETURNING id""",
                [post, day, start, end],
                writes=("shifts",),
            )
            tx.changes += 1
            tx.audit("matrix.setup", "shift", sid)
            return sid

        return db.write(SYSTEM, fn)

    def view(db, _unit):
        return lambda actor: duty.day_plan(db, actor, TODAY)

    def plan(db, unit):
        vid, _ = volunteer(db, unit)

        def act(actor):
            day = TODAY + timedelta(days=2 + next(SERIAL))  # a day of its own: no double booking
            shift = new_shift(db, day, clock.at(day, 10), clock.at(day, 12))
            duty.assign(db, actor, shift, vid)

        return act

    def checkin(db, unit):
        """Unit 1: member001's own assignment; unit 2: a volunteer of team 2."""
        vid = db.scalar("SELECT volunteer_id FROM users WHERE username = 'member001'") if unit == IN else volunteer(db, OUT)[0]

        def act(actor):
            shift = new_shift(db, TODAY, clock.at(TODAY, 8, 30), clock.at(TODAY, 12))  # open at 09:00

            def fn(tx):
                aid = tx.scalar(
                    """INSERT INTO shift_assignments (id, shift_id, volunteer_id, status)
                                   VALUES (nextval('assignment_seq'), ?, ?, 'assigned') RETURNING id""",
                    [shift, vid],
                    writes=("shift_assignments",),
                )
                tx.changes += 1
                tx.audit("matrix.setup", "shift_assignment", aid)
                return aid

            aid = db.write(SYSTEM, fn)
            duty.check_in(db, actor, aid, db.scalar("SELECT version FROM shift_assignments WHERE id = ?", [aid]))

        return act

    def checkin_expect(actor: Actor, unit: int | None) -> bool:
        if actor.role == "member":
            return unit == IN  # "self": the unit 1 probe is member001's own assignment
        return access.can(actor, "duty.checkin", unit)

    return [
        Probe("duty.view", view, scoped=False, audited=False),
        Probe("duty.plan", plan),
        Probe("duty.checkin", checkin, expect=checkin_expect),
    ]


def _medicine():
    from qinyuan import medicine

    def view(db, unit):
        oid = db.scalar(
            """SELECT min(o.id) FROM medicine_orders o JOIN households h ON h.id = o.household_id
                           WHERE h.unit_id = ?""",
            [unit],
        )
        if oid is None:
            oid = medicine.create_order(db, SYSTEM, household(db, unit), "阿莫西林")
        return lambda actor: medicine.get_order(db, actor, oid)

    def create(db, unit):
        hid = household(db, unit)
        return lambda actor: medicine.create_order(db, actor, hid, "硝苯地平缓释片")

    def advance(db, unit):
        def act(actor):
            oid = medicine.create_order(db, SYSTEM, household(db, unit), "胰岛素")
            status = "requested"
            while medicine.forward_step(status, actor.role) is None:  # walk to where this role has a step
                step = medicine.forward_step(status, "committee")
                if step is None or step == "delivered":
                    break
                medicine.advance(db, SYSTEM, oid, step, db.scalar("SELECT version FROM medicine_orders WHERE id = ?", [oid]))
                status = step
            target = medicine.forward_step(status, actor.role) or medicine.forward_step(status, "committee")
            medicine.advance(db, actor, oid, target, db.scalar("SELECT version FROM medicine_orders WHERE id = ?", [oid]))

        return act

    def export(db, _unit):
        return lambda actor: medicine.export_frame(db, actor)

    def settings(db, _unit):
        return lambda actor: medicine.set_limits(db, actor, {"urgent": 4.0})

    return [
        Probe("medicine.view", view, audited=False),
        Probe("medicine.create", create),
        Probe("medicine.advance", advance),
        Probe("medicine.export", export, scoped=False, audited=False),
        Probe("medicine.settings", settings, scoped=False),
    ]


def _emergencies():
    from qinyuan import emergencies

    def new_case(db, unit) -> int:
        rid, _ = resident(db, unit)
        hid = db.scalar("SELECT household_id FROM residents WHERE id = ?", [rid])
        return emergencies.report_case(db, SYSTEM, hid, rid, "胸闷", "urgent", "220/120")

    def view(db, unit):
        cid = new_case(db, unit)
        return lambda actor: emergencies.case_detail(db, actor, cid)

    def report(db, unit):
        rid, _ = resident(db, unit)
        hid = db.scalar("SELECT household_id FROM residents WHERE id = ?", [rid])
        return lambda actor: emergencies.report_case(db, actor, hid, rid, "头晕", "urgent")

    def update(db, unit):
        def act(actor):
            emergencies.add_event(db, actor, new_case(db, unit), "clinic_contacted", "已联系校医院")

        return act

    def permit(db, unit):
        def act(actor):
            cid = new_case(db, unit)
            emergencies.add_event(db, SYSTEM, cid, "exit_permit_requested", "申请出门")
            emergencies.add_event(db, actor, cid, "exit_permit_granted", "批准")

        return act

    def configure(db, _unit):
        return lambda actor: emergencies.set_stale_minutes(db, actor, 45)

    return [
        Probe("emergency.view", view),
        Probe("emergency.report", report),
        Probe("emergency.update", update),
        Probe("emergency.permit", permit),
        Probe("emergency.configure", configure, scoped=False),
    ]


def _supplies():
    from qinyuan import donations, groceries, supplies

    def s_view(db, _unit):
        return lambda actor: supplies.items(db, actor)

    def s_manage(db, _unit):
        item = db.scalar("SELECT min(id) FROM supply_items")
        return lambda actor: supplies.record_movement(db, actor, item, "in", 10, "捐赠方")

    def g_view(db, _unit):
        return lambda actor: groceries.orders(db, actor)

    def g_manage(db, _unit):
        return lambda actor: groceries.add_supplier(db, actor, f"矩阵测试供应商{next(SERIAL)}")

    def d_view(db, unit):
        batch = donations.latest_batch(db)
        return lambda actor: donations.rooms(db, actor, batch, unit)

    def d_manage(db, _unit):
        return lambda actor: donations.create_batch(db, actor, "爱心企业", "蔬菜包", 100, TODAY)

    def d_tick(db, unit):
        batch = donations.latest_batch(db)

        def act(actor):
            hid = db.scalar(
                """SELECT min(h.id) FROM households h WHERE h.unit_id = ? AND h.id NOT IN
                               (SELECT household_id FROM donation_deliveries WHERE batch_id = ?)""",
                [unit, batch],
            )
            if hid is None:
                hid = household(db, unit)
                donations.untick(db, SYSTEM, batch, hid)
            donations.tick(db, actor, batch, hid)

        return act

    return [
        Probe("supplies.view", s_view, scoped=False, audited=False),
        Probe("supplies.manage", s_manage, scoped=False),
        Probe("grocery.view", g_view, scoped=False, audited=False),
        Probe("grocery.manage", g_manage, scoped=False),
        Probe("donation.view", d_view, audited=False),
        Probe("donation.manage", d_manage, scoped=False),
        Probe("donation.tick", d_tick),
    ]


def _admin():
    from qinyuan import briefing, overview, users

    def manage(db, _unit):
        return lambda actor: users.create_user(db, actor, f"matrix{next(SERIAL)}", "矩阵", "medic")

    def brief(db, _unit):
        return lambda actor: briefing.gather(db, TODAY, actor)

    def audit(db, _unit):
        return lambda actor: users.audit_log(db, actor, limit=5)

    def kpi(db, unit):
        return lambda actor: overview.unit_detail(db, actor, unit)

    return [
        Probe("users.manage", manage, scoped=False),
        Probe("audit.view", audit, scoped=False, audited=False),
        Probe("kpi.view", kpi, audited=False),
        Probe("briefing.make", brief, scoped=False, audited=False),
    ]


def _door():
    from qinyuan import door

    def use_write(db, unit):
        hid = household(db, unit)
        return lambda actor: door.ask_help(db, actor, hid, "rubbish")

    def use_read(db, unit):
        hid = household(db, unit)
        return lambda actor: (door.home(db, actor, hid), door.my_requests(db, actor, hid), door.offer(db, actor, hid))

    def cards(db, unit):
        hid = household(db, unit)
        return lambda actor: door.reissue(db, actor, hid)

    def handle(db, unit):
        def act(actor):
            hid = db.scalar("SELECT max(id) FROM households WHERE unit_id = ?", [unit])  # not the probing household
            rid = door.ask_help(db, door.open_link(db, door.reissue(db, SYSTEM, hid)), hid, "pet")
            door.advance(db, actor, rid, "done", db.scalar("SELECT version FROM door_requests WHERE id = ?", [rid]))

        return act

    def own(actor: Actor, unit: int | None) -> bool:
        return actor.role == access.HOUSEHOLD and unit == IN  # unit 1's probe targets the household's own home

    return [
        Probe("door.use", use_write, expect=own),
        Probe("door.use", use_read, audited=False, expect=own),
        Probe("door.cards", cards),
        Probe("door.handle", handle),
    ]


PROBES = [*_households(), *_testing(), *_teams(), *_duty(), *_medicine(), *_emergencies(), *_supplies(), *_admin(), *_door()]


def household_at_door(db: Database) -> Actor:
    from qinyuan import door

    hid = household(db, IN)
    return door.open_link(db, door.reissue(db, SYSTEM, hid), "matrix")


def _audit_rows(db: Database, username: str) -> int:
    return db.scalar("SELECT count(*) FROM audit_log WHERE actor = ?", [username])


@pytest.mark.parametrize("probe", PROBES, ids=lambda p: p.id)
def test_role_by_scope(db, as_user, probe: Probe):
    assert probe.action in access.ACTIONS, probe.action
    wrong: list[str] = []
    for role, username in USERS.items():
        actor = household_at_door(db) if username is None else as_user(username)
        username = actor.username
        assert actor.role == role
        for unit in (IN, OUT) if probe.scoped else (None,):
            if probe.expect:
                allowed = probe.expect(actor, unit)
            elif probe.scoped:
                allowed = access.can(actor, probe.action, unit) and access.scope_of(actor, probe.action) != "own"
            else:
                allowed = access.scope_of(actor, probe.action) is not None
            act = probe.prepare(db, unit)
            before = _audit_rows(db, username)
            try:
                result = act(actor)
                outcome = "ok"
                if probe.filtered and unit == OUT and access.scope_of(actor, probe.action) == "units" and result == 0:
                    outcome = "denied"  # filtered to nothing: nothing of another unit leaves the database
            except PermissionDenied:
                outcome = "denied"
            except QinyuanError as exc:
                outcome = f"{type(exc).__name__}({exc.key})"
            audited = _audit_rows(db, username) - before
            where = f"{probe.action} as {username} on unit {unit}"
            if allowed and outcome != "ok":
                wrong.append(f"{where}: allowed by ACTIONS but got {outcome}")
            elif allowed and probe.audited and audited < 1:
                wrong.append(f"{where}: succeeded without an audit row")
            elif not allowed and outcome != "denied":
                wrong.append(f"{where}: forbidden but got {outcome}")
            elif not allowed and audited:
                wrong.append(f"{where}: refused but left {audited} audit rows")
    assert not wrong, "\n".join(wrong)


def test_every_action_is_probed_or_page_level():
    """New actions must get a probe here (or be listed as checked on the page only)."""
    page_level = {"backup.download", "household.import", "household.export", "phone.view"}
    probed = {p.action for p in PROBES}
    assert set(access.ACTIONS) - probed - page_level == set()


def test_phones_are_masked_for_roles_without_phone_view(db, as_user):
    from qinyuan import households

    hid = db.scalar("SELECT min(id) FROM households WHERE unit_id = 1 AND phone IS NOT NULL")
    raw = db.scalar("SELECT phone FROM households WHERE id = ?", [hid])
    for role, username in USERS.items():
        actor = household_at_door(db) if username is None else as_user(username)
        if not access.can(actor, "household.view", 1):
            continue
        shown = households.household(db, actor, hid)["phone"]
        if access.can(actor, "phone.view", 1):
            assert shown == raw, role
        else:
            assert shown == access.mask_phone(raw) and "****" in shown and shown != raw, role


def test_members_never_see_medical_details(db, as_user):
    from qinyuan import households, medical

    member = as_user("member001")
    hid = db.scalar("""SELECT min(h.id) FROM households h JOIN residents r ON r.household_id = h.id
                       WHERE h.unit_id = 1 AND array_length(r.tags, 1) > 0""")
    house = households.household(db, member, hid, with_medical_notes=True)
    for person in house["residents"]:
        assert "medical_notes" not in person and "tags" not in person
        assert isinstance(person["needs_support"], bool)
    assert any(p["needs_support"] for p in house["residents"])
    flags = medical.support_flags(db, member, hid)
    assert any(f["needs_priority_support"] for f in flags) and all(
        set(f) == {"id", "name", "needs_priority_support"} for f in flags
    )
    rid = db.scalar("SELECT min(id) FROM residents WHERE household_id = ? AND array_length(tags, 1) > 0", [hid])
    with pytest.raises(PermissionDenied):
        medical.resident_medical(db, member, rid)


def test_docs_access_md_has_the_matrix():
    """docs/access.md shows every page and action with the roles and scopes of qinyuan.access, and
    no action that does not exist (regenerate: .venv/bin/python -m tests.unit.access_doc)."""
    block = access_doc.current_block()
    missing = [row for row in access_doc.spec_rows() if row not in block]
    assert not missing, "docs/access.md is out of date:\n" + "\n".join(missing)
    documented = set(re.findall(r"^\| `([a-z_.]+)` \|", block, re.M))
    assert documented == set(access.ACTIONS)


def test_roster_phones_are_masked_for_members(db, as_user):
    """A member sees their own and their captain's number; everyone else's is masked."""
    from qinyuan import teams

    raw = dict(db.rows("SELECT id, phone FROM volunteers WHERE team_id = 1 AND phone IS NOT NULL"))
    member = as_user("member001")
    captain_vid = db.scalar("SELECT captain_id FROM teams WHERE id = 1")
    visible = {member.volunteer_id, captain_vid}
    assert len(raw) > 3
    for username in ("member001", "captain01", "committee"):
        frame, total = teams.members(db, as_user(username), team_id=1)
        assert total > 0
        for vid, phone in zip(frame["id"], frame["phone"], strict=True):
            if vid not in raw:
                continue
            if username != "member001" or vid in visible:
                assert phone == raw[vid], (username, vid)
            else:
                assert phone == access.mask_phone(raw[vid]) != raw[vid], (username, vid)
