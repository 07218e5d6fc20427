"""Issue 16 on the captain's pages: one tap per resident per status, vegetable ticks that keep their
place, to-do and attention lines that open their action already picked, live case pages."""

from qinyuan.ui.common import get_db

from .helpers import L, app_as, texts


def _button(at, key):
    return next(b for b in at.button if b.key == key)


def _mark_view(at):
    at.radio(key="ts_view").set_value("mark").run()
    assert not at.exception, at.exception


def _resident_keys(at, status):
    return [b.key for b in at.button if b.key and b.key.startswith("ts_tap_") and b.key.endswith("_" + status)]


def test_home_sampling_for_a_resident_of_the_next_room_after_a_whole_household_in_one_tap(demo_path):
    at = app_as(demo_path, "captain01", page="testing")
    _mark_view(at)
    rooms = at.selectbox(key="ts_house_1")
    first = rooms.value
    at.button(key=f"ts_all_{first}").click().run()
    assert not at.exception
    assert any("全户" in s.value and "已检测" in s.value for s in at.success)
    assert at.selectbox(key="ts_house_1").value == first  # the done room stays on screen, no jump
    rooms = dict(get_db().rows("SELECT id, room FROM households WHERE unit_id = 1"))
    following = next(h for h in at.selectbox(key="ts_house_1").options if not h.startswith(rooms[first] + " "))
    room = following.split(" · ")[0]
    at.selectbox(key="ts_house_1").set_value(next(i for i, r in rooms.items() if r == room)).run()  # the next room
    key = next(
        b.key
        for b in at.button
        if b.key and b.key.startswith("ts_tap_") and b.key.endswith("_home_sampling_needed") and not b.disabled
    )
    at.button(key=key).click().run()  # one tap, no panel, no Save
    assert not at.exception
    done = [s.value for s in at.success if s.value.startswith(f"{room} 室 ") and s.value.endswith("：需入户采样")]
    assert len(done) == 1
    name = done[0][len(f"{room} 室 ") : -len("：需入户采样")]
    assert f"**{name}** · 需入户采样" in texts(at)
    assert _button(at, key).disabled  # now its status: shown, not tappable again


def _rooms(at):
    return [(b.key, b.label, b.disabled) for b in at.button if b.key and b.key.startswith("qy_tick_2_")]


def test_a_ticked_room_keeps_its_place_greyed_and_the_undo_names_it(demo_path):
    at = app_as(demo_path, "member001", page="supplies")
    before = _rooms(at)
    key, room, _ = next(r for r in before if not r[2])
    at.button(key=key).click().run()
    assert not at.exception
    after = _rooms(at)
    assert [r[0] for r in after] == [r[0] for r in before]  # nothing moved: a second tap lands where it aimed
    assert {k: (label, disabled) for k, label, disabled in after}[key] == (f"✓ {room}", True)
    undo = next(b for b in at.button if b.label == L("donation.untick", room=room))
    undo.click().run()
    assert not at.exception
    assert f"{room} 的登记已撤销。" in [s.value for s in at.success]
    assert _rooms(at) == before


def _links(at):
    return [(e.proto.page, e.proto.label, e.proto.query_string) for e in at.get("page_link")]


def _follow(at, page: str) -> int:
    """Open the first to-do / attention line for `page` as the browser does: its page with its query params
    (a page change clears the others). Returns the id the link carries."""
    name, value = next(q for p, _, q in _links(at) if p == page).split("=")
    at.query_params.clear()
    at.query_params[name] = value
    at.switch_page(f"pages/{page}.py")
    at.run()
    assert not at.exception, at.exception
    return int(value)


def test_every_todo_line_is_a_link_to_its_action_already_picked(demo_path):
    at = app_as(demo_path, "captain01")
    assert not at.exception, at.exception
    lines = _links(at)
    rooms = [q for page, _, q in lines if page == "testing"]
    assert rooms and all(q.startswith("room=") for q in rooms)
    assert [q for page, _, q in lines if page == "supplies"] == ["unit=1"]
    orders = [(label, q) for page, label, q in lines if page == "medicine"]
    assert len(orders) == 1 and orders[0][1].startswith("order=")  # only the disinfected order is the captain's
    assert "药品待送上门（已消毒）：1 单" in texts(at)
    assert "另有 1 单在采购或门岗消毒中" in texts(at)


def test_a_room_link_opens_the_marking_view_on_that_room(demo_path):
    at = app_as(demo_path, "captain01")
    household = _follow(at, "testing")
    assert at.radio(key="ts_view").value == "mark"
    assert at.selectbox(key="ts_house_1").value == household
    # one tap on a resident's status
    key = next(b.key for b in at.button if b.key and b.key.startswith("ts_tap_") and b.key.endswith("_tested") and not b.disabled)
    at.button(key=key).click().run()
    assert any(s.value.endswith("：已检测") for s in at.success)


def test_an_order_link_opens_that_order_with_its_step(demo_path):
    at = app_as(demo_path, "captain01")
    order = _follow(at, "medicine")
    assert f"待办打开的订单 #{order}" in texts(at)
    at.button(key=f"med_go_{order}").click().run()
    assert not at.exception
    assert any(f"#{order}" in s.value for s in at.success)


def test_a_case_stays_open_in_the_url_and_a_reload_returns_to_it(demo_path):
    at = app_as(demo_path, "captain05")
    case = _follow(at, "emergencies")
    assert any(f"病例 #{case}" in h.value for h in at.subheader)
    reload = app_as(demo_path, "captain05")  # a new session on the same URL
    reload.query_params["case"] = str(case)
    reload.switch_page("pages/emergencies.py")
    reload.run()
    assert any(f"病例 #{case}" in h.value for h in reload.subheader)
    reload.button(key="em_back").click().run()
    assert "case" not in reload.query_params
    assert not any(f"病例 #{case}" in h.value for h in reload.subheader)


def _in_order(node, out=None):
    """Every element of the page in the order drawn."""
    out = [] if out is None else out
    children = getattr(node, "children", None)
    if children:
        for child in children.values():
            _in_order(child, out)
    else:
        out.append(node)
    return out


def test_a_refusal_on_a_stale_case_page_shows_under_the_buttons(demo_path):
    from qinyuan import emergencies as em
    from qinyuan import users

    at = app_as(demo_path, "captain05")
    at.query_params["case"] = "2"
    at.switch_page("pages/emergencies.py")
    at.run()
    db = get_db()
    em.add_event(db, users.actor_for(db, "medic01"), 2, em.NOTE, "已电话随访")  # the page is now stale
    step = next(b for b in at.button if b.label.startswith(L("emergency.detail.record", kind="")))
    step.click().run()
    assert not at.exception, at.exception
    drawn = _in_order(at.main)
    errors = {id(e) for e in at.error}
    refusal = next(i for i, e in enumerate(drawn) if id(e) in errors)
    buttons = [i for i, e in enumerate(drawn) if getattr(e, "label", "").startswith(L("emergency.detail.record", kind=""))]
    assert buttons and refusal > max(buttons)  # next to the button pressed, not at the top of the page
    assert len(at.error) == 1


def test_a_refused_medicine_step_shows_on_its_card(demo_path):
    from qinyuan import medicine, users

    at = app_as(demo_path, "committee", page="medicine")
    db = get_db()
    medic = users.actor_for(db, "medic01")
    order = next(r["id"] for r in medicine.work_queue(db, medic)[0] if r["status"] == "requested")
    assert at.button(key=f"med_go_{order}")
    medicine.advance(db, medic, order, "sourcing", medicine.get_order(db, medic, order)["version"])  # the page is stale
    at.button(key=f"med_go_{order}").click().run()
    assert not at.exception, at.exception
    refused = [e for e in at.error if e.icon == ":material/error:"]  # (the overdue panel is an alarm)
    assert len(refused) == 1
    drawn = _in_order(at.main)
    refusal = next(i for i, e in enumerate(drawn) if id(e) == id(refused[0]))
    card = next(i for i, e in enumerate(drawn) if getattr(e, "key", None) == f"med_go_{order}")
    assert refusal > card  # on its card, under the button pressed, not at the top of the page


def test_the_committee_and_the_clinic_get_a_link_to_the_new_critical_case(demo_path):
    from qinyuan import emergencies as em
    from qinyuan import users

    app_as(demo_path, None)  # points the app (and get_db) at this test's database
    db = get_db()
    house = db.scalar("SELECT min(id) FROM households WHERE unit_id = 3")
    case = em.report_case(db, users.actor_for(db, "captain03"), house, None, "胸痛", "critical", None)
    for who in ("committee", "medic01"):
        at = app_as(demo_path, who)
        assert not at.exception, at.exception
        assert ("emergencies", f"case={case}") in [(p, q) for p, _, q in _links(at)], who
        assert "新的危急病例：1 例" in texts(at)
    assert not any(q == f"case={case}" for _, _, q in _links(app_as(demo_path, "logistics01")))


def test_exempt_asks_for_its_reason_in_the_residents_row(demo_path):
    at = app_as(demo_path, "captain01", page="testing")
    _mark_view(at)
    key = next(b.key for b in at.button if (b.key or "").endswith("_exempt") and not b.disabled)
    rid = key.split("_")[2]
    at.button(key=key).click().run()
    assert not at.exception
    assert len(at.error) == 1 and not any("免检" in s.value for s in at.success)  # refused: a reason is required
    at.text_input(key=f"ts_reason_{rid}").input("卧床，校医院已知").run()
    at.button(key=key).click().run()
    assert any(s.value.endswith("：免检") for s in at.success)
    assert "（卧床，校医院已知）" in texts(at)
