"""Territory comparison: territories and regions ranked side by side for a
regional head, with a drill-down from region to territory, rep and outlet.

The ranking is drawn here; pages/comparison_levels.py draws the levels below
it and keeps the drill-down in the sidebar filters.
"""

from dataclasses import dataclass
from functools import partial
from typing import Any

import pandas as pd
import streamlit as st

from data_access.filters import Period, Scope, Settings
from metrics.comparison import group_totals, region_groups
from metrics.rounding import plural
from pages import comparison_charts as charts
from pages import comparison_tables as tables
from pages.comparison_levels import (
    chosen,
    draw_chart,
    draw_downloads,
    draw_notice,
    draw_path,
    draw_rep,
    draw_rep_table,
    draw_territory,
    draw_tiles,
    kpi_tiles,
    open_clicked_bar,
    open_clicked_row,
)
from pages.comparison_tables import REGION, REP, TERRITORY
from pages.formatting import markdown_text
from pages.shared import (
    CACHE_ENTRIES,
    CACHE_SECONDS,
    View,
    current_view,
    load_reps_report,
    load_territories,
    load_territory_groups,
    load_weekly_coverage,
)
from pages.url_state import seed_from_url, write_to_url

TREND_WEEKS = 13


# Comparison of territories or regions


def choose_kpi(view: View) -> str:
    """Draw the Rank by picker, kept in the URL as rank_by."""
    kpis = charts.available_kpis(
        {"orders": view.has("orders"), "beats": view.has("beats")}
    )
    seed_from_url("rank_by", kpis, "ranking")
    if st.session_state.get("rank_by") not in kpis:
        # A KPI of another database (without orders or beats) earlier in the session.
        st.session_state.pop("rank_by", None)
    name = st.selectbox(
        "Rank by",
        list(kpis),
        format_func=lambda option: kpis[option].label,
        key="rank_by",
        help="The weakest come first: lowest coverage, most neglected outlets.",
    )
    write_to_url("rank_by", name, default=next(iter(kpis)))
    return name


def choose_compare() -> str:
    """Draw the Territories/Regions switch, kept in the URL as compare."""
    options = {"territories": "Territories", "regions": "Regions"}
    seed_from_url("compare", options, "comparison")
    compare = st.radio(
        "Compare",
        list(options),
        format_func=options.get,
        key="compare",
        horizontal=True,
    )
    write_to_url("compare", compare, default="territories")
    return compare


@dataclass(frozen=True)
class Ranking:
    """The comparison level of one view, KPI and comparison (territories or
    regions), computed once and shared by every session, so callers must not
    change it.

    groups is load_territory_groups of the view, tiles the KPI tiles with the
    previous period's values, and ranked the groups weakest first. figures
    are the charts by tab name. table is the ranked table, and targets the
    filters that a click on each of its rows sets.
    """

    groups: pd.DataFrame
    tiles: list[tuple[str, str, float, float]]
    ranked: pd.DataFrame
    figures: dict[str, Any]
    table: pd.DataFrame
    targets: list[dict[str, str | None] | None]


@st.cache_resource(ttl=CACHE_SECONDS, max_entries=CACHE_ENTRIES, show_spinner=False)
def _kept_ranking(
    _view: View,
    database_key: str,
    period: Period,
    scope: Scope,
    settings: Settings,
    kpi_name: str,
    compare: str,
) -> Ranking:
    # The ranking is kept per filter choice, so a rerun that only redraws the
    # page neither ranks nor builds the figures again, nor hashes a frame.
    view = _view
    groups = load_territory_groups(view)
    previous = load_territory_groups(view.at(view.period.previous()))
    tiles = kpi_tiles(view, group_totals(groups), group_totals(previous))
    territories = load_territories(view)
    if compare == "regions":
        ranked = tables.ranked_regions(
            region_groups(groups), region_groups(previous), territories, kpi_name
        )
    else:
        ranked = tables.ranked_territories(groups, previous, territories, kpi_name)
    return Ranking(
        groups=groups,
        tiles=tiles,
        ranked=ranked,
        figures=comparison_figures(view, ranked, kpi_name, compare),
        table=tables.comparison_table(ranked, kpi_name, compare),
        targets=tables.drill_targets(ranked, compare),
    )


def comparison_figures(
    view: View, ranked: pd.DataFrame, kpi_name: str, compare: str
) -> dict[str, Any]:
    """Build the charts of the comparison tabs, by tab name."""
    kpi = charts.KPIS[kpi_name]
    symbol = view.settings.currency_symbol
    colour = "region_label" if compare == "territories" else "label"
    figures = {
        "ranking": charts.ranking_figure(ranked, kpi_name, kpi, symbol),
        "team_load": charts.team_load_figure(ranked),
        "status_mix": charts.status_mix_figure(ranked),
    }
    if view.has("orders"):
        code = "territory_id" if compare == "territories" else "region_id"
        figures["coverage_strike"] = charts.coverage_strike_figure(
            ranked, code, colour, symbol
        )
    if compare == "territories":
        # The ranked rows are the groups in the ranking's order.
        shares = load_weekly_coverage(view, ranked, TREND_WEEKS)
        figures["weekly_coverage"] = charts.coverage_heatmap(shares, ranked["label"])
    return figures


def draw_comparison(view: View) -> None:
    """Rank the territories (or regions) in scope and draw the comparison charts."""
    if load_territory_groups(view).empty:
        st.warning(
            "No territories in the chosen scope. Widen the region or territory filter."
        )
        st.stop()

    left, right = st.columns([2, 1])
    with left:
        kpi_name = choose_kpi(view)
    with right:
        compare = choose_compare() if chosen(REGION) is None else "territories"

    ranking = _kept_ranking(
        view,
        view.database_key,
        view.period,
        view.scope,
        view.settings,
        kpi_name,
        compare,
    )
    draw_tiles(view, ranking.tiles)
    draw_empty_period_notes(ranking.groups)
    draw_comparison_charts(view, ranking, kpi_name, compare)
    draw_ranked_table(view, ranking, kpi_name, compare)
    if compare == "territories":
        draw_unassigned(view, ranking.groups)


def draw_empty_period_notes(groups: pd.DataFrame) -> None:
    if groups["visits"].sum() == 0:
        st.info(
            "No visits in this period, so coverage is 0 % and strike rates are blank. "
            "Pick another week in the sidebar.",
            icon=":material/event_busy:",
        )
    without_reps = groups[(groups["reps"] == 0) & ~groups["is_unassigned"]]
    if not without_reps.empty:
        names = ", ".join(
            markdown_text(name)
            for name in without_reps["territory_name"].fillna(
                without_reps["territory_id"]
            )
        )
        st.caption(
            f"No reps in {names}: their outlets count, but outlets per rep and "
            "planned calls per rep are blank."
        )


def draw_comparison_charts(
    view: View, ranking: Ranking, kpi_name: str, compare: str
) -> None:
    kpi = charts.KPIS[kpi_name]
    ranked = ranking.ranked
    figures = ranking.figures
    names = ["Ranking", "Coverage and strike rate", "Team load", "Outlet status"]
    if compare == "territories":
        names.append(f"{TREND_WEEKS}-week coverage")
    tabs = st.tabs(names)

    with tabs[0]:
        key = f"{compare}_chart_{kpi_name}"
        draw_chart(
            figures["ranking"],
            f"{compare}-by-{kpi_name}",
            key=key,
            on_select=partial(open_clicked_bar, key, ranking.targets),
            selection_mode="points",
        )
        level = "region" if compare == "regions" else "territory"
        st.caption(f"Click a bar to open its {level}.")
        undefined = int(ranked[kpi_name].isna().sum())
        if undefined:
            st.caption(
                f"{undefined} of {len(ranked)} have no {kpi.label.lower()} in this period and are not ranked."
            )
    with tabs[1]:
        if view.has("orders"):
            draw_chart(figures["coverage_strike"], f"{compare}-coverage-strike-rate")
            st.caption(
                "Right: more of the outlets visited. Up: more visits turn into orders. "
                "Bubble size: order value. Hover for outlets and planned calls per rep."
            )
        else:
            st.info("This database has no orders, so there is no strike rate to plot.")
    with tabs[2]:
        draw_chart(figures["team_load"], f"{compare}-team-load")
        st.caption(
            "A team with many outlets or planned calls per rep is thin: low coverage "
            "there may call for another rep rather than more effort."
        )
    with tabs[3]:
        draw_chart(figures["status_mix"], f"{compare}-outlet-status")
    if compare == "territories":
        with tabs[4]:
            draw_chart(figures["weekly_coverage"], "territory-weekly-coverage")
            st.caption(
                "Share of each territory's active outlets visited by anyone in each "
                "week; rows follow the ranking. Today's active outlets are the "
                "denominator of every week."
            )


def draw_ranked_table(
    view: View, ranking: Ranking, kpi_name: str, compare: str
) -> None:
    key = f"{compare}_table_{kpi_name}"
    st.dataframe(
        tables.screen_table(ranking.table, kpi_name),
        hide_index=True,
        width="stretch",
        column_config=tables.column_config(view.settings.currency_symbol, kpi_name),
        on_select=partial(open_clicked_row, key, ranking.targets),
        selection_mode="single-row",
        key=key,
        placeholder="",
    )
    level = "region" if compare == "regions" else "territory"
    st.caption(
        f"Click a row to open the {level}. Ratios are blank where they are undefined."
    )
    draw_downloads(view, ranking.table, compare)


def draw_unassigned(view: View, groups: pd.DataFrame) -> None:
    """List the reps without a listed territory, who make up the Unassigned group."""
    unassigned = groups[groups["is_unassigned"]]
    if unassigned.empty:
        return
    reps = load_reps_report(view)
    reps = reps[~reps["territory_id"].isin(groups["territory_id"].dropna())]
    outlets = int(unassigned["active_outlets"].iloc[0])
    with st.expander(
        f"Unassigned: {len(reps)} {plural(len(reps), 'rep')} and {outlets} "
        f"{plural(outlets, 'outlet')} without a territory"
    ):
        st.caption(
            "Their visits, orders and outlets count in the totals above. Give them "
            "a territory in the source system to compare them."
        )
        if reps.empty:
            return
        draw_rep_table(view, reps, "unassigned_reps")


view = current_view()
st.title("Territory comparison")
st.caption(
    f"{view.period.start:%d %b %Y} to {view.period.end:%d %b %Y} · "
    f"{markdown_text(view.scope.label)}"
)
draw_path(view)
draw_notice()
if chosen(REP) is not None:
    draw_rep(view, chosen(REP))
elif chosen(TERRITORY) is not None:
    draw_territory(view, chosen(TERRITORY))
else:
    draw_comparison(view)
