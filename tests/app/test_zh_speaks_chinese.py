"""The Chinese UI speaks Chinese: no Streamlit default English ("Choose options"), no "BP", no raw codes; and
the English UI counts right ("1 household")."""

from __future__ import annotations

import ast
import re
import string

import pytest

from qinyuan import emergencies, i18n

from .helpers import ROOT, app_as

SOURCES = sorted([*ROOT.glob("qinyuan/ui/*.py"), *ROOT.glob("pages/*.py"), ROOT / "app.py"])
# ASCII that belongs in a Chinese page: file formats, the language switch, account names, units of measure.
ALLOWED = {"CSV", "ZIP", "PDF", "Excel", "xlsx", "HTML", "QR", "ID", "English", "N95", "kg", "IU", "mg", "g", "AM", "PM"}
ACCOUNT = re.compile(r"^(committee|captain\d+|member\d+|medic\d+|logistics\d+|system)$")
WORD = re.compile(r"(?<![A-Za-z0-9_:/.#@-])[A-Za-z]{2,}(?![A-Za-z0-9_:/@-])")
TAGS = re.compile(r"<style>.*?</style>|<[^>]+>", re.S)
TEXT_FIELDS = {"body", "label", "text", "value", "placeholder", "options", "delta", "help", "caption"}
SWEEP = [
    ("committee", p)
    for p in ("overview", "households", "testing", "roster", "duty", "medicine", "emergencies", "supplies", "admin")
]
SWEEP += [("captain01", p) for p in ("overview", "households", "testing", "medicine", "emergencies", "supplies", "duty")]
SWEEP += [
    ("member001", "overview"),
    ("member001", "duty"),
    ("medic01", "testing"),
    ("medic01", "emergencies"),
    ("logistics01", "supplies"),
]


def _calls(name: str):
    for file in SOURCES:
        for node in ast.walk(ast.parse(file.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == name:
                yield file, node


def test_every_multiselect_and_empty_selectbox_says_its_placeholder_in_the_user_s_language():
    """Without placeholder= Streamlit's frontend shows "Choose options" / "Choose an option" in English."""
    missing = []
    for name in ("multiselect", "selectbox"):
        for file, call in _calls(name):
            keywords = {k.arg: k.value for k in call.keywords}
            empty = name == "multiselect" or (isinstance(keywords.get("index"), ast.Constant) and keywords["index"].value is None)
            if empty and "placeholder" not in keywords:
                missing.append(f"{file.relative_to(ROOT)}:{call.lineno} {name}")
    assert missing == []
    assert len(list(_calls("multiselect"))) >= 4  # the scan sees them


def _strings(node, out: list[tuple[str, str, str]]) -> None:
    proto = getattr(node, "proto", None)
    if proto is not None and hasattr(proto, "ListFields"):
        for field, value in proto.ListFields():
            if field.name not in TEXT_FIELDS:
                continue
            if isinstance(value, str):
                values = [value]
            else:
                try:
                    values = [v for v in value if isinstance(v, str)]  # repeated fields: options
                except TypeError:
                    values = []
            out += [(type(node).__name__, field.name, v) for v in values]
    children = getattr(node, "children", None)
    if isinstance(children, dict):
        for child in children.values():
            _strings(child, out)


def _empty_placeholders(node, out: list[str]) -> None:
    proto = getattr(node, "proto", None)
    kind = type(node).__name__
    unset = kind == "Multiselect" or (kind == "Selectbox" and not proto.HasField("default"))
    if unset and not proto.placeholder.strip():
        out.append(f"{kind} {proto.label}")
    children = getattr(node, "children", None)
    if isinstance(children, dict):
        for child in children.values():
            _empty_placeholders(child, out)


@pytest.mark.parametrize("username,page", SWEEP)
def test_a_chinese_page_has_no_stray_english(demo_path, username, page):
    at = app_as(demo_path, username, page=None if page == "overview" else page)
    assert not at.exception
    found: list[tuple[str, str, str]] = []
    _strings(at._tree, found)
    assert len(found) > 5
    stray = set()
    for kind, field, text in found:
        for word in WORD.findall(TAGS.sub(" ", text)):
            if word not in ALLOWED and not ACCOUNT.match(word):
                stray.add(f"{kind}.{field}: {word} in {text[:60]!r}")
    assert not stray, sorted(stray)
    empty: list[str] = []
    _empty_placeholders(at._tree, empty)
    assert not empty, empty


def test_vital_signs_are_said_in_chinese():
    assert (
        emergencies.vitals_label("BP 220/120 · P 96 · T 36.8 · SpO2 95%", "zh") == "血压 220/120 · 心率 96 · 体温 36.8 · 血氧 95%"
    )
    assert emergencies.vitals_label("BP 150/90", "en") == "BP 150/90"


def test_english_counts_one_in_the_singular():
    catalogue = i18n.catalogue("en")
    counted = [k for k, v in catalogue.items() if re.search(r"\{n\} (households|residents|people|orders)\b", v)]
    assert counted
    for key in counted:
        fields = {name for _, name, _, _ in string.Formatter().parse(catalogue[key]) if name}
        assert not re.search(r"\b1 (households|residents|people|orders)\b", i18n.t(key, "en", **dict.fromkeys(fields, 1))), key
    assert i18n.t("households.import.go", "en", n=1) == "Import 1 household"
    assert i18n.t("households.import.go", "en", n=2) == "Import 2 households"
    assert i18n.t("households.import.go", "zh", n=1) == "导入 1 户"
