"""A one-line progress bar for long loads, drawn only on a terminal.

Redirected to a file or a pipe, the bar draws nothing, so logs and CI output
stay free of carriage returns.
"""

import sys
import time
from collections.abc import Callable
from types import TracebackType
from typing import TextIO

BAR_WIDTH = 30
# Redrawing more often than this costs time and shows nothing new.
MIN_REDRAW_SECONDS = 0.2


class ProgressBar:
    """A bar such as `checking visits.csv [#####.....] 52% 520,311 rows`.

    Use it as a context manager: leaving it erases the bar, so the next log
    line starts on a clean line.
    """

    def __init__(
        self,
        label: str,
        stream: TextIO | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.label = label
        self.stream = sys.stderr if stream is None else stream
        self.enabled = self.stream.isatty()
        self._clock = clock
        self._last_drawn: float | None = None
        self._width_drawn = 0

    def __enter__(self) -> "ProgressBar":
        return self

    def __exit__(
        self,
        error_type: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    def update(self, fraction: float | None, rows: int) -> None:
        """Redraw the bar at fraction (0 to 1) of the work, with rows done so far.

        With fraction None, when the size of the work is unknown, only the
        label and the rows are drawn.
        """
        if not self.enabled:
            return
        now = self._clock()
        if self._last_drawn is not None and now - self._last_drawn < MIN_REDRAW_SECONDS:
            return
        self._last_drawn = now

        if fraction is None:
            text = f"{self.label} {rows:,} rows"
        else:
            fraction = min(1.0, max(0.0, fraction))
            filled = round(fraction * BAR_WIDTH)
            text = (
                f"{self.label} [{'#' * filled}{'.' * (BAR_WIDTH - filled)}] "
                f"{fraction:4.0%} {rows:,} rows"
            )
        padding = " " * max(0, self._width_drawn - len(text))
        self.stream.write(f"\r{text}{padding}")
        self.stream.flush()
        self._width_drawn = len(text)

    def close(self) -> None:
        """Erase the bar, if one was drawn."""
        if self._width_drawn:
            self.stream.write("\r" + " " * self._width_drawn + "\r")
            self.stream.flush()
            self._width_drawn = 0
