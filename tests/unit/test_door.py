"""Household links and what households ask for at their door (qinyuan.door, qinyuan.doorcards)."""

from __future__ import annotations

import contextlib
import hashlib
import json
import shutil
import subprocess
import threading

import pytest

from qinyuan import access, cli, door, doorcards
from qinyuan.access import SYSTEM
from qinyuan.db import Database, Tx
from qinyuan.errors import InvalidInput, PermissionDenied
from tests.support.threads import run_together


def _home(db, unit: int = 1) -> tuple[int, str]:
    hid = db.scalar("SELECT min(id) FROM households WHERE unit_id = ?", [unit])
    return hid, door.reissue(db, SYSTEM, hid)


def test_tokens_are_long_random_and_stored_only_as_hash(db):
    hid, token = _home(db)
    assert len(token) >= 32 and door.TOKEN_BYTES * 8 >= 128
    stored = db.scalar("SELECT token_hash FROM door_links WHERE household_id = ?", [hid])
    assert stored == hashlib.sha256(token.encode()).hexdigest() != token
    for table in db.domain_tables() + ("audit_log",):
        found = db.scalar(f"SELECT count(*) FROM {table} t WHERE CAST(t AS VARCHAR) LIKE ?", [f"%{token}%"])
        assert found == 0, table
    assert db.scalar("SELECT count(*) FROM audit_log WHERE CAST(after AS VARCHAR) LIKE ?", [f"%{stored}%"]) == 0
    assert door.link_for(token) == f"http://localhost:8501/door?k={token}"


def test_public_url_setting(monkeypatch):
    monkeypatch.setenv("QINYUAN_PUBLIC_URL", "https://qy.example.org/")
    assert door.link_for("abc") == "https://qy.example.org/door?k=abc"


def test_links_are_unique_per_household(db):
    assert db.scalar("SELECT count(*) FROM door_links") == db.scalar("SELECT count(*) FROM households")
    assert db.scalar("SELECT count(DISTINCT token_hash) FROM door_links") == db.scalar("SELECT count(*) FROM door_links")


@pytest.mark.parametrize("bad", [None, "", "short", "x" * 30, "a" * 200, "../etc/passwd", "k=1; DROP TABLE units"])
def test_wrong_or_malformed_links_open_nothing(db, bad):
    assert door.open_link(db, bad) is None


def test_reissue_stops_the_old_link_at_once_and_is_audited(db):
    hid, token = _home(db)
    actor = door.open_link(db, token, "c")
    assert actor and actor.household_id == hid and actor.username == f"household:{hid}"
    new = door.reissue(db, db_user(db, "captain01"), hid)
    assert door.open_link(db, token) is None and door.open_link(db, new).household_id == hid
    with pytest.raises(door.LinkGone):  # a page opened before the reissue cannot write either
        door.ask_help(db, actor, hid, "rubbish")
    rows = db.rows(
        "SELECT actor, action FROM audit_log WHERE entity = 'household' AND entity_id = ? AND action LIKE 'door.%'", [str(hid)]
    )
    assert ("captain01", "door.reissue") in rows


def test_only_the_units_captain_or_committee_reissue(db):
    hid = db.scalar("SELECT min(id) FROM households WHERE unit_id = 2")
    with pytest.raises(PermissionDenied):
        door.reissue(db, db_user(db, "captain01"), hid)
    for who in ("member001", "medic01", "logistics01"):
        with pytest.raises(PermissionDenied):
            door.reissue(db, db_user(db, who), hid)
    door.reissue(db, db_user(db, "committee"), hid)


def db_user(db, name):
    from qinyuan import users

    return users.actor_for(db, name)


def test_a_household_reaches_only_its_own_household(db):
    hid, token = _home(db)
    other = db.scalar("SELECT min(id) FROM households WHERE unit_id = 1 AND id <> ?", [hid])
    actor = door.open_link(db, token)
    for call in (
        lambda: door.home(db, actor, other),
        lambda: door.my_requests(db, actor, other),
        lambda: door.ask_help(db, actor, other, "rubbish"),
        lambda: door.request_medicine(db, actor, other, "阿莫西林", "normal", "13800138000"),
    ):
        with pytest.raises(PermissionDenied):
            call()
    resident_elsewhere = db.scalar("SELECT min(id) FROM residents WHERE household_id = ?", [other])
    with pytest.raises(InvalidInput):
        door.report_testing(db, actor, hid, resident_elsewhere, "away")
    # and no staff service lets it in: it has no role scope for any of them
    assert not any(access.can(actor, action, 1) for action in access.ACTIONS if action != "door.use")


def test_rate_limit_per_link(db):
    hid, token = _home(db)
    actor = door.open_link(db, token, "client-a")
    limit = door.limits(db)["door_link_per_hour"]
    for _ in range(limit):
        door.ask_help(db, actor, hid, "rubbish")
    with pytest.raises(door.TooMany):
        door.ask_help(db, actor, hid, "rubbish")
    assert db.scalar("SELECT count(*) FROM door_requests WHERE household_id = ?", [hid]) == limit


def test_rate_limit_is_per_hour(db, monkeypatch):
    hid, token = _home(db)
    actor = door.open_link(db, token, "client-a")
    for _ in range(door.limits(db)["door_link_per_hour"]):
        door.ask_help(db, actor, hid, "rubbish")
    monkeypatch.setenv("QINYUAN_NOW", "2022-01-10T10:00:01+08:00")
    door.ask_help(db, actor, hid, "rubbish")  # an hour later the link may write again
    assert db.scalar("SELECT count(*) FROM door_hits WHERE household_id = ?", [hid]) == 1  # older hits pruned


def test_rate_limit_per_client(db):
    def fn(tx):
        tx.set_setting("door_client_per_hour", "3")
        tx.audit("settings.update", "setting", "door_client_per_hour", None, "3")

    db.write(SYSTEM, fn)
    homes = [_home(db, unit) for unit in (1, 2, 3, 4)]
    for hid, token in homes[:3]:
        door.ask_help(db, door.open_link(db, token, "same-client"), hid, "pet")
    hid, token = homes[3]
    with pytest.raises(door.TooMany):
        door.ask_help(db, door.open_link(db, token, "same-client"), hid, "pet")
    door.ask_help(db, door.open_link(db, token, "another-client"), hid, "pet")


@pytest.mark.postgres_only  # two app processes can share a PostgreSQL database; a DuckDB file has one
def test_rate_limit_holds_across_two_replicas(db, demo_path, monkeypatch):
    """Two app processes (two Database objects on one PostgreSQL database) take one link's requests at once:
    each write of one meets a write of the other after counting the hour's hits and before adding its own
    (a barrier), and still no more than the limit get through."""
    db.write(SYSTEM, lambda tx: (tx.set_setting("door_link_per_hour", "3"), tx.audit("settings.update", "setting", "x")))
    hid, token = _home(db)
    other = Database.open(demo_path)
    meet = threading.Barrier(2, timeout=3)  # broken for good once one replica has to wait for the other
    real_insert = Tx.insert

    def insert_after_meeting(tx, table, values, returning="id"):
        if table == "door_hits":
            with contextlib.suppress(threading.BrokenBarrierError):
                meet.wait()
        return real_insert(tx, table, values, returning)

    monkeypatch.setattr(Tx, "insert", insert_after_meeting)
    done, refused = [], []

    def ask(replica):
        for _ in range(3):
            try:
                done.append(door.ask_help(replica, door.open_link(replica, token, "client-a"), hid, "rubbish"))
            except door.TooMany:
                refused.append(1)

    try:
        run_together([lambda: ask(db), lambda: ask(other)])
    finally:
        other.close()
    assert (len(done), len(refused)) == (3, 3)
    assert db.scalar("SELECT count(*) FROM door_requests WHERE household_id = ?", [hid]) == 3


def test_lengths_are_capped(db):
    hid, token = _home(db)
    actor = door.open_link(db, token)
    with pytest.raises(InvalidInput):
        door.ask_help(db, actor, hid, "question", "字" * (door.MAX_TEXT + 1))
    with pytest.raises(InvalidInput):
        door.request_medicine(db, actor, hid, "药\n" * 40, "normal", "13800138000")
    with pytest.raises(InvalidInput):
        door.request_medicine(db, actor, hid, "阿莫西林", "normal", "call me <b>")


def test_every_household_write_is_audited_as_the_household(db):
    hid, token = _home(db, 7)
    actor = door.open_link(db, token)
    rid = door.home(db, actor, hid)["residents"][0]["id"]
    door.ask_help(db, actor, hid, "carry", "两袋米")
    door.report_testing(db, actor, hid, rid, "home_sampling")
    door.request_medicine(db, actor, hid, "胰岛素", "critical", "13800138000", rid)
    door.report_urgent(db, actor, hid, "胸闷", "13800138000")
    offer = door.offer(db, actor, hid)[0]
    door.order_groceries(db, actor, hid, offer["supplier_id"], {offer["items"][0]["id"]: 1})
    door.propose_update(db, actor, hid, occupants=2)
    actions = {r[0] for r in db.rows("SELECT action FROM audit_log WHERE actor = ?", [f"household:{hid}"])}
    assert {"door.help", "door.home_sampling", "medicine.create", "emergency.report", "grocery.create", "door.update"} <= actions
    assert db.scalar("SELECT channel FROM medicine_orders WHERE placed_by = ?", [f"household:{hid}"]) == "online"
    kinds = {r["kind"] for r in door.my_requests(db, actor, hid)}
    assert kinds == {"help", "home_sampling", "medicine", "urgent", "grocery", "update"}


def test_cancel_only_while_not_in_progress(db):
    hid, token = _home(db)
    actor = door.open_link(db, token)
    captain = db_user(db, "captain01")
    oid = door.request_medicine(db, actor, hid, "阿莫西林", "normal", "13800138000")
    door.cancel(db, actor, hid, "medicine", oid)
    assert db.scalar("SELECT status FROM medicine_orders WHERE id = ?", [oid]) == "cancelled"
    rid = door.ask_help(db, actor, hid, "rubbish")
    door.advance(db, captain, rid, "in_progress", db.scalar("SELECT version FROM door_requests WHERE id = ?", [rid]))
    with pytest.raises(InvalidInput):
        door.cancel(db, actor, hid, "door", rid)


def test_proposal_changes_the_ledger_only_when_the_captain_confirms(db):
    hid, token = _home(db)
    actor = door.open_link(db, token)
    before = db.one("SELECT occupants, notes, version FROM households WHERE id = ?", [hid])
    visits = db.scalar("SELECT count(*) FROM census_visits WHERE household_id = ?", [hid])
    pid = door.propose_update(db, actor, hid, occupants=before[0] + 1, living="新来的外婆")
    assert db.one("SELECT occupants, notes, version FROM households WHERE id = ?", [hid]) == before
    captain = db_user(db, "captain01")
    queued = [r for r in door.queue(db, captain) if r["id"] == pid]
    assert queued and json.loads(queued[0]["proposal"])["living"] == "新来的外婆"
    door.decide(db, captain, pid, True, queued[0]["version"])
    occupants, notes, _v = db.one("SELECT occupants, notes, version FROM households WHERE id = ?", [hid])
    assert occupants == before[0] + 1 and "新来的外婆" in notes
    assert db.scalar("SELECT count(*) FROM census_visits WHERE household_id = ?", [hid]) == visits + 1
    with pytest.raises(PermissionDenied):  # another unit's captain sees none of it
        door.decide(db, db_user(db, "captain02"), pid, False, queued[0]["version"] + 1)


def test_confirmed_proposal_marks_who_is_away(db):
    rnd = db.scalar("SELECT max(id) FROM test_rounds WHERE status = 'active'")
    hid, rid, name = db.one(
        """SELECT r.household_id, r.id, r.name FROM residents r JOIN households h ON h.id = r.household_id
                               JOIN test_results tr ON tr.resident_id = r.id AND tr.round_id = ?
                               WHERE h.unit_id = 1 AND tr.status = 'pending' ORDER BY r.id LIMIT 1""",
        [rnd],
    )
    actor = door.open_link(db, door.reissue(db, SYSTEM, hid))
    pid = door.propose_update(db, actor, hid, away=[rid])
    captain = db_user(db, "captain01")
    row = next(r for r in door.queue(db, captain) if r["id"] == pid)
    assert row["away_names"] == [name]
    door.decide(db, captain, pid, True, row["version"])
    assert db.scalar("SELECT status FROM test_results WHERE round_id = ? AND resident_id = ?", [rnd, rid]) == "away"


def test_away_done_by_the_captain_marks_the_round(db):
    rnd = db.scalar("SELECT max(id) FROM test_rounds WHERE status = 'active'")
    hid, rid = db.one(
        """SELECT r.household_id, r.id FROM residents r JOIN households h ON h.id = r.household_id
                         JOIN test_results tr ON tr.resident_id = r.id AND tr.round_id = ?
                         WHERE h.unit_id = 1 AND tr.status = 'pending' ORDER BY r.id LIMIT 1""",
        [rnd],
    )
    actor = door.open_link(db, door.reissue(db, SYSTEM, hid))
    req = door.report_testing(db, actor, hid, rid, "away")
    captain = db_user(db, "captain01")
    door.advance(db, captain, req, "done", db.scalar("SELECT version FROM door_requests WHERE id = ?", [req]))
    assert db.scalar("SELECT status FROM test_results WHERE round_id = ? AND resident_id = ?", [rnd, rid]) == "away"


def test_first_names_only():
    assert door.first_name("王建国") == "建国"
    assert door.first_name("欧阳娜娜") == "娜娜"
    assert door.first_name("Anna Smith") == "Anna"
    assert door.first_name("王") == "*"


def test_counts_by_kind_and_state(db):
    hid, token = _home(db)
    actor = door.open_link(db, token)
    door.ask_help(db, actor, hid, "pet")
    door.request_medicine(db, actor, hid, "阿莫西林", "urgent", "13800138000")
    counts = {(r["kind"], r["status"]): r["n"] for r in door.counts(db, db_user(db, "committee"))}
    assert counts[("help", "new")] == 1 and counts[("medicine", "requested")] == 1
    assert door.counts(db, db_user(db, "captain02")) == []


# -- cards -----------------------------------------------------------------------------------------------
def test_qr_decodes_to_the_link():
    zxingcpp = pytest.importorskip("zxingcpp")
    link = door.link_for(door.new_token())
    found = zxingcpp.read_barcodes(doorcards._qr_image(link))
    assert [r.text for r in found] == [link]


def test_cards_pdf_issues_new_links_and_its_qr_codes_scan(db, tmp_path):
    old = db.rows(
        "SELECT household_id, token_hash FROM door_links WHERE household_id IN (SELECT id FROM households WHERE unit_id = 3)"
    )
    pdf, issued = doorcards.unit_cards(db, db_user(db, "captain03"), 3)
    assert pdf.startswith(b"%PDF") and len(issued) == len(old)
    assert not set(old) & set(db.rows("SELECT household_id, token_hash FROM door_links"))
    if shutil.which("pdftoppm") is None:
        pytest.skip("pdftoppm not installed")
    zxingcpp = pytest.importorskip("zxingcpp")
    from PIL import Image

    (tmp_path / "c.pdf").write_bytes(pdf)
    subprocess.run(
        ["pdftoppm", "-png", "-r", "150", "-f", "1", "-l", "1", str(tmp_path / "c.pdf"), str(tmp_path / "p")],
        check=True,
        capture_output=True,
    )
    page = Image.open(next(tmp_path.glob("p*.png")))
    texts = sorted(r.text for r in zxingcpp.read_barcodes(page))
    assert texts == sorted(i["link"] for i in issued[:2])
    with pytest.raises(PermissionDenied):
        doorcards.unit_cards(db, db_user(db, "captain03"), 4)


def test_cli_door_links_and_cards(demo_path, tmp_path, capsys):
    assert cli.main(["door-links", "--db", demo_path, "--unit", "2"]) == 0
    out = capsys.readouterr()
    lines = out.out.strip().splitlines()
    assert lines and all(line.split("\t")[2].startswith("http://localhost:8501/door?k=") for line in lines)
    assert "旧链接已失效" in out.err
    target = tmp_path / "u2.pdf"
    assert cli.main(["door-cards", "--db", demo_path, "--unit", "2", "--out", str(target)]) == 0
    assert target.read_bytes().startswith(b"%PDF")
    room = lines[0].split("\t")[1]
    assert cli.main(["door-reissue", "--db", demo_path, "--unit", "2", "--room", room]) == 0
    assert cli.main(["door-links", "--db", demo_path, "--unit", "999"]) == 1


def test_briefing_mentions_household_requests(db):
    from qinyuan import briefing

    hid, token = _home(db)
    actor = door.open_link(db, token)
    door.ask_help(db, actor, hid, "pet")
    door.request_medicine(db, actor, hid, "阿莫西林", "urgent", "13800138000")
    text = briefing.text(db, lang="zh")
    assert "住户自助（门卡链接）：共 2 件申请" in text and "未办结 2 件" in text
    assert "Households at their doors: 2 requests" in briefing.text(db, lang="en")


def test_captain_calls_back_then_the_clinic_sources(db):
    from qinyuan import medicine

    hid, token = _home(db)
    actor = door.open_link(db, token)
    oid = door.request_medicine(db, actor, hid, "胰岛素 诺和锐 3支", "urgent", "13800138000")
    captain = db_user(db, "captain01")
    assert [o["id"] for o in door.medicine_waiting(db, captain)] == [oid]
    assert door.medicine_waiting(db, db_user(db, "captain02")) == []
    version = db.scalar("SELECT version FROM medicine_orders WHERE id = ?", [oid])
    door.confirm_medicine(db, captain, oid, version)
    assert door.medicine_waiting(db, captain) == []
    mine = next(r for r in door.my_requests(db, actor, hid) if r["kind"] == "medicine")
    assert mine["status"] == "confirmed" and not mine["cancellable"]
    with pytest.raises(InvalidInput):
        door.cancel(db, actor, hid, "medicine", oid)
    medicine.advance(db, db_user(db, "medic01"), oid, "sourcing", version + 1)
    mine = next(r for r in door.my_requests(db, actor, hid) if r["kind"] == "medicine")
    assert mine["status"] == "sourcing" and [s for s, _ in mine["steps"]] == ["requested", "confirmed", "sourcing"]


def test_clinic_phone_is_set_by_the_committee_only(db):
    door.set_clinic_phone(db, db_user(db, "committee"), "029-12345678")
    assert db.setting("clinic_phone") == "029-12345678"
    with pytest.raises(PermissionDenied):
        door.set_clinic_phone(db, db_user(db, "captain01"), "029-87654321")
    with pytest.raises(InvalidInput):
        door.set_clinic_phone(db, db_user(db, "committee"), "call the clinic")
