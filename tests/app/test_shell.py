"""The app shell: logged out shows only the login; each role sees exactly its pages."""

import pytest

from qinyuan import access

from .helpers import L, app_as, texts


def test_logged_out_shows_login_and_no_data(demo_path):
    at = app_as(demo_path, None)
    assert not at.exception
    assert "登录" in texts(at)
    assert not at.metric


def test_login_page_in_english(demo_path):
    at = app_as(demo_path, None, lang="en")
    labels = [w.label for w in at.text_input]
    assert "Username" in labels and "Password" in labels


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_overview_renders_in_both_languages(demo_path, lang):
    at = app_as(demo_path, "committee", lang=lang)
    assert not at.exception
    metrics = {m.label: m.value for m in at.metric}
    assert metrics[L("kpi.teams", lang)] == "51"


@pytest.mark.parametrize(
    "username,role",
    [
        ("committee", "committee"),
        ("captain01", "captain"),
        ("member001", "member"),
        ("medic01", "medic"),
        ("logistics01", "logistics"),
    ],
)
def test_each_role_sees_exactly_its_pages(demo_path, username, role):
    at = app_as(demo_path, username)
    for page, roles in access.PAGES.items():
        if page == "overview":
            continue
        if role in roles:
            at.switch_page(f"pages/{page}.py").run()
            assert not at.exception, (username, page, at.exception)
            assert "您没有权限执行此操作。" not in texts(at)
        else:
            fresh = app_as(demo_path, username)
            with pytest.raises(ValueError, match="Could not find a navigation page"):
                fresh.switch_page(f"pages/{page}.py")


def test_every_rerun_runs_the_whole_app_like_the_server(demo_path):
    """AppTest would rerun pages/<page>.py alone (a pages/ folder sits beside app.py); the helpers make
    it run app.py each time, so the sidebar and the login check are part of every page test."""
    at = app_as(demo_path, "captain01", page="medicine")
    for _ in range(2):
        at.run()
        assert not at.exception
        assert "送药上门" in [t.value for t in at.title]
        assert "退出登录" in [b.label for b in at.sidebar.button]  # drawn by app.py, not by the page
