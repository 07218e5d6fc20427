"""The overview page per role (AppTest): committee, captain, member, medic; the briefing button."""

from .helpers import L, app_as, texts


def _metrics(at) -> dict:
    return {m.label: m.value for m in at.metric}


def _deltas(at) -> dict:
    return {m.label: m.proto.delta for m in at.metric}


def test_committee_sees_attention_first_then_figures_with_deltas(demo_path):
    at = app_as(demo_path, "committee")
    assert not at.exception
    metrics = _metrics(at)
    assert metrics["服务队"] == "51" and metrics["队员"] == "338" and metrics["送药上门户数"] == "108"
    assert metrics["值守人次"] == "122" and metrics["住户"] == "1,512"
    deltas = _deltas(at)
    assert deltas["处理中急诊"] == "+2" and deltas["急诊总数"] == "+2"
    assert deltas["送药上门户数"] == ""  # nothing delivered yet today
    subheaders = [s.value for s in at.subheader]
    assert subheaders.index(next(s for s in subheaders if "需要立即处理" in s)) < subheaders.index(
        next(s for s in subheaders if "关键指标" in s)
    )
    labels = [e.label for e in at.expander]
    assert "急诊超过 60 分钟未更新：3 例" in labels
    assert "当前岗位缺人：2 个" in labels
    assert at.button_group(key="ov_chart").options and len(at.button_group(key="ov_chart").options) == 5
    charts = len(at.get("vega_lite_chart"))
    for group in ("medicine", "duty", "cases", "vegetables"):  # every chart group draws without an error
        at.button_group(key="ov_chart").set_value(group).run()
        assert not at.exception, group
    assert at.selectbox(key="ov_batch").value == 2  # the latest donation batch
    assert charts == 2 and len(at.get("vega_lite_chart")) == 2  # the coverage chart became the donation chart; heatmap stays


def test_committee_makes_the_briefing_in_one_click(demo_path):
    at = app_as(demo_path, "committee")
    at.button(key="ov_brief_make_zh").click().run()
    assert not at.exception
    text = at.text_area[0].value
    assert "51 支服务队、338 名队员、值守 122 人次、为 108 户送药上门" in text
    assert "【待解决问题】" in text
    assert at.get("download_button")[0].proto.label == L("overview.briefing_pdf")


def test_the_briefing_pdf_is_built_when_tapped_not_in_the_rerun(demo_path):
    """The text comes at once; the PDF (charts: many seconds) is made by the download button's callable."""
    from qinyuan.ui.common import get_db
    from qinyuan.ui.overview import _briefing_pdf

    at = app_as(demo_path, "committee")
    at.button(key="ov_brief_make_zh").click().run()
    brief = at.session_state["ov_brief"]
    assert "pdf" not in brief  # nothing built during the rerun
    made = _briefing_pdf(get_db(), brief)
    assert made.startswith(b"%PDF-") and _briefing_pdf(get_db(), brief) is made  # built once


def test_committee_picks_a_unit_and_sees_its_figures(demo_path):
    at = app_as(demo_path, "committee")
    at.selectbox(key="ov_unit").set_value(5).run()
    assert not at.exception
    assert "2号楼2单元 · 队长" in texts(at)
    # the unit's cards: 2-2 has the open fall case
    assert any(m.label == L("kpi.emergency_cases_open") and m.value == "1" for m in at.metric)


def test_captain_sees_only_their_unit_led_by_todo(demo_path):
    at = app_as(demo_path, "captain01")
    assert not at.exception
    subheaders = [s.value for s in at.subheader]
    assert "今日待办" in subheaders[0]
    metrics = _metrics(at)
    assert metrics["住户"] == "18" and metrics["服务队"] == "1" and metrics["队员"] == "7"
    assert metrics["未完成药品订单"] == "2"  # unit 1's two open orders, not the compound's 14
    assert "今日岗位排满率" not in metrics  # a compound-wide figure
    shown = texts(at)
    assert "爱心蔬菜未送达：4 户" in shown and "药品待送上门（已消毒）：1 单" in shown
    assert not [b for b in at.button if (b.key or "").startswith("ov_brief")]
    assert not [s for s in at.selectbox if s.key == "ov_unit"]  # one unit: its cards are the detail
    assert len(at.button_group(key="ov_chart").options) == 4  # no compound-wide duty chart


def test_member_sees_team_and_next_shift(demo_path):
    at = app_as(demo_path, "member001", page="overview")  # members land on their duty page first
    assert not at.exception
    shown = texts(at)
    assert "正在值守：北门值守，08:00–13:00（01-10），本班 2/2 人" in shown
    assert "需要立即处理" not in shown
    metrics = _metrics(at)
    assert metrics["本队成员"] == "7" and metrics["蔬菜待送（户）"] == "4" and metrics["住户"] == "18"
    assert "送药上门户数" not in metrics


def test_medic_sees_compound_without_briefing(demo_path):
    at = app_as(demo_path, "medic01", lang="en")
    assert not at.exception
    assert _metrics(at)["Teams"] == "51"
    assert "Needs attention now" in texts(at)
    assert not [b for b in at.button if (b.key or "").startswith("ov_brief")]
