"""The shared chart theme: one Plotly template, the same palettes as config.toml."""

import tomllib
from pathlib import Path

import plotly.express as px
import plotly.io as pio

from pages import theme

CONFIG = Path(__file__).resolve().parents[2] / ".streamlit" / "config.toml"


def test_config_repeats_theme_palettes():
    config = tomllib.loads(CONFIG.read_text(encoding="utf-8"))["theme"]

    assert config["chartCategoricalColors"] == theme.CATEGORICAL_COLOURS
    assert config["chartSequentialColors"] == theme.SEQUENTIAL_COLOURS


def test_template_is_default():
    result = pio.templates.default

    assert result == "beatboard"


def test_new_figures_use_palettes():
    figure = px.bar(x=["007", "12.1"], y=[1, 2], color=["a", "b"])

    layout = figure.layout.template.layout
    assert list(layout.colorway) == theme.CATEGORICAL_COLOURS
    assert [
        colour for _, colour in layout.colorscale.sequential
    ] == theme.SEQUENTIAL_COLOURS
    assert [bar.marker.color for bar in figure.data] == theme.CATEGORICAL_COLOURS[:2]


def test_chart_config_names_png():
    result = theme.chart_config("territories-by-coverage")["toImageButtonOptions"]

    assert result == {
        "format": "png",
        "filename": "territories-by-coverage",
        "scale": 2,
    }
