"""Stop a command on Ctrl-C or SIGTERM, and remember that it was stopped.

SQLite turns an exception raised in one of the Python functions it calls
(dialect.register_sqlite_functions) into an OperationalError, "user-defined
function raised exception". A signal that lands there reaches the command as
that error, so StopSignals records each signal that it turns into an
exception, and the command can report a stop rather than a failure.
"""

import signal
from types import TracebackType


class StopSignals:
    """Inside the block, SIGTERM and SIGINT raise KeyboardInterrupt, and
    received lists the signals in order. The handlers
    set before the block are restored after it. Must be used in the main
    thread, as signal.signal requires.
    """

    def __init__(self) -> None:
        self.received: list[int] = []
        self._handlers_before: dict[int, object] = {}

    def __enter__(self) -> "StopSignals":
        self._handlers_before[signal.SIGTERM] = signal.signal(
            signal.SIGTERM, self._stop
        )
        # A shell starts a background job with SIGINT ignored, and the
        # command keeps it ignored.
        if signal.getsignal(signal.SIGINT) is signal.default_int_handler:
            self._handlers_before[signal.SIGINT] = signal.signal(
                signal.SIGINT, self._stop
            )
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        for signal_number, handler in self._handlers_before.items():
            signal.signal(signal_number, handler)

    @property
    def exit_code(self) -> int | None:
        """Return 128 plus the first signal received, as a shell reports it,
        or None when no signal came."""
        return 128 + self.received[0] if self.received else None

    def _stop(self, signal_number: int, frame: object) -> None:
        self.received.append(signal_number)
        raise KeyboardInterrupt
