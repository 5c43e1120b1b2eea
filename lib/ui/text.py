"""Data shown as literal text inside Markdown 文本转义: `md_escape` and `md`.

Streamlit renders Markdown in st.markdown, st.caption, st.info/success/warning/error, titles,
subheaders, expander, metric, button, radio, tab and page-link labels, help tooltips and toasts.
Besides CommonMark/GFM (links, images, bare URLs, emphasis, HTML) it has its own syntax: text
directives (`:red[..]`, `:small[..]`, `:blue-badge[..]`), Material icons (`:material/name:`),
emoji shortcodes (`:smile:`) and LaTeX between `$`. A name, phone, reason or note a user typed or
imported (用户录入的文字) must show literally there: an image in a customer's name would make every
viewer's browser fetch its URL.

- `md_escape(value)`: the value as Markdown that renders to exactly its text. A backslash goes
  before every character that could start a construct, directive or `$` formula there (the escaped
  `:` also keeps Streamlit's `:material/` rewrite away); an invisible word joiner (U+2060) goes
  after the first colon of an emoji shortcode and into bare links (`http`|`://`, `www`|`.`, `@`|):
  the emoji plugin and GFM's link finder read the parsed text, where backslashes are gone; line
  breaks become spaces (no block can start on a new line).
- `md(t, key, **params)`: `t(key, **params)` with the string parameters escaped, the catalog text
  itself left as Markdown. Pages use it for every catalog message that carries data.

Selectbox and multiselect options (`format_func`) and dataframe cells are plain text in Streamlit
1.67: they need no escaping (a backslash would show there).
"""
from __future__ import annotations

import re
from collections.abc import Callable

# CommonMark lets a backslash escape any ASCII punctuation. Escaped always: what starts a construct
# anywhere in a line (emphasis, code, links and images, HTML and autolinks, entities, tables, `$`
# formulas). Escaped where they matter: `:` before a letter, `/`, `+` or `-` (directives, Material
# icons), `/` after `material`, and a list or heading marker at the start. Dates, times and numbers keep their text ("2026-11", "10:30", "1,234.5").
_ALWAYS = r"[\\`*_\[\]<>&|$~#@]"
_SPECIAL = re.compile(rf"({_ALWAYS}|:(?=[A-Za-z/+\-])|(?<=material)/|^[-+]|(?<=^\d)[.)]|(?<=^\d\d)[.)])",
                      re.IGNORECASE)
# Read from the parsed text, where backslashes are gone: emoji shortcodes, and GFM's bare links
# (`http://`, `www.`, `a@b.cn`, `mailto:`), broken by an invisible word joiner.
_TEXT_PLUGINS = re.compile(r"(?<!\d)(:)(?=[\w+-]+:)|(https?|mailto|xmpp)(?=:)|(www)(?=\.)|(@)(?=[-\w])",
                           re.IGNORECASE)
_BREAKS = re.compile(r"\s*[\r\n\u2028\u2029]+\s*")
JOINER = "\u2060"  # WORD JOINER: invisible, no line break


def md_escape(value) -> str:
    """Return `value` (any object; None → "") as Markdown showing exactly its text, no formatting."""
    if value is None:
        return ""
    plain = _BREAKS.sub(" ", str(value)).strip()
    plain = _TEXT_PLUGINS.sub(lambda m: m.group(0) + JOINER, plain)
    return _SPECIAL.sub(r"\\\1", plain)


def md(t: Callable[..., str], key: str, **params) -> str:
    """Catalog message `key` with its string parameters escaped (numbers keep their format specs)."""
    return t(key, **{k: md_escape(v) if isinstance(v, str) else v for k, v in params.items()})
