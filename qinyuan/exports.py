"""Exports of what a user may see: CSV for Excel (utf-8-sig) and xlsx, formula cells neutralised."""

from __future__ import annotations

import io

import pandas as pd
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def neutralise(value):
    """A cell starting with = + - @ would run as a formula in Excel; prefix it with a quote."""
    if isinstance(value, str) and value.startswith(FORMULA_START):
        return "'" + value
    return value


def safe_frame(frame: pd.DataFrame) -> pd.DataFrame:
    out = frame.copy()
    for column in out.columns:
        if out[column].dtype == object or pd.api.types.is_string_dtype(out[column]):
            out[column] = out[column].map(neutralise)
        elif isinstance(out[column].dtype, pd.DatetimeTZDtype):
            out[column] = out[column].dt.tz_convert("Asia/Shanghai").dt.tz_localize(None)
    out.columns = [neutralise(str(c)) for c in out.columns]
    return out


def to_csv_bytes(frame: pd.DataFrame) -> bytes:
    # CRLF line ends make the writer quote any cell holding a bare CR, which Excel would take as a new row.
    return safe_frame(frame).to_csv(index=False, lineterminator="\r\n").encode("utf-8-sig")


def _xlsx_text(value):
    """Control characters (pasted from other tools) cannot be stored in xlsx; drop them."""
    return ILLEGAL_CHARACTERS_RE.sub("", value) if isinstance(value, str) else value


def to_xlsx_bytes(frame: pd.DataFrame, sheet: str = "data") -> bytes:
    return to_xlsx_sheets({sheet: frame})


def to_xlsx_sheets(frames: dict[str, pd.DataFrame]) -> bytes:
    """Several frames, one sheet each (names cut to Excel's 31 characters), cells made safe as in to_xlsx_bytes."""
    buffer = io.BytesIO()
    with pd.ExcelWriter(buffer, engine="openpyxl") as writer:
        for name, frame in (frames or {"data": pd.DataFrame()}).items():
            safe = safe_frame(frame)
            for column in safe.columns:
                if safe[column].dtype == object or pd.api.types.is_string_dtype(safe[column]):
                    safe[column] = safe[column].map(_xlsx_text).map(neutralise)
            safe.columns = [neutralise(_xlsx_text(c)) for c in safe.columns]
            safe.to_excel(writer, index=False, sheet_name=_xlsx_text(name)[:31] or "data")
    return buffer.getvalue()
