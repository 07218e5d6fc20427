"""Bad input, property-based: random text, huge numbers, wrong encodings, SQL and formula fragments.
The answer is always a clear QinyuanError (catalogue key, both languages) or a valid result, never a
crash, a partial write or an export cell that Excel would run as a formula."""

from __future__ import annotations

import csv
import importlib
import io
import pkgutil
from datetime import date

import openpyxl
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import qinyuan
from qinyuan import access, exports, i18n, states, users
from qinyuan.errors import InvalidInput, PermissionDenied, QinyuanError

FUZZ = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
NASTY = [
    "=1+1",
    "+SUM(A1:A9)",
    "-2+3",
    "@cmd",
    '=HYPERLINK("http://x")',
    "\t=1",
    "\r=1",
    "'; DROP TABLE households; --",
    "1 OR 1=1",
    "%s%s%n",
    "{0}{name}",
    "\x00",
    "\ufeff",
    "锟斤拷",
    "\U0001f600" * 50,
    "a" * 5000,
    " ",
    "",
    "NaN",
    "-1",
    "1e308",
    "9" * 40,
    "<script>alert(1)</script>",
    "..\\..\\etc\\passwd",
]
texts = st.one_of(
    st.sampled_from(NASTY), st.text(max_size=300), st.builds(lambda a, b: a + b, st.sampled_from(NASTY), st.text(max_size=40))
)
DANGEROUS = ("=", "+", "-", "@", "\t", "\r")


def _clear(exc: QinyuanError) -> None:
    """A clear error: a catalogue key both languages can say."""
    assert exc.key in i18n.catalogue("zh") and exc.key in i18n.catalogue("en"), exc.key
    for lang in i18n.LANGS:
        assert i18n.error_text(exc, lang)


def _writes(db) -> int:
    return db.scalar("SELECT count(*) FROM audit_log")


def _call(db, fn, *tables):
    """fn() either succeeds or raises a clear QinyuanError having written nothing at all."""
    before = _writes(db), [db.scalar(f"SELECT count(*) FROM {t}") for t in tables]
    try:
        return fn()
    except QinyuanError as exc:
        _clear(exc)
        assert (_writes(db), [db.scalar(f"SELECT count(*) FROM {t}") for t in tables]) == before, "partial write"
        return exc


# -- state machines ---------------------------------------------------------------------------------
def _machines() -> list[states.Machine]:
    found = {}
    for info in pkgutil.iter_modules(qinyuan.__path__):
        if info.name in ("__main__",):
            continue
        try:
            module = importlib.import_module(f"qinyuan.{info.name}")
        except Exception:  # noqa: BLE001 - a module that does not import is another test's failure
            continue
        for value in vars(module).values():
            if isinstance(value, states.Machine):
                found[value.name] = value
    return list(found.values())


MACHINES = _machines()
ROLES = st.one_of(st.sampled_from(access.ROLES), st.text(max_size=12))


@st.composite
def machines(draw):
    names = draw(st.lists(st.text(min_size=1, max_size=8), min_size=1, max_size=6, unique=True))
    transitions = {}
    for source in names:
        targets = draw(st.lists(st.sampled_from(names), max_size=4, unique=True))
        transitions[source] = {t: tuple(draw(st.lists(st.sampled_from(access.ROLES), max_size=3))) for t in targets}
    terminal = tuple(draw(st.lists(st.sampled_from(names), max_size=2, unique=True)))
    return states.Machine(draw(st.text(max_size=10)), transitions, terminal)


def _check_machine(machine, current, target, role):
    steps = machine.next_steps(current, role)
    assert set(steps) <= set(machine.transitions.get(current, {}))
    try:
        machine.check(current, target, role)
    except InvalidInput as exc:
        _clear(exc)
        assert target not in machine.transitions.get(current, {})
    except PermissionDenied as exc:
        _clear(exc)
        assert target in machine.transitions.get(current, {}) and target not in steps
    else:
        assert target in steps
    assert isinstance(machine.is_open(current), bool)


@FUZZ
@given(machines(), st.data())
def test_any_machine_allows_exactly_its_next_steps(machine, data):
    pool = st.one_of(st.sampled_from(machine.states), st.text(max_size=10)) if machine.states else st.text(max_size=10)
    _check_machine(machine, data.draw(pool), data.draw(pool), data.draw(ROLES))


@pytest.mark.skipif(not MACHINES, reason="no state machine defined yet")
@FUZZ
@given(st.data())
def test_the_apps_machines_refuse_anything_else_clearly(data):
    machine = data.draw(st.sampled_from(MACHINES))
    pool = st.one_of(st.sampled_from(machine.states), texts)
    _check_machine(machine, data.draw(pool), data.draw(pool), data.draw(ROLES))
    for state in machine.terminal:
        assert not machine.is_open(state)


# -- exports ------------------------------------------------------------------------------------------
def cells(text):
    return st.one_of(
        text, st.integers(min_value=-(10**15), max_value=10**15), st.none(), st.floats(allow_nan=False, allow_infinity=False)
    )


def _looks_numeric(cell: str) -> bool:
    try:
        float(cell)
    except ValueError:
        return False
    return True


@FUZZ
@given(st.lists(st.tuples(texts, cells(texts), cells(texts)), min_size=1, max_size=8), st.sampled_from(NASTY + ["名称", "phone"]))
def test_no_csv_cell_starts_a_formula(rows, header):
    frame = pd.DataFrame(rows, columns=[header, "b", "c"])
    text = exports.to_csv_bytes(frame).decode("utf-8-sig")
    for row in csv.reader(io.StringIO(text, newline="")):
        for cell in row:  # a negative number stays a number; any text starting a formula is quoted
            assert not cell.startswith(DANGEROUS) or _looks_numeric(cell), cell


def test_csv_cell_with_a_carriage_return_cannot_start_a_formula():
    text = exports.to_csv_bytes(pd.DataFrame({"name": ["王芳\r=1+1"]})).decode("utf-8-sig")
    for row in csv.reader(io.StringIO(text, newline="")):
        for cell in row:
            assert not cell.startswith(DANGEROUS), cell


def _xlsx_cells(frame):
    book = openpyxl.load_workbook(io.BytesIO(exports.to_xlsx_bytes(frame)))
    for row in book.active.iter_rows():
        yield from row


@FUZZ
@given(st.lists(st.tuples(texts, cells(texts)), min_size=1, max_size=8), st.sampled_from(NASTY[:8] + ["名称"]))
def test_no_xlsx_cell_is_a_formula(rows, header):
    for cell in _xlsx_cells(pd.DataFrame(rows, columns=[header, "b"])):
        assert cell.data_type != "f", cell.value
        if isinstance(cell.value, str):
            assert not cell.value.startswith(DANGEROUS), cell.value


def test_xlsx_export_survives_control_characters():
    cells = list(_xlsx_cells(pd.DataFrame({"name": ["王\x08芳", "=1\x00"]})))
    assert all(cell.data_type != "f" for cell in cells)


# -- accounts ------------------------------------------------------------------------------------------
@FUZZ
@given(st.one_of(texts, st.none()))
def test_password_rules_answer_clearly(password):
    try:
        users.validate_password(password)
    except InvalidInput as exc:
        _clear(exc)
    else:
        assert len(password) >= 8 and len(password.encode("utf-8")) <= 72 and password == password.strip()


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    username=texts,
    display=texts,
    role=st.one_of(st.sampled_from(access.ROLES), texts),
    team=st.one_of(st.none(), st.integers(min_value=-5, max_value=10**12)),
)
def test_create_user_with_random_text(db, username, display, role, team):
    committee = users.actor_for(db, "committee")
    before = db.scalar("SELECT count(*) FROM users")
    try:
        users.create_user(db, committee, username, display, role, team_id=team, password="qinyuan-fuzz-1")
    except QinyuanError as exc:
        _clear(exc)
        assert db.scalar("SELECT count(*) FROM users") == before
    except (OverflowError, ValueError) as exc:  # an id beyond INTEGER is refused before any write
        pytest.fail(f"unclear error for team {team!r}: {exc!r}")
    else:
        assert db.scalar("SELECT count(*) FROM users") == before + 1
        assert users.account(db, username.strip().lower())["role"] == role


# -- the household import validator ----------------------------------------------------------------------
imports = pytest.importorskip("qinyuan.imports")
HEADER = "楼号,单元,房号,联系人,联系电话,居住人数,住户姓名,特殊需求,备注"


@st.composite
def ledgers(draw):
    rows = [HEADER]
    for _ in range(draw(st.integers(0, 4))):
        values = [
            draw(st.one_of(st.sampled_from(["1", "2", "17", "0", "-1", "99999999999", "1.5", ""]), texts)),
            draw(st.one_of(st.sampled_from(["1", "3", "x"]), texts)),
            draw(texts),
            draw(texts),
            draw(texts),
            draw(st.one_of(st.sampled_from(["1", "3", "0", "1e9", "-2"]), texts)),
            draw(texts),
            draw(texts),
            draw(texts),
        ]
        out = io.StringIO()
        csv.writer(out).writerow(values)
        rows.append(out.getvalue().rstrip("\r\n"))
    text = "\n".join(rows)
    encoding = draw(st.sampled_from(["utf-8", "utf-8-sig", "gb18030", "utf-16", "latin-1"]))
    return text.encode(encoding, errors="replace")


@FUZZ
@given(data=st.one_of(ledgers(), st.binary(max_size=400)), filename=st.sampled_from(["a.csv", "a.xlsx", "a.txt", "台账.CSV", ""]))
def test_import_validator_and_import_never_crash_nor_half_write(db, data, filename):
    report = imports.validate(db, data, filename)
    assert isinstance(report.ok, bool)
    for problem in report.problems:
        assert problem.key in i18n.catalogue("zh") and problem.key in i18n.catalogue("en"), problem.key
    committee = users.actor_for(db, "committee")
    households = db.scalar("SELECT count(*) FROM households")
    result = _call(db, lambda: imports.import_households(db, committee, data, filename), "households", "residents")
    if isinstance(result, QinyuanError):
        assert db.scalar("SELECT count(*) FROM households") == households
    else:
        assert report.ok


# -- services that take user text or numbers ----------------------------------------------------------------
def _service(module: str, name: str):
    mod = pytest.importorskip(f"qinyuan.{module}")
    fn = getattr(mod, name, None)
    if fn is None:
        pytest.skip(f"qinyuan.{module}.{name} not there yet")
    return fn


numbers = st.one_of(st.integers(min_value=-(10**20), max_value=10**20), st.floats(), texts, st.none())


@FUZZ
@given(
    items=texts,
    notes=st.one_of(st.none(), texts),
    source=st.one_of(st.none(), texts),
    urgency=st.one_of(st.sampled_from(["normal", "urgent", "critical"]), texts),
)
def test_medicine_order_text(db, items, notes, source, urgency):
    create = _service("medicine", "create_order")
    captain = users.actor_for(db, "captain01")
    house = db.scalar("SELECT min(id) FROM households WHERE unit_id = 1")
    result = _call(
        db,
        lambda: create(db, captain, house, items, urgency=urgency, notes=notes, source=source),
        "medicine_orders",
        "medicine_events",
    )
    if not isinstance(result, QinyuanError):
        assert db.scalar("SELECT status FROM medicine_orders WHERE id = ?", [result]) == "requested"


@FUZZ
@given(
    summary=texts,
    vitals=st.one_of(st.none(), texts),
    severity=st.one_of(st.sampled_from(["critical", "urgent", "routine"]), texts),
)
def test_emergency_report_text(db, summary, vitals, severity):
    report = _service("emergencies", "report_case")
    captain = users.actor_for(db, "captain01")
    house = db.scalar("SELECT min(id) FROM households WHERE unit_id = 1")
    _call(db, lambda: report(db, captain, house, None, summary, severity, vitals), "emergency_cases", "emergency_events")


@FUZZ
@given(
    quantity=numbers,
    direction=st.one_of(st.sampled_from(["in", "out"]), texts),
    counterparty=texts,
    note=st.one_of(st.none(), texts),
)
def test_stock_movement_numbers(db, quantity, direction, counterparty, note):
    record = _service("supplies", "record_movement")
    logistics = users.actor_for(db, "logistics01")
    _call(db, lambda: record(db, logistics, 1, direction, quantity, counterparty, note), "stock_movements")
    assert db.scalar("SELECT min(s) FROM (SELECT sum(quantity) s FROM stock_movements GROUP BY item_id) totals") >= 0


@FUZZ
@given(donor=texts, item=texts, portions=numbers)
def test_donation_batch_numbers(db, donor, item, portions):
    create = _service("donations", "create_batch")
    committee = users.actor_for(db, "committee")
    _call(db, lambda: create(db, committee, donor, item, portions, date(2022, 1, 11)), "donation_batches")


@FUZZ
@given(
    name=texts,
    phone=st.one_of(st.none(), texts),
    notes=st.one_of(st.none(), texts),
    team=st.one_of(st.integers(min_value=-3, max_value=60), st.integers(min_value=2**31, max_value=2**63)),
)
def test_roster_member_text(db, name, phone, notes, team):
    add = _service("teams", "add_member")
    committee = users.actor_for(db, "committee")
    _call(db, lambda: add(db, committee, team, name, phone, notes=notes), "volunteers")


def test_fuzzing_reaches_the_real_services():
    """Guard against a fuzz suite that silently tests nothing: the services named above exist."""
    assert MACHINES, "no states.Machine found in qinyuan"
    for module, name in [("medicine", "create_order"), ("imports", "validate"), ("imports", "import_households")]:
        assert hasattr(importlib.import_module(f"qinyuan.{module}"), name), f"{module}.{name}"
