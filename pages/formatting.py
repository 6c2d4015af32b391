"""Formats shared by the pages: money, percentages, counts, and data values
made safe to show as text in Markdown and in charts."""

import html
import math
import re

import streamlit as st

from metrics.rounding import half_up, percent_text


def percent(value: float | None) -> str:
    """Format a fraction as a whole percentage, a half away from zero as the
    browser rounds it, or a dash when undefined."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    return percent_text(value)


def money(value: float | None, symbol: str = "") -> str:
    """An amount with thousands separators and the configured currency symbol."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    rounded = half_up(value)
    sign = "-" if rounded < 0 else ""
    return f"{sign}{symbol}{abs(rounded):,.0f}"


def signed_money(change: float, symbol: str = "") -> str:
    """Format a change of money in whole units, the sign before the currency
    symbol: +₹1,200, -₹84.

    A change that rounds to zero shows as +₹0, never -₹0.
    """
    rounded = half_up(change)
    sign = "-" if rounded < 0 else "+"
    return f"{sign}{symbol}{abs(rounded):,.0f}"


def count(value: float | None) -> str:
    """A whole number with thousands separators."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    return f"{half_up(value):,.0f}"


def one_decimal(value: float | None) -> str:
    """Format a number with thousands separators and one decimal, or a dash
    when undefined."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    return f"{half_up(value, 1):,.1f}"


def percent_column(
    label: str, help: str | None = None
) -> st.column_config.NumberColumn:
    """A table column that shows a fraction as a percentage and sorts by the number."""
    return st.column_config.NumberColumn(label, help=help, format="percent")


def money_column(
    label: str, symbol: str = "", help: str | None = None
) -> st.column_config.NumberColumn:
    """A table column of amounts in the browser's number format, the symbol in the label."""
    title = f"{label} ({symbol})" if symbol else label
    return st.column_config.NumberColumn(title, help=help, format="localized")


# CommonMark lets a backslash escape any ASCII punctuation. These characters
# start Markdown, HTML, LaTeX ($) or Streamlit's :colour[...] and :icon: syntax.
_MARKDOWN_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+\-.!|<>~$:&])")
# Streamlit's Markdown (GitHub flavour) links bare URLs and e-mail addresses
# even when their punctuation is backslash-escaped, as st.table did in Streamlit
# 1.67 with "http\://evil\.example". A WORD JOINER (U+2060, invisible) after
# the scheme, after "www" and after "@" keeps the autolinker from matching.
_AUTOLINK_STARTS = re.compile(r"(https?(?=://)|www(?=\.)|@)", re.IGNORECASE)
WORD_JOINER = "\u2060"


def markdown_text(value: object) -> str:
    """Escape a data value so that st.markdown, st.caption and the alerts show it
    as the literal text, never as formatting, links or HTML.

    Runs of whitespace, newlines included, become one space, because a newline
    could start a Markdown heading or list. Bare URLs and e-mail addresses get
    an invisible WORD JOINER, which stays in text copied from the page.
    """
    text = " ".join(str(value).split())
    text = _AUTOLINK_STARTS.sub(rf"\1{WORD_JOINER}", text)
    return _MARKDOWN_SPECIAL.sub(r"\\\1", text)


def chart_text(value: object) -> str:
    """Escape a data value for a Plotly label or hover text, which render a
    subset of HTML; Plotly shows the escaped entities as the original characters.

    plotly.js (read in 3.8.2, convertEntities) decodes numeric entities and a
    few named ones such as &lt; and &amp;, so a double quote becomes &#34;.
    """
    return html.escape(str(value)).replace("&quot;", "&#34;")
