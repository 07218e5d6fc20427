"""Altair charts of the overview, shared by the dashboard and the briefing PDF. Built from the
small frames qinyuan.overview returns; labels come from the message catalogues. No streamlit."""

from __future__ import annotations

import altair as alt
import pandas as pd

from .i18n import t
from .medicine import MACHINE as MEDICINE
from .overview import MEDICINE_STATUSES
from .testing import ROUND

CJK_FONT = "Noto Sans CJK SC"
STATUS_COLOURS = ["#9ca3af", "#fbbf24", "#f59e0b", "#60a5fa", "#3b82f6", "#16a34a", "#6b7280", "#dc2626"]


def _sized(chart, width, height):
    return chart.properties(width=width, height=height) if width else chart.properties(height=height)


def _plain(frame: pd.DataFrame) -> pd.DataFrame:
    """A copy whose date/time columns are strings (vega-lite specs are JSON)."""
    data = frame.copy()
    for col in data.columns:
        if data[col].dtype == object or str(data[col].dtype).startswith("datetime"):
            data[col] = [v.isoformat() if hasattr(v, "isoformat") else v for v in data[col]]
    return data


def _md(series) -> list[str]:
    return [pd.Timestamp(d).strftime("%m-%d") for d in series]


def coverage_chart(frame: pd.DataFrame, lang: str, width: int | None = None):
    data = frame.copy()
    data["round"] = [
        t("overview.chart.round_label", lang, n=n, day=pd.Timestamp(d).strftime("%m-%d"))
        for n, d in zip(data["round_no"], data["day"], strict=True)
    ]
    data["state"] = [ROUND.label(s, lang) for s in data["status"]]
    data["label"] = [f"{c * 100:.1f}%" for c in data["coverage"]]
    base = alt.Chart(_plain(data)).encode(
        x=alt.X("round:N", sort=list(data["round"]), title=None, axis=alt.Axis(labelAngle=0)),
        y=alt.Y("coverage:Q", title=None, axis=alt.Axis(format="%"), scale=alt.Scale(domain=[0, 1])),
    )
    bars = base.mark_bar().encode(
        color=alt.Color("state:N", title=None, legend=alt.Legend(orient="bottom")),
        tooltip=[
            alt.Tooltip("round:N", title=t("overview.chart.round", lang)),
            alt.Tooltip("label:N", title=t("overview.chart.coverage", lang)),
            alt.Tooltip("total:Q", title=t("overview.chart.residents", lang)),
        ],
    )
    text = base.mark_text(dy=-6, fontSize=11).encode(text="label:N")
    return _sized(bars + text, width, 220).properties(title=t("overview.chart.coverage_title", lang))


def medicine_status_chart(frame: pd.DataFrame, lang: str, width: int | None = None):
    data = frame.copy()
    data["date"] = _md(data["day"])
    names = [MEDICINE.label(s, lang) for s in MEDICINE_STATUSES]
    data["state"] = [MEDICINE.label(s, lang) for s in data["status"]]
    chart = (
        alt.Chart(_plain(data))
        .mark_bar()
        .encode(
            x=alt.X("date:O", title=None, axis=alt.Axis(labelAngle=-45)),
            y=alt.Y("sum(orders):Q", title=None),
            color=alt.Color(
                "state:N",
                title=None,
                scale=alt.Scale(domain=names, range=STATUS_COLOURS),
                legend=alt.Legend(orient="bottom", columns=4),
            ),
            order=alt.Order("status_rank:Q"),
            tooltip=[
                alt.Tooltip("date:O", title=t("overview.chart.day", lang)),
                alt.Tooltip("state:N", title=t("common.status", lang)),
                alt.Tooltip("orders:Q", title=t("overview.chart.orders", lang)),
            ],
        )
        .transform_calculate(status_rank=f"indexof({names!r}, datum.state)")
    )
    return _sized(chart, width, 230).properties(title=t("overview.chart.medicine_title", lang))


def delivery_hours_chart(frame: pd.DataFrame, lang: str, width: int | None = None, bin_hours: int = 4):
    data = frame.copy()
    data["range"] = [f"{h}–{h + bin_hours}h" for h in data["hours_from"]]
    chart = (
        alt.Chart(_plain(data))
        .mark_bar(color="#c0392b")
        .encode(
            x=alt.X("range:N", sort=list(data["range"]), title=t("overview.chart.hours", lang), axis=alt.Axis(labelAngle=-45)),
            y=alt.Y("orders:Q", title=None),
            tooltip=[
                alt.Tooltip("range:N", title=t("overview.chart.hours", lang)),
                alt.Tooltip("orders:Q", title=t("overview.chart.orders", lang)),
            ],
        )
    )
    return _sized(chart, width, 200).properties(title=t("overview.chart.delivery_title", lang))


def duty_fill_chart(frame: pd.DataFrame, lang: str, width: int | None = None):
    data = frame.copy()
    data["date"] = _md(data["day"])
    data["post"] = data["name_zh"] if lang == "zh" else data["name_en"]
    data["label"] = [f"{r * 100:.0f}%" for r in data["rate"]]
    posts = list(dict.fromkeys(data.sort_values("post_id")["post"]))
    base = alt.Chart(_plain(data)).encode(
        x=alt.X("date:O", title=None, axis=alt.Axis(labelAngle=-45, orient="top")),
        y=alt.Y("post:N", sort=posts, title=None, axis=alt.Axis(labelOverlap=False, labelFlush=False)),
    )
    rect = base.mark_rect(stroke="white").encode(
        color=alt.Color(
            "rate:Q",
            title=t("overview.chart.fill", lang),
            scale=alt.Scale(scheme="redyellowgreen", domain=[0, 1]),
            legend=alt.Legend(format="%", orient="bottom"),
        ),
        tooltip=[
            alt.Tooltip("date:O", title=t("overview.chart.day", lang)),
            alt.Tooltip("post:N", title=t("overview.chart.post", lang)),
            alt.Tooltip("label:N", title=t("overview.chart.fill", lang)),
            alt.Tooltip("filled:Q"),
            alt.Tooltip("required:Q"),
        ],
    )
    return _sized(rect, width, 26 * max(len(posts), 1)).properties(
        title=alt.TitleParams(t("overview.chart.duty_title", lang), offset=12)
    )


def open_cases_chart(frame: pd.DataFrame, lang: str, width: int | None = None):
    data = frame.copy()
    data["date"] = _md(data["day"])
    chart = (
        alt.Chart(_plain(data))
        .mark_line(point=alt.OverlayMarkDef(color="#c0392b"), color="#c0392b")
        .encode(
            x=alt.X("date:O", title=None, axis=alt.Axis(labelAngle=-45)),
            y=alt.Y("open_cases:Q", title=None, axis=alt.Axis(tickMinStep=1)),
            tooltip=[
                alt.Tooltip("date:O", title=t("overview.chart.day", lang)),
                alt.Tooltip("open_cases:Q", title=t("overview.chart.open_cases", lang)),
            ],
        )
    )
    return _sized(chart, width, 180).properties(title=t("overview.chart.cases_title", lang))


def donation_chart(frame: pd.DataFrame, lang: str, width: int | None = None):
    data = frame.copy()
    data["bld"] = [t("overview.chart.building_short", lang, n=b) for b in data["building"]]
    buildings = list(dict.fromkeys(data.sort_values("building")["bld"]))
    chart = (
        alt.Chart(_plain(data))
        .mark_rect(stroke="white")
        .encode(
            x=alt.X("hour:O", title=t("overview.chart.hour", lang), axis=alt.Axis(labelAngle=0)),
            y=alt.Y("bld:N", sort=buildings, title=None, axis=alt.Axis(labelOverlap=False, labelFlush=False)),
            color=alt.Color(
                "portions:Q",
                title=t("overview.chart.portions", lang),
                scale=alt.Scale(scheme="greens"),
                legend=alt.Legend(orient="bottom"),
            ),
            tooltip=[
                alt.Tooltip("bld:N", title=t("common.building", lang)),
                alt.Tooltip("hour:O", title=t("overview.chart.hour", lang)),
                alt.Tooltip("portions:Q", title=t("overview.chart.portions", lang)),
            ],
        )
    )
    return _sized(chart, width, 18 * max(len(buildings), 1)).properties(title=t("overview.chart.donation_title", lang))


HEAT_INDICATORS = ("coverage", "pending", "medicine_open", "cases_open", "days_since_visit")


def heatmap_frame(frame: pd.DataFrame, lang: str) -> pd.DataFrame:
    """Units x indicators in long form; `bad` (0..1) colours each cell on its own indicator's scale."""
    rows = []
    maxima = {k: max(float(frame[k].max() or 0), 1.0) for k in ("pending", "medicine_open", "cases_open")} if len(frame) else {}
    for rec in frame.to_dict("records"):
        unit = f"{rec['building']}-{rec['unit_no']}"
        for key in HEAT_INDICATORS:
            value = rec[key]
            if value is None or pd.isna(value):
                bad, label = 0.0, "—"
            elif key == "coverage":
                bad, label = 1.0 - float(value), f"{float(value) * 100:.0f}%"
            elif key == "days_since_visit":
                bad, label = min(float(value) / 14.0, 1.0), f"{int(value)}"
            else:
                bad, label = float(value) / maxima[key], f"{int(value)}"
            rows.append(
                {
                    "unit_id": int(rec["unit_id"]),
                    "unit": unit,
                    "indicator": t(f"overview.heat.{key}", lang),
                    "value": label,
                    "bad": round(bad, 3),
                }
            )
    return pd.DataFrame(rows, columns=["unit_id", "unit", "indicator", "value", "bad"])


def unit_heatmap_chart(frame: pd.DataFrame, lang: str, width: int | None = None, selectable: bool = True):
    data = heatmap_frame(frame, lang)
    order = [t(f"overview.heat.{k}", lang) for k in HEAT_INDICATORS]
    units = list(dict.fromkeys(data["unit"]))  # the frame's order: by unit, or most in need first
    base = alt.Chart(_plain(data)).encode(
        x=alt.X("indicator:N", sort=order, title=None, axis=alt.Axis(orient="top", labelAngle=0, labelLimit=90)),
        y=alt.Y("unit:N", sort=units, title=None, axis=alt.Axis(labelOverlap=False, labelFlush=False, labelFontSize=11)),
    )
    rect = base.mark_rect(stroke="white").encode(
        color=alt.Color(
            "bad:Q", scale=alt.Scale(domain=[0, 0.5, 1], range=["#f8fafc", "#fdba74", "#b91c1c"], interpolate="rgb"), legend=None
        ),
        tooltip=[
            alt.Tooltip("unit:N", title=t("common.unit", lang)),
            alt.Tooltip("indicator:N", title=" "),
            alt.Tooltip("value:N", title=" "),
        ],
    )
    text = base.mark_text(fontSize=11).encode(
        text="value:N", color=alt.condition("datum.bad > 0.6", alt.value("white"), alt.value("#1f2937"))
    )
    layer = rect + text
    if selectable:
        pick = alt.selection_point(name="unit", fields=["unit_id"], on="click", clear="dblclick")
        rect = rect.add_params(pick).encode(opacity=alt.condition(pick, alt.value(1.0), alt.value(0.45)))
        layer = rect + text
    return _sized(layer, width, max(21 * len(units), 63))


def briefing_charts(data: dict, lang: str, width: int = 460) -> list:
    """The charts that go into the briefing PDF, in order, each configured for a CJK font; a chart
    without data is left out (an empty chart cannot be drawn)."""
    makers = [
        ("coverage", coverage_chart),
        ("medicine", medicine_status_chart),
        ("hours", delivery_hours_chart),
        ("cases", open_cases_chart),
        ("duty", duty_fill_chart),
        ("donation", donation_chart),
    ]
    charts = [make(data[name], lang, width) for name, make in makers if data.get(name) is not None and len(data[name])]
    return [c.configure(font=CJK_FONT).configure_view(stroke=None) for c in charts]
