"""Importing the office's own ledger: upload -> columns (our guess, changeable) -> check -> fix flagged rows in
place -> import the good households (new or updated). The file is read once and kept in the session, so
changing a column or fixing a row re-checks without reading the upload again."""

from __future__ import annotations

import hashlib

import pandas as pd
import streamlit as st

from .. import imports, ledger, ledger_export, testing
from ..access import Actor
from . import safe
from .common import attempt, flash, get_db, lang, show_flash, t

FILE = "lg_file"  # {"name", "sig", "sheets"}: the upload as read
EDITS = "lg_edits"  # {sheet: {row: cells}}: rows fixed in place
REPORT = "lg_report"  # (signature, Report): the last check, applied as shown
GEN = "lg_gen"
MB = imports.MAX_BYTES // (1024 * 1024)
TYPES = (".xlsx", ".xlsm", ".csv", ".txt", ".tsv", ".xls")
CHOICES = (*ledger.FIELDS, "ignore")


def render(actor: Actor) -> None:
    st.caption(t("ledger.help", mb=MB, rows=f"{imports.MAX_ROWS:,}"))
    _templates()
    show_flash("ledger")
    update = (
        st.radio(t("ledger.mode"), ["new", "update"], key="lg_mode", horizontal=True, format_func=lambda m: t(f"ledger.mode_{m}"))
        == "update"
    )
    sheets = _upload()
    if sheets is None:
        return
    guess = ledger.recognise(sheets)
    overrides = _mapping(guess)
    report = _check(sheets, overrides, update)
    _summary(report)
    if report.file_problems():
        return
    _fix_in_place(report)
    if update:
        _plan(report)
    _go(actor, report)


def _templates() -> None:
    c1, c2 = st.columns(2)
    c1.download_button(
        t("ledger.template_xlsx"),
        ledger_export.template_xlsx(lang()),
        "台账模板.xlsx",
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        width="stretch",
        key="lg_tpl_xlsx",
    )
    c2.download_button(
        t("ledger.template_csv"),
        ledger_export.template_csv(lang()),
        "台账模板.csv",
        "text/csv",
        width="stretch",
        key="lg_tpl_csv",
    )


def _upload() -> list[ledger.Sheet] | None:
    """The upload, read once per file. Any type is accepted by the widget so that refusals are ours, in the
    user's language (the widget's own would be in English)."""
    upload = st.file_uploader(t("ledger.upload", mb=MB), key=f"lg_upload_{st.session_state.get(GEN, 0)}", max_upload_size=MB)
    if upload is None:
        st.session_state.pop(FILE, None)
        return None
    data = upload.getvalue()
    sig = hashlib.sha256(data).hexdigest() + upload.name
    kept = st.session_state.get(FILE)
    if kept and kept["sig"] == sig:
        return kept["sheets"]
    st.session_state.pop(EDITS, None)
    if not upload.name.lower().endswith(TYPES):
        st.error(t("ledger.refused_type", name=ledger.short(upload.name)), icon="⚠️")
        return None
    bar = st.progress(0.0, text=t("ledger.step_read"))
    sheets = attempt(lambda: ledger.read(data, upload.name, progress=lambda f: bar.progress(f, t("ledger.step_read"))))
    bar.empty()
    if sheets is None:
        return None
    st.session_state[FILE] = {"name": upload.name, "sig": sig, "sheets": sheets}
    return sheets


def _label(name: str) -> str:
    return t(f"ledger.field.{name}")


def _mapping(guess: ledger.Reading) -> dict[str, str | None]:
    """One select per column title of the file, our guess preselected; returns the user's changes."""
    titles: dict[str, str | None] = {}
    for layout in guess.layouts:
        for title, field in zip(layout.columns, layout.fields, strict=True):
            titles.setdefault(title, field)
    overrides: dict[str, str | None] = {}
    with st.expander(t("ledger.mapping"), expanded=True):
        st.caption(t("ledger.mapping_hint"))
        cols = st.columns(2)
        for n, (title, field) in enumerate(titles.items()):
            key = f"lg_map_{hashlib.md5(title.encode()).hexdigest()[:10]}"
            chosen = cols[n % 2].selectbox(
                safe.md(title), CHOICES, index=CHOICES.index(field or "ignore"), format_func=_label, key=key
            )
            if chosen != (field or "ignore"):
                overrides[ledger.header_key(title)] = None if chosen == "ignore" else chosen
    return overrides


def _check(sheets: list[ledger.Sheet], overrides: dict, update: bool) -> imports.Report:
    """Check once per (file, columns, fixes, mode); the report kept is the one the import applies."""
    kept = st.session_state.get(FILE, {})
    edits = st.session_state.get(EDITS, {})
    signature = (kept.get("sig"), tuple(sorted(overrides.items(), key=str)), repr(edits), update)
    cached = st.session_state.get(REPORT)
    if cached and cached[0] == signature:
        return cached[1]
    reading = ledger.recognise(sheets, overrides)
    for sheet, rows in edits.items():
        reading = imports.replace_rows(reading, sheet, rows)
    bar = st.progress(0.0, text=t("ledger.step_check"))
    report = imports.check(
        get_db(), reading, kept.get("name", ""), update=update, progress=lambda _s, f: bar.progress(f, t("ledger.step_check"))
    )
    bar.empty()
    st.session_state[REPORT] = (signature, report)
    return report


def _summary(report: imports.Report) -> None:
    reading = report.reading
    if reading.layouts:
        st.caption(safe.md(t("ledger.sheets_read", sheets="、".join(x.sheet for x in reading.layouts))))
    ignored = list(dict.fromkeys(c for x in reading.layouts for c, f in zip(x.columns, x.fields, strict=True) if not f))
    if ignored:
        st.caption(safe.md(t("ledger.ignored", columns="、".join(ignored))))
    if reading.skipped:
        st.caption(safe.md(t("ledger.sheets_skipped", sheets="、".join(reading.skipped))))
    cleaned = sum(s.cleaned for s in reading.sheets)
    if cleaned:
        st.warning(t("ledger.cleaned", n=cleaned))
    people = sum(len(h.residents) for h in report.households)
    st.caption(
        t("ledger.summary", houses=len(report.households), people=people, rows=report.data_rows, problems=len(report.problems))
    )
    if report.problems:
        st.error(t("ledger.has_problems", n=len(report.problems)), icon="⚠️")
        st.dataframe(report.frame(lang()), hide_index=True, width="stretch")
    if report.households:
        with st.expander(t("households.import.preview"), expanded=not report.problems):
            st.dataframe(report.preview(lang()), hide_index=True, width="stretch")


def _fix_in_place(report: imports.Report) -> None:
    """The flagged rows in the file's own columns, editable; 'check again' puts them back into the file."""
    frames = imports.bad_rows_frames(report)
    if not frames:
        return
    row_col, problem_col = t("households.import.col_row"), t("households.import.col_problem")
    st.download_button(
        t("ledger.bad_download"),
        imports.bad_rows_xlsx(report),
        "有问题的行.xlsx",
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        key="lg_bad_dl",
        width="stretch",
    )
    st.markdown(f"**{t('ledger.fix')}**")
    edited = {}
    for n, (sheet, frame) in enumerate(frames.items()):
        if len(frames) > 1:
            st.caption(safe.md(sheet))
        edited[sheet] = st.data_editor(
            frame.astype(str), hide_index=True, width="stretch", key=f"lg_fix_{n}", disabled=[row_col, problem_col]
        )
    if st.button(t("ledger.fix_go"), key="lg_fix_go", width="stretch"):
        edits = st.session_state.setdefault(EDITS, {})
        for sheet, frame in edited.items():
            cells = frame.drop(columns=[row_col, problem_col])
            for number, values in zip(frame[row_col], cells.itertuples(index=False), strict=True):
                edits.setdefault(sheet, {})[int(number)] = ["" if v is None else str(v) for v in values]
        st.rerun()


def _plan(report: imports.Report) -> None:
    st.info(t("ledger.plan", new=len(report.new()), changed=len(report.changed()), missing=len(report.missing)))
    changed = report.changed()
    if changed:
        with st.expander(t("ledger.changes")):
            st.dataframe(
                pd.DataFrame(
                    [
                        {
                            t("common.unit"): f"{h.building}-{h.unit}",
                            t("common.room"): h.room,
                            t("ledger.col_change"): "；".join(_change_text(k, v) for k, v in h.changes.items()),
                        }
                        for h in changed
                    ]
                ),
                hide_index=True,
                width="stretch",
            )
    if report.missing:
        with st.expander(t("ledger.missing")):
            st.dataframe(
                pd.DataFrame(
                    [
                        {
                            t("common.unit"): f"{m['building']}-{m['unit_no']}",
                            t("common.room"): m["room"],
                            t("households.col.contact"): m["contact_name"],
                        }
                        for m in report.missing
                    ]
                ),
                hide_index=True,
                width="stretch",
            )
        st.checkbox(t("ledger.remove_missing", n=len(report.missing)), key="lg_remove_missing")


def _change_text(key: str, value) -> str:
    if isinstance(value, tuple):
        return f"{_label(key)}: {value[0] or '—'} → {value[1]}"
    return f"{t('ledger.col_residents')} {key.removeprefix('residents_')}: {'、'.join(value)}"


def _round() -> int | None:
    rounds = [r for r in testing.rounds(get_db()) if r["status"] in ("completed", "active")]
    if not rounds:
        return None
    labels = {r["id"]: t("ledger.round_label", no=r["round_no"], day=r["day"]) for r in rounds}
    default = next((i for i, r in enumerate(rounds) if r["status"] == "completed"), 0)
    return st.selectbox(t("ledger.round"), list(labels), index=default, format_func=labels.get, key="lg_round")


def _go(actor: Actor, report: imports.Report) -> None:
    good = report.good()
    if not good:
        return
    round_id = _round() if any(r.test for h in good for r in h.residents.values()) else None
    partial = bool(report.problems)
    label = t("ledger.go_partial", n=len(good)) if partial else t("ledger.go_all", n=len(good))
    if not st.button(label, type="primary", width="stretch", key="lg_go"):
        return
    bar = st.progress(0.0, text=t("ledger.step_write"))
    result = attempt(
        lambda: imports.apply(
            get_db(),
            actor,
            report,
            partial=partial,
            round_id=round_id,
            remove_missing=bool(st.session_state.get("lg_remove_missing")),
            progress=lambda _s, f: bar.progress(f, t("ledger.step_write")),
        )
    )
    if result is None:
        st.session_state.pop(REPORT, None)
        return
    flash(t("ledger.done", **result), where="ledger")
    for key in (FILE, EDITS, REPORT):
        st.session_state.pop(key, None)
    st.session_state[GEN] = st.session_state.get(GEN, 0) + 1  # a fresh uploader: the file is in the ledger now
    st.rerun()
