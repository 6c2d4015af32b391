"""Labels, ranking and figures of the territory comparison, on literal frames."""

from datetime import date

import pandas as pd
import pytest

from metrics.status import STATUSES
from pages.comparison_charts import (
    KPIS,
    coverage_heatmap,
    coverage_strike_figure,
    format_change,
    format_value,
    group_labels,
    rank_weakest_first,
    ranking_figure,
    status_mix_figure,
    team_load_figure,
)
from pages.outlet_map import STATUS_COLOURS


def groups(**columns) -> pd.DataFrame:
    frame = pd.DataFrame(columns)
    return frame.assign(
        label=group_labels(frame["territory_id"], frame["territory_name"])
    )


def test_group_labels():
    ids = pd.Series(["007", "12.1", None, "T4"])
    names = pd.Series(["Harbour", None, "Unassigned", "T4"])

    result = list(group_labels(ids, names))

    assert result == ["Harbour (007)", "12.1", "Unassigned", "T4"]


def test_group_labels_territory_named_unassigned():
    ids = pd.Series(["Unassigned", None])
    names = pd.Series(["Unassigned", None])

    result = list(group_labels(ids, names))

    assert result == ["Unassigned (Unassigned)", "Unassigned"]


@pytest.mark.parametrize(
    ("better", "expected"),
    [
        ("higher", ["007", "T4", "12.1", "T3"]),
        ("lower", ["12.1", "007", "T4", "T3"]),
        (None, ["12.1", "007", "T4", "T3"]),
    ],
)
def test_rank_weakest_first(better, expected):
    frame = groups(
        territory_id=["T3", "007", "12.1", "T4"],
        territory_name=[None, None, None, None],
        value=[None, 0.2, 0.9, 0.2],
    )

    ranked = rank_weakest_first(frame, "value", better)

    assert list(ranked["territory_id"]) == expected
    assert list(ranked["rank"].astype(object).where(ranked["rank"].notna(), None)) == [
        1,
        2,
        3,
        None,
    ]


def test_ranking_labels_keep_quotes_readable():
    # Plotly decodes &lt; &gt; &amp; and numeric entities, but shows &quot;
    # as typed, so a double quote must reach it as a numeric entity.
    frame = groups(
        territory_id=["007"],
        territory_name=['Shop "Best" <b>1</b>'],
        coverage=[0.5],
        previous_coverage=[0.4],
        change_coverage=[0.1],
    )

    figure = ranking_figure(frame, "coverage", KPIS["coverage"])

    assert list(figure.layout.yaxis.categoryarray) == [
        "Shop &#34;Best&#34; &lt;b&gt;1&lt;/b&gt; (007)"
    ]


def test_ranking_keeps_codes_as_categories():
    frame = groups(
        territory_id=["12.1", "007", "3"],
        territory_name=[None, None, "<b>Hills</b>"],
        coverage=[0.1, 0.5, 0.9],
        previous_coverage=[0.2, None, 0.8],
        change_coverage=[-0.1, None, 0.1],
    )

    figure = ranking_figure(frame, "coverage", KPIS["coverage"])

    axis = figure.layout.yaxis
    assert axis.type == "category"
    assert list(axis.categoryarray) == ["12.1", "007", "&lt;b&gt;Hills&lt;/b&gt; (3)"]
    assert axis.autorange == "reversed"
    assert list(figure.data[0].text) == ["10%", "50%", "90%"]


def test_team_load_labels_team_without_reps():
    frame = groups(
        territory_id=["007", "T3"],
        territory_name=["Harbour", "Lakes"],
        outlets_per_rep=[2.0, None],
        planned_calls_per_rep=[3.5, None],
    )

    figure = team_load_figure(frame)

    outlets, calls = figure.data
    assert list(outlets.text) == ["2.0", "no reps"]
    assert list(calls.text) == ["3.5", "no reps"]
    # A zero-length bar carries the label, so it is drawn beside the axis.
    assert list(outlets.x) == [2.0, 0.0]


def test_coverage_strike_axes_stop_near_full():
    frame = groups(
        territory_id=["007", "12.1"],
        territory_name=["Harbour", None],
        region_label=["North (N)", "North (N)"],
        coverage=[1.0, 0.25],
        strike_rate=[0.5, 1.0],
        order_value=[900.0, 10.0],
        reps=[2, 1],
        outlets_per_rep=[2.0, 3.0],
        planned_calls_per_rep=[4.0, 5.0],
    )

    figure = coverage_strike_figure(frame, "territory_id", "region_label")

    assert list(figure.layout.xaxis.range) == [-0.08, 1.12]
    assert list(figure.layout.yaxis.range) == [-0.08, 1.12]


def test_status_mix_uses_status_colours():
    frame = groups(
        territory_id=["007"],
        territory_name=["Harbour"],
        **{f"{status}_outlets": [1] for status in STATUSES},
    )

    figure = status_mix_figure(frame)

    result = {trace.name: trace.marker.color for trace in figure.data}
    expected = {
        "Visited": STATUS_COLOURS["visited"],
        "Skipped": STATUS_COLOURS["skipped"],
        "Unplanned": STATUS_COLOURS["unplanned"],
        "Neglected": STATUS_COLOURS["neglected"],
        "Not due": STATUS_COLOURS["not_due"],
    }
    assert result == expected


def test_heatmap_rows_follow_labels():
    weeks = [date(2026, 2, 23), date(2026, 3, 2)]
    shares = pd.DataFrame(
        [[0.5, 0.75], [None, None]], index=["007", "T3"], columns=weeks
    )

    figure = coverage_heatmap(shares, ["Harbour (007)", "Lakes (T3)"])

    heatmap = figure.data[0]
    assert list(figure.layout.yaxis.categoryarray) == ["Harbour (007)", "Lakes (T3)"]
    assert list(figure.layout.xaxis.categoryarray) == ["23 Feb", "02 Mar"]
    assert [list(row) for row in heatmap.z] == [[0.5, 0.75], [None, None]]
    assert [list(row) for row in heatmap.text] == [["50%", "75%"], ["–", "–"]]
    assert (heatmap.zmin, heatmap.zmax) == (0, 1)


@pytest.mark.parametrize(
    ("name", "value", "change", "expected"),
    [
        ("coverage", 0.635, 0.25, ("64%", "+25 pts")),
        ("order_value", 1234.5, -70.0, ("₹1,235", "-₹70")),
        ("order_value", 80.0, -0.4, ("₹80", "+₹0")),
        ("visits", 7, 0, ("7", "+0")),
        ("outlets_per_rep", 2.26, 0.5, ("2.3", "+0.5")),
        ("strike_rate", None, None, ("–", "–")),
    ],
)
def test_format_value_and_change(name, value, change, expected):
    kpi = KPIS[name]

    result = (format_value(kpi, value, "₹"), format_change(kpi, change, "₹"))

    assert result == expected


def test_coverage_strike_escapes_a_label_colour_once():
    frame = groups(
        territory_id=["N&E"],
        territory_name=["North & East"],
        coverage=[0.5],
        strike_rate=[0.5],
        order_value=[900.0],
        reps=[2],
        outlets_per_rep=[2.0],
        planned_calls_per_rep=[4.0],
    )

    figure = coverage_strike_figure(frame, "territory_id", "label")

    assert [trace.name for trace in figure.data] == ["North &amp; East (N&amp;E)"]
    assert "bubble_size" not in figure.data[0].hovertemplate
