"""Catalogues: zh and en hold the same keys, and every key the code names exists."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from qinyuan import access, i18n

ROOT = Path(__file__).resolve().parents[2]
SOURCES = sorted([*ROOT.glob("qinyuan/**/*.py"), *ROOT.glob("pages/*.py"), ROOT / "app.py"])
KEY = r"[a-z][a-z0-9_]*\.[a-z0-9_.]+"
# t("x.y"), both("x.y"), InvalidInput("x.y"), QinyuanError("x.y"), ... and st.session_state[...] = ("x.y", {...})
USES = [
    re.compile(rf"""\b(?:t|both|_t|tr)\(\s*["']({KEY})["']"""),
    re.compile(
        rf"""\b(?:QinyuanError|InvalidInput|PermissionDenied|NotFound|StaleEdit|DatabaseBusy|NotQinyuanDatabase)\(\s*["']({KEY})["']"""
    ),
    re.compile(r"""\(\s*["'](login\.[a-z_]+)["']\s*,\s*\{"""),
]


def used_keys() -> dict[str, set[str]]:
    found: dict[str, set[str]] = {}
    for file in SOURCES:
        text = file.read_text(encoding="utf-8")
        for pattern in USES:
            for key in pattern.findall(text):
                found.setdefault(key, set()).add(str(file.relative_to(ROOT)))
    return found


def test_the_scan_finds_keys():
    """A scan that finds nothing would pass vacuously."""
    found = used_keys()
    assert {"login.username", "admin.reset_password", "error.team_required", "cli.db_locked", "login.locked"} <= set(found)
    assert len(found) > 80


@pytest.mark.parametrize("lang", i18n.LANGS)
def test_every_key_used_in_the_code_exists(lang):
    catalogue = i18n.catalogue(lang)

    def known(key: str) -> bool:  # t("duty.status." + s) names a family: at least one member must exist
        return any(k.startswith(key) for k in catalogue) if key.endswith(".") else key in catalogue

    missing = {key: sorted(files) for key, files in used_keys().items() if not known(key)}
    assert not missing, missing


def test_zh_and_en_have_the_same_keys_per_file():
    zh_files = {f.name for f in (i18n.LOCALES / "zh").glob("*.json")}
    en_files = {f.name for f in (i18n.LOCALES / "en").glob("*.json")}
    assert zh_files == en_files
    for name in sorted(zh_files):
        zh = json.loads((i18n.LOCALES / "zh" / name).read_text(encoding="utf-8"))
        en = json.loads((i18n.LOCALES / "en" / name).read_text(encoding="utf-8"))
        assert set(zh) ^ set(en) == set(), (name, sorted(set(zh) ^ set(en)))


def test_keys_are_globally_unique_and_non_empty():
    for lang in i18n.LANGS:
        i18n.catalogue.cache_clear()
        merged = i18n.catalogue(lang)  # raises on a duplicate key across files
        assert all(isinstance(v, str) and v.strip() for v in merged.values()), lang


def test_dynamic_keys_exist():
    """Keys built at run time: role names, page titles."""
    for lang in i18n.LANGS:
        catalogue = i18n.catalogue(lang)
        assert all(f"role.{role}" in catalogue for role in access.ROLES)
        assert all(f"page.{page}" in catalogue for page in access.PAGES)


def test_english_login_labels():
    assert [i18n.t(k, "en") for k in ("login.username", "login.password", "login.submit")] == ["Username", "Password", "Login"]


def test_a_missing_placeholder_raises_under_tests(monkeypatch):
    key = next(k for k, v in i18n.catalogue("zh").items() if "{n}" in v)
    with pytest.raises(KeyError):
        i18n.t(key, "zh")
    monkeypatch.setenv("QINYUAN_STRICT", "0")
    assert "{n}" in i18n.t(key, "zh")  # in production a forgotten value shows, never crashes the page
