"""The import view of /households as the committee: every corpus ledger uploaded, checked and imported on the
page to the households and residents its JSON expects; mapping changes; refusals in the user's language."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from qinyuan.db import Database
from tests.unit.test_ledger_corpus import FILES, counts

from .helpers import app_as, texts

CORPUS = Path(__file__).resolve().parents[1] / "data" / "ledgers"


def import_view(demo_path: str, lang: str = "zh"):
    at = app_as(demo_path, "committee", page="households", lang=lang)
    at.radio(key="hh_view").set_value("import").run()
    assert not at.exception, at.exception
    return at


def upload(at, name: str, data: bytes):
    at.file_uploader[0].set_value((name, data, "application/octet-stream")).run()
    assert not at.exception, at.exception
    return at


def go(at):
    button = next((b for b in at.button if b.key == "lg_go"), None)
    if button is not None:
        button.click().run()
        assert not at.exception, at.exception
    return button is not None


@pytest.mark.parametrize("path", FILES, ids=[p.name for p in FILES])
def test_corpus_ledger_imports_on_the_page(demo_path, path):
    want = json.loads(Path(f"{path}.json").read_text(encoding="utf-8"))
    before = counts(demo_path)
    at = upload(import_view(demo_path), path.name, path.read_bytes())
    if want["file_problem"]:
        assert not go(at)
        assert "⚠" in "".join(e.icon or "" for e in at.error)
    else:
        assert go(at)
        assert "已新增" in texts(at)
    after = counts(demo_path)
    assert (after[0] - before[0], after[1] - before[1]) == (want["households"], want["residents"])


def test_mapping_override_and_zh_refusals(demo_path):
    at = import_view(demo_path)
    upload(at, "notes.pdf", b"%PDF-1.4")
    assert "不支持该文件类型" in texts(at)
    upload(at, "old.xls", (CORPUS / "20_old_excel_97.xls").read_bytes())
    assert "另存为" in texts(at)
    data = "楼号,单元,房号,户主,户主电话,身份证号\n1,1,1101,王建国,13800138001,610103\n".encode()
    upload(at, "a.csv", data)
    phone = next(s for s in at.selectbox if s.label == "户主电话")
    assert phone.value == "phone"
    ident = next(s for s in at.selectbox if s.label == "身份证号")
    assert ident.value == "ignore"
    phone.set_value("ignore").run()
    assert not at.exception
    assert go(at)
    db = Database.open(demo_path)
    try:
        assert db.scalar("SELECT phone FROM households WHERE unit_id = 1 AND room = '1101'") is None
    finally:
        db.close()


def test_update_mode_shows_changes_and_applies_them(demo_path):
    at = import_view(demo_path)
    first = "楼号,单元,房号,户主,联系电话\n1,1,1101,王建国,13800138001\n1,1,1102,张敏,13800138002\n".encode()
    upload(at, "a.csv", first)
    assert go(at)
    at.radio(key="lg_mode").set_value("update").run()
    second = "楼号,单元,房号,户主,联系电话\n1,1,1101,王建国,13900000000\n".encode()
    upload(at, "b.csv", second)
    shown = texts(at)
    assert "更新 1 户" in shown and "文件中没有但台账中有" in shown
    assert go(at)
    db = Database.open(demo_path)
    try:
        assert db.scalar("SELECT phone FROM households WHERE unit_id = 1 AND room = '1101'") == "13900000000"
        assert db.scalar("SELECT count(*) FROM audit_log WHERE action = 'household.import_update'") == 1
    finally:
        db.close()
