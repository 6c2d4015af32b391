"""Number formats shared by the pages: money, percentages, counts."""

import math

import streamlit as st


def percent(value: float | None) -> str:
    """A fraction as a whole percentage; a dash when undefined."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    return f"{value:.0%}"


def money(value: float | None, symbol: str = "") -> str:
    """An amount with thousands separators and the configured currency symbol."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    return f"{symbol}{value:,.0f}"


def count(value: float | None) -> str:
    """A whole number with thousands separators."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    return f"{value:,.0f}"


def percent_column(label: str, help: str | None = None) -> st.column_config.NumberColumn:
    """A table column that shows a fraction as a percentage and sorts by the number."""
    return st.column_config.NumberColumn(label, help=help, format="percent")


def money_column(label: str, symbol: str = "", help: str | None = None) -> st.column_config.NumberColumn:
    """A table column of amounts in the browser's number format, the symbol in the label."""
    title = f"{label} ({symbol})" if symbol else label
    return st.column_config.NumberColumn(title, help=help, format="localized")
