"""zh/en message catalogues. Each area keeps its own file under locales/<lang>/; keys are global."""

from __future__ import annotations

import json
import os
import re
from functools import cache
from pathlib import Path

LANGS = ("zh", "en")
DEFAULT_LANG = "zh"
LOCALES = Path(__file__).with_name("locales")


@cache
def catalogue(lang: str) -> dict[str, str]:
    merged: dict[str, str] = {}
    for file in sorted((LOCALES / lang).glob("*.json")):
        for key, value in json.loads(file.read_text(encoding="utf-8")).items():
            if key in merged:
                raise ValueError(f"duplicate message key {key} in {file}")
            merged[key] = value
    return merged


def normalise(lang: str | None) -> str:
    return lang if lang in LANGS else DEFAULT_LANG


# English nouns counted in the catalogues: "{n} households" says "1 household" when n is 1.
_SINGULAR = {
    "households": "household",
    "residents": "resident",
    "people": "person",
    "rows": "row",
    "problems": "problem",
    "orders": "order",
    "trips": "trip",
    "teams": "team",
    "minutes": "minute",
    "members": "member",
    "units": "unit",
    "slots": "slot",
    "shifts": "shift",
    "rounds": "round",
    "portions": "portion",
    "points": "point",
    "pages": "page",
    "occupants": "occupant",
    "lines": "line",
    "hours": "hour",
    "days": "day",
    "captains": "captain",
    "buildings": "building",
    "cases": "case",
    "tasks": "task",
    "characters": "character",
    "items": "item",
    "posts": "post",
    "duplicates": "duplicate",
    "records": "record",
    "accounts": "account",
}
_COUNTED = re.compile(r"\{(\w+)\}( (?:open |new |more |closed |urgent |special )?)(" + "|".join(_SINGULAR) + r")\b")


def _singular(text: str, params: dict) -> str:
    def one(match: re.Match) -> str:
        value = str(params.get(match[1], "")).lstrip("+-")
        return match[0] if value != "1" else "{" + match[1] + "}" + match[2] + _SINGULAR[match[3]]

    return _COUNTED.sub(one, text)


def t(key: str, lang: str = DEFAULT_LANG, **params) -> str:
    text = catalogue(normalise(lang)).get(key)
    if text is None:
        text = catalogue(DEFAULT_LANG).get(key, key)
    if params and normalise(lang) == "en":
        text = _singular(text, params)
    strict = os.environ.get("QINYUAN_STRICT") == "1"  # set by the tests: a missing placeholder is a bug
    if params or strict:
        try:
            return text.format(**params)
        except (KeyError, IndexError, ValueError):
            if strict:
                raise
            return text
    return text


def both(key: str, **params) -> str:
    """English and Chinese on one line, for the CLI."""
    return f"{t(key, 'en', **params)} / {t(key, 'zh', **params)}"


def error_text(exc, lang: str = DEFAULT_LANG) -> str:
    return t(getattr(exc, "key", "error.generic"), lang, **getattr(exc, "params", {}))
