"""The one escaping helper: hostile user text stays literal in Markdown and in HTML cards."""

import re

from qinyuan.ui import safe

HOSTILE = [
    "![x](http://evil.example/p.png)",
    "[点此领取](http://evil.example)",
    "$\\rule{300em}{300em}$",
    "**粗体** _斜体_ `code`",
    "<img src=x onerror=alert(1)>",
    "第一行\n\n<b>第二段</b>",
    "# 标题",
    "a | b | c",
    "&lt;already&gt;",
]


def test_md_escapes_every_markdown_trigger():
    for text in HOSTILE:
        out = safe.md(text)
        assert "\n" not in out
        # every ASCII punctuation character is preceded by a backslash
        assert not re.search(r"(?<!\\)[\[\]()!$*_`<>#|&]", out.replace("\\\\", "")), out


def test_html_has_no_tags_no_markdown_and_no_blank_line():
    for text in HOSTILE:
        out = safe.html(text)
        assert "<" not in out and ">" not in out, out
        assert not set("$*_`[]()\\|#!") & set(out.replace("&#", "").replace(";", "")), out
        assert "\n" not in out


def test_html_breaks_keep_lines_apart_without_blank_lines():
    assert safe.html("一\n\n二", breaks=True) == "一<br>二"
    assert safe.html(None) == ""


def test_plain_text_is_unchanged_in_html():
    assert safe.html("秦新娜 103室") == "秦新娜 103室"


def test_bare_addresses_cannot_become_links():
    """remark-gfm links bare http://, www. and e-mail addresses after escapes are resolved."""
    for text in ("看 http://evil.example/a", "www.evil.example", "HTTPS://evil.example", "me@evil.example"):
        for out in (safe.md(text), safe.html(text)):
            plain = out.replace("\\", "").replace("&#58;", ":").replace("&#46;", ".")
            assert not re.search(r"(?i)(https?://|www\.|@[a-z])", plain), out
            assert out.replace("\u2060", "").replace("\\", "").replace("&#58;", ":") == text.replace("\\", "")
    assert safe.md("沁园 103室") == "沁园 103室"
