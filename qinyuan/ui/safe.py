"""The one escaping helper for user text on its way to the screen (names, notes, items, team names...).

Streamlit renders st.markdown, st.info/st.error, captions, expander and widget labels as Markdown
(links, images, KaTeX with `$`), and st.markdown(unsafe_allow_html=True) as HTML too. User text
reaches any of them only through md() or html(); plain-text places (st.text, st.code, dataframes,
selectbox options without markdown) take the text as it is.
"""

from __future__ import annotations

import html as _html
import re

_MD_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+\-.!|<>$~&:=\"'^%])")
_LINE_BREAKS = re.compile(r"[\r\n\u2028\u2029]+")
# Streamlit's Markdown (remark-gfm) turns bare http://, www. and e-mail addresses into links after escapes are
# resolved, so no escape stops it: an invisible word joiner after the scheme, "www" and "@" does.
_AUTOLINK = re.compile(r"(?i)(?<![a-z0-9])(https?|ftp|mailto|www)(?=[:.])|@")
# Markdown and KaTeX meaning in HTML cards: as numeric entities they are plain characters.
_HTML_EXTRA = {
    "$": "&#36;",
    "*": "&#42;",
    "_": "&#95;",
    "`": "&#96;",
    "[": "&#91;",
    "]": "&#93;",
    "~": "&#126;",
    "\\": "&#92;",
    "|": "&#124;",
    "#": "&#35;",
    "!": "&#33;",
    "(": "&#40;",
    ")": "&#41;",
    ":": "&#58;",
}


def _text(value) -> str:
    return "" if value is None else _AUTOLINK.sub(lambda m: m.group(0) + "\u2060", str(value))


def md(value, *, none: str = "") -> str:
    """User text as literal characters inside Markdown: every ASCII punctuation backslash-escaped (what
    CommonMark allows), line breaks folded to one space so a blank line cannot end or start a block.
    `none` stands for a missing value (None), e.g. a dash; it is ours, not user text, so not escaped."""
    if value is None:
        return none
    return _MD_SPECIAL.sub(r"\\\1", _LINE_BREAKS.sub(" ", _text(value)))


def html(value, *, breaks: bool = False) -> str:
    """User text as literal characters inside an HTML card rendered by st.markdown(unsafe_allow_html=True):
    HTML-escaped, Markdown/KaTeX characters as entities, line breaks as <br> (breaks=True) or a space,
    never a blank line (which would end the HTML block and turn the rest into Markdown)."""
    text = _LINE_BREAKS.sub("\n", _text(value))
    escaped = "".join(_HTML_EXTRA.get(ch) or _html.escape(ch, quote=True) for ch in text)
    return escaped.replace("\n", "<br>" if breaks else " ")
