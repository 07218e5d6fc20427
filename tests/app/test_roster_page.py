"""The roster page per role: a member's own team with masked phones, a captain's contact edits,
the committee's whole roster, filters, export and edits."""

from qinyuan.db import Database
from qinyuan.ui import safe

from .helpers import L, app_as, texts


def test_member_sees_own_team_masked_phones_and_captains_phone(demo_path):
    at = app_as(demo_path, "member001", page="roster")
    assert not at.exception
    db = Database.open(demo_path)
    captain_phone = db.scalar("SELECT v.phone FROM teams t JOIN volunteers v ON v.id = t.captain_id WHERE t.id = 1")
    db.close()
    assert captain_phone in texts(at)
    people = next(m.value for m in at.markdown if "qy-person" in m.value)
    assert people.count("qy-person") == 8
    assert people.count(safe.html("****")) == 6  # everyone but the member and their captain (masked, as entities)
    assert f"tel:{captain_phone}" in people
    assert not at.dataframe
    assert not any(
        b.label in (L("common.save"), L("roster.move"), L("roster.deactivate")) for b in at.main.button
    )  # the sidebar has its own (password)


def test_captain_edits_a_members_phone(demo_path):
    at = app_as(demo_path, "captain01", page="roster")
    assert not at.exception
    db = Database.open(demo_path)
    vid = db.scalar("SELECT volunteer_id FROM users WHERE username = 'member001'")
    db.close()
    at.selectbox(key="roster_pick").set_value(vid).run()
    form_inputs = [w for w in at.text_input if w.label == L("roster.col.phone")]
    form_inputs[0].input("13700001234")
    next(b for b in at.button if b.label == L("common.save")).click().run()
    assert not at.exception
    assert "已保存。" in texts(at)
    db = Database.open(demo_path)
    assert db.scalar("SELECT phone FROM volunteers WHERE id = ?", [vid]) == "13700001234"
    db.close()


def test_captain_bad_phone_is_refused_in_chinese(demo_path):
    at = app_as(demo_path, "captain01", page="roster")
    [w for w in at.text_input if w.label == L("roster.col.phone")][0].input("call me")
    next(b for b in at.button if b.label == L("common.save")).click().run()
    assert any("电话号码格式不对" in e.value for e in at.error)


def test_committee_roster_filters_export_and_add(demo_path):
    # Chinese: AppTest applies a selectbox's format_func outside the session (so in the default language)
    at = app_as(demo_path, "committee", page="roster")
    assert not at.exception
    assert "第 1 / 8 页（共 389 条）" in texts(at)
    at.selectbox(key="roster_skill").set_value("carrier").run()
    assert "（共 33 条）" in texts(at)
    at.toggle(key="roster_export").set_value(True).run()
    assert not at.exception
    assert len(at.get("download_button")) == 2
    at.text_input(key="roster_search").input("王新").run()
    assert "（共 0 条）" in texts(at)
    name = [w for w in at.text_input if w.label == L("roster.col.name")][0]
    name.input("王新")
    next(b for b in at.button if b.label == L("roster.add")).click().run()
    assert not at.exception
    assert "已新增 王新。" in texts(at)
    at.selectbox(key="roster_skill").set_value(None).run()
    assert "（共 1 条）" in texts(at)


def test_roster_in_english(demo_path):
    at = app_as(demo_path, "committee", page="roster", lang="en")
    assert not at.exception
    assert "Page 1 of 8 (389 rows)" in texts(at)
    assert "Phone" in at.dataframe[-1].value.columns


def test_committee_renames_a_team_on_the_page(demo_path):
    at = app_as(demo_path, "committee", page="roster")
    at.selectbox(key="edit_team").set_value(3).run()
    [w for w in at.text_input if w.label == L("roster.col.team")][0].input("沁园红第3队（东）")
    [b for b in at.button if b.label == L("common.save")][0].click().run()
    assert not at.exception
    db = Database.open(demo_path)
    assert db.scalar("SELECT name FROM teams WHERE id = 3") == "沁园红第3队（东）"
    db.close()


def test_many_teams_are_searched_not_listed(demo_path, monkeypatch):
    """Beyond TEAM_LIST_LIMIT teams (a 100x compound has thousands) a picker is a search box and a
    short list of matches; the current choice stays in the list."""
    from qinyuan.ui import teampick

    monkeypatch.setattr(teampick, "TEAM_LIST_LIMIT", 10)
    monkeypatch.setattr(teampick, "TEAM_CHOICES", 5)
    at = app_as(demo_path, "committee", page="roster")
    assert not at.exception
    assert at.selectbox(key="edit_team").options == [f"沁园红第{i}队" for i in range(1, 6)]
    at.text_input(key="edit_team_q").input("第4").run()
    assert at.selectbox(key="edit_team").options == [
        "沁园红第1队",  # the current choice, then the matches
        "沁园红第4队",
        "沁园红第40队",
        "沁园红第41队",
        "沁园红第42队",
        "沁园红第43队",
    ]
    at.selectbox(key="edit_team").set_value(40).run()
    at.text_input(key="edit_team_q").input("第1").run()
    assert at.selectbox(key="edit_team").value == 40 and "沁园红第40队" in at.selectbox(key="edit_team").options
    assert [w.value for w in at.text_input if w.label == L("roster.col.team")][0] == "沁园红第40队"
