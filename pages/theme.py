"""One look for every chart: the "beatboard" Plotly template.

Importing this module registers the template and makes it Plotly's default,
so every figure built afterwards, on any page, uses the same palettes.
dashboard.py imports it once.

The colours are chosen for viewers with the common colour-vision
deficiencies and for washed-out projectors:

- series: the Okabe-Ito palette (Okabe and Ito, "Color Universal Design",
  2008), the same one the outlet statuses use;
- continuous scales: cividis (Nuñez, Anderton and Renslow, PLOS ONE 2018),
  which changes in lightness from end to end, so a heat map still reads in
  grey scale.

.streamlit/config.toml repeats both lists as chartCategoricalColors and
chartSequentialColors, because Streamlit draws its own charts and its chart
theme from there. A test keeps the two in step. Streamlit's
chart theme (st.plotly_chart's default theme="streamlit") still sets fonts,
backgrounds and grid lines from config.toml, so pages keep that default.
"""

import copy

import plotly.graph_objects as go
import plotly.io as pio

# Imported for its side effect: it registers Streamlit's "streamlit" Plotly
# template, which this one extends.
import streamlit  # noqa: F401

TEMPLATE_NAME = "beatboard"

CATEGORICAL_COLOURS = [
    "#0072B2",  # blue
    "#E69F00",  # orange
    "#009E73",  # bluish green
    "#CC79A7",  # reddish purple
    "#56B4E9",  # sky blue
    "#D55E00",  # vermilion
    "#F0E442",  # yellow
    "#000000",  # black
]
# plotly.colors.sequential.Cividis, dark blue to yellow, ten stops.
SEQUENTIAL_COLOURS = [
    "#00224e",
    "#123570",
    "#3b496c",
    "#575d6d",
    "#707173",
    "#8a8678",
    "#a59c74",
    "#c3b369",
    "#e1cc55",
    "#fee838",
]
# Below, at and above a reference, for changes: vermilion, grey, blue.
DIVERGING_COLOURS = ["#D55E00", "#F2F2F2", "#0072B2"]

# PNG downloads from the chart's toolbar: twice the screen size, so a chart
# pasted into slides stays sharp on a projector.
PNG_SCALE = 2


def colour_scale(colours: list[str]) -> list[list[float | str]]:
    """Spread colours evenly from 0 to 1 as a Plotly colour scale."""
    last = len(colours) - 1
    return [[index / last, colour] for index, colour in enumerate(colours)]


def beatboard_template() -> go.layout.Template:
    """Build Streamlit's Plotly template with Beatboard's palettes, margins and legend."""
    base = pio.templates["streamlit"] if "streamlit" in pio.templates else None
    template = copy.deepcopy(base) if base is not None else go.layout.Template()
    sequential = colour_scale(SEQUENTIAL_COLOURS)
    template.layout.update(
        colorway=CATEGORICAL_COLOURS,
        colorscale={
            "sequential": sequential,
            "sequentialminus": sequential,
            "diverging": colour_scale(DIVERGING_COLOURS),
        },
        coloraxis={"colorscale": sequential},
        hoverlabel={"namelength": -1},
        # Plotly leaves 100 px above the plot for a title. The pages name charts
        # in headings and tabs instead, so the top margin only needs the legend.
        margin={"t": 48, "b": 48},
        legend={
            "orientation": "h",
            "x": 0,
            "y": 1.02,
            "yanchor": "bottom",
            "title": None,
        },
    )
    template.data.heatmap = [go.Heatmap(colorscale=sequential)]
    template.data.bar = [go.Bar(marker={"line": {"width": 0}})]
    return template


def chart_config(filename: str) -> dict:
    """Return st.plotly_chart's config, whose toolbar camera button saves filename.png."""
    return {
        "displaylogo": False,
        "toImageButtonOptions": {
            "format": "png",
            "filename": filename,
            "scale": PNG_SCALE,
        },
    }


def register() -> None:
    """Register the template and make it the default of every new figure."""
    pio.templates[TEMPLATE_NAME] = beatboard_template()
    pio.templates.default = TEMPLATE_NAME


register()
