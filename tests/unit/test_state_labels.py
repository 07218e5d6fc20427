"""One word per status: each state of each state machine has exactly one catalogue entry, used everywhere."""

from __future__ import annotations

import importlib
import pkgutil
import re
from pathlib import Path

import pytest

import qinyuan
from qinyuan import i18n
from qinyuan.states import Machine

ROOT = Path(__file__).resolve().parents[2]


def machines() -> list[Machine]:
    found: dict[str, Machine] = {}
    for info in pkgutil.iter_modules(qinyuan.__path__):
        if info.name.startswith("_") or info.ispkg:
            continue
        module = importlib.import_module(f"qinyuan.{info.name}")
        for value in vars(module).values():
            if isinstance(value, Machine):
                found[value.name] = value
    return list(found.values())


def test_the_machines_are_found():
    names = {m.name for m in machines()}
    assert {"medicine", "grocery", "emergency", "test_result", "test_round", "shift_assignment", "carrying_task"} <= names


@pytest.mark.parametrize("lang", i18n.LANGS)
def test_every_state_has_exactly_one_label(lang):
    catalogue = i18n.catalogue(lang)
    states = {s for m in machines() for s in m.states}
    for machine in machines():
        for state in machine.states:
            assert machine.label_key(state) in catalogue, (lang, machine.name, state)
    # no second family of status words (overview.med_status.*, grocery.status.* ...) beside state.*
    # (door.kind.* names what a household asks for, e.g. "away": a kind of request, not a status)
    second = [
        k
        for k in catalogue
        if not k.startswith(("state.", "door.kind."))
        and re.search(r"(status|kind)\.[a-z_]+$", k)
        and k.rsplit(".", 1)[1] in states
    ]
    assert not second, second


@pytest.mark.parametrize("lang", i18n.LANGS)
def test_a_state_shared_by_machines_has_one_word(lang):
    words: dict[str, set[str]] = {}
    for machine in machines():
        for state in machine.states:
            words.setdefault(state, set()).add(machine.label(state, lang))
    assert {s: w for s, w in words.items() if len(w) > 1} == {}


def test_the_agreed_words():
    """The medicine page's words win: 待采购 · 已到门岗 · 已消毒, and 加急 for urgency, on every page."""
    by_name = {m.name: m for m in machines()}
    assert [by_name["medicine"].label(s, "zh") for s in ("requested", "at_gate", "disinfected")] == [
        "待采购",
        "已到门岗",
        "已消毒",
    ]
    assert [by_name["grocery"].label(s, "zh") for s in ("at_gate", "disinfected")] == ["已到门岗", "已消毒"]
    assert "紧急" not in {i18n.t(k, "zh") for k in i18n.catalogue("zh") if ".urgency." in k}
    values = set(i18n.catalogue("zh").values())
    assert not values & {"已消杀", "已到门口"}
    # nor inside longer texts (the to-do said 药品待送上门（已消杀）beside the medicine page's 已消毒)
    assert not [v for v in values if "消杀" in v or "到门口" in v]


def test_pages_take_status_words_from_the_machines():
    """No page or service builds a status key by hand (t(f"x.status.{s}")): they call Machine.label/state_label."""
    offenders = []
    for file in [*ROOT.glob("qinyuan/**/*.py"), *ROOT.glob("pages/*.py"), ROOT / "app.py"]:
        text = file.read_text(encoding="utf-8")
        if re.search(r"""\bt\(\s*f?["'][a-z_.]*(status|case_status|med_status|round_status)\.""", text):
            offenders.append(str(file.relative_to(ROOT)))
    assert offenders == []


def test_the_highlighted_next_step_of_a_case_goes_forward():
    """The case page highlights next_steps()[0]: after 建议转院 it was 已联系校医院 again (issue 16)."""
    from qinyuan import emergencies as em

    assert em.next_steps("transfer_advised", "captain")[0] == "exit_permit_requested"
    for status in em.CASE.states:
        for role in ("captain", "medic", "committee"):
            steps = em.next_steps(status, role)
            forward = [k for k in steps if em.EVENT_KINDS.index(k) > em.EVENT_KINDS.index(status)]
            if forward:
                assert steps[0] == forward[0], (status, role, steps)
            assert sorted(steps) == sorted(em.CASE.next_steps(status, role))
