"""The daily briefing against the demo day (2022-01-10 09:00), hand-computed from the demo world:
51 teams / 338 members / 122 duty person-times / 108 households served (the record), 1,512
households, two vegetable batches (all 1,512, then 1,500 with 12 waiting), 4 emergency cases of
which 3 open (reported today at 02:00 and 04:00, and yesterday 22:00), posts 4 and 8 one short."""

import re
from datetime import date

import pytest

from qinyuan import briefing, cli
from qinyuan.errors import PermissionDenied, QinyuanError


def test_zh_text_says_the_record_in_sentences(db):
    text = briefing.text(db, lang="zh")
    assert text.splitlines()[0] == "沁园小区“沁园红”服务队工作日报（2022年1月10日）"
    assert "数据截至 1月10日 09:00" in text
    assert "51 支服务队、338 名队员、值守 122 人次、为 108 户送药上门" in text
    assert "已组织全员核酸检测 3 轮，发放爱心蔬菜 3,012 份" in text
    assert "包保 1,512 户" in text
    assert "最新一批覆盖 99.2%，12 户待送" in text  # 1,500 / 1,512
    assert "急诊累计 4 例，处理中 3 例" in text
    assert "搬运小分队 33 人" in text and "医用外科口罩 300,000 只" in text and "N95口罩 61,200 个" in text
    changes = text.split("【较昨日变化】")[1].split("【待解决问题】")[0]
    assert "处理中急诊 +2" in changes and "急诊总数 +2" in changes
    assert "送药上门户数" not in changes  # nothing delivered yet today
    problems = text.split("【待解决问题】")[1]
    assert "紧急药品超时（加急超过 4 小时、危急超过 2 小时）：4 单" in problems
    assert "急诊超过 60 分钟未更新：3 例 —— 7号楼2单元、2号楼2单元、11号楼3单元" in problems
    assert "当前岗位缺人：2 个 —— 东区巡逻劝返、物资搬运小分队" in problems
    assert re.search(r"^1\. ", problems, re.M) and re.search(r"^4\. ", problems, re.M)


def test_en_text(db):
    text = briefing.text(db, lang="en")
    assert "51 teams, 338 members, 122 duty person-times, medicine delivered to 108 households" in text
    assert "Open emergencies +2" in text
    assert "Posts under-staffed now: 2 — East patrol, Carrying squad" in text
    assert not re.search(r"[\u4e00-\u9fff]", text.split("[Open problems]")[0])  # no Chinese in the English sentences


def test_a_past_day_reads_as_it_stood(db):
    text = briefing.text(db, date(2022, 1, 9), "en")
    assert "as of 2022-01-09 24:00" in text
    assert "Testing: round 3 completed" in text
    assert "Vegetable portions given +1,500" in text  # the second batch went out on the 9th
    assert "2 emergency cases in all, 1 open" in text
    first = briefing.text(db, date(2022, 1, 3), "zh")
    assert "发放爱心蔬菜 1,512 份" in first


def test_only_the_committee_makes_it(db, as_user):
    with pytest.raises(PermissionDenied):
        briefing.gather(db, actor=as_user("captain01"))


def _pages(content: bytes) -> int:
    try:
        from pypdf import PdfReader
    except ImportError:
        return len(re.findall(rb"/Type\s*/Page(?!s)", content))
    import io

    return len(PdfReader(io.BytesIO(content)).pages)


def test_pdf_opens_has_pages_and_embeds_a_cjk_font(db):
    content = briefing.pdf(db, lang="zh")
    assert content.startswith(b"%PDF-") and content.rstrip().endswith(b"%%EOF")
    assert _pages(content) >= 2  # text, then charts
    assert b"/FontFile" in content and b"NotoSansCJK" in content.replace(b"-", b"")
    assert content.count(b"/Subtype /Image") >= 4


def test_missing_font_is_a_clear_error(db, monkeypatch, tmp_path):
    monkeypatch.setattr(briefing, "NOTO_TTC", str(tmp_path / "missing.ttc"))
    monkeypatch.setattr(briefing, "_fc_list_cjk", lambda: None)
    monkeypatch.delenv("QINYUAN_CJK_FONT", raising=False)
    with pytest.raises(QinyuanError) as err:
        briefing.pdf(db, lang="zh", charts=False)
    assert err.value.key == "briefing.no_font"


def test_cli_prints_text_and_writes_pdf(demo_path, tmp_path, capsys):
    out = tmp_path / "b.pdf"
    assert cli.main(["briefing", "--db", demo_path, "--lang", "zh", "--out", str(out)]) == 0
    printed = capsys.readouterr()
    assert "51 支服务队、338 名队员、值守 122 人次、为 108 户送药上门" in printed.out
    assert out.read_bytes().startswith(b"%PDF-") and _pages(out.read_bytes()) >= 2
    assert cli.main(["briefing", "--db", demo_path, "--date", "2022-01-09", "--lang", "en"]) == 0
    assert "2022-01-09" in capsys.readouterr().out


def test_an_empty_compound_still_gets_a_briefing(empty_db):
    text = briefing.text(empty_db, lang="zh")
    assert "0 支服务队、0 名队员、值守 0 人次、为 0 户送药上门" in text and "暂无。" in text
    content = briefing.pdf(empty_db, lang="en")
    assert content.startswith(b"%PDF-") and _pages(content) >= 1
