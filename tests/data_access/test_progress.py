"""The loader's progress bar: drawn on a terminal, throttled, erased at the end."""

import io

from data_access.progress import ProgressBar


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_bar_redraws_at_most_five_times_a_second() -> None:
    stream, clock = Terminal(), Clock()

    with ProgressBar("checking visits.csv", stream, clock) as bar:
        bar.update(0.1, 100_000)
        clock.now = 0.1
        bar.update(0.2, 200_000)
        clock.now = 0.3
        bar.update(0.5, 500_000)

    first = "checking visits.csv [###...........................]  10% 100,000 rows"
    second = "checking visits.csv [###############...............]  50% 500,000 rows"
    expected = f"\r{first}\r{second}\r{' ' * len(second)}\r"
    assert stream.getvalue() == expected


def test_bar_pads_over_longer_text() -> None:
    stream, clock = Terminal(), Clock()
    bar = ProgressBar("x", stream, clock)

    bar.update(0.0, 1_000_000)
    clock.now = 1.0
    bar.update(1.0, 5)

    lines = stream.getvalue().split("\r")[1:]
    assert lines == [
        "x [..............................]   0% 1,000,000 rows",
        "x [##############################] 100% 5 rows" + " " * 8,
    ]


def test_bar_draws_nothing_off_terminal() -> None:
    stream = io.StringIO()

    with ProgressBar("loading visits.csv", stream) as bar:
        bar.update(0.5, 10)

    assert stream.getvalue() == ""


def test_bar_without_fraction_shows_rows() -> None:
    stream, clock = Terminal(), Clock()

    with ProgressBar("checking visits.xlsx", stream, clock) as bar:
        bar.update(None, 155_000)

    text = "checking visits.xlsx 155,000 rows"
    assert stream.getvalue() == f"\r{text}\r{' ' * len(text)}\r"
