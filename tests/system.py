"""What the test harnesses take from the machine: free ports, log tails and
the rule for system packages that are missing."""

import os
import socket
from pathlib import Path
from typing import NoReturn

import pytest


def free_port() -> int:
    """Return a TCP port on 127.0.0.1 that no process listens on right now.

    NOTE: another process may take the port before the server binds it. The
    server then fails to start, and its log names the port.
    """
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def log_tail(path: Path, lines: int = 40) -> str:
    """Return the last lines of a server's log file, or a note when it is absent."""
    if not path.exists():
        return f"(no log file at {path})"
    text = path.read_text(encoding="utf-8", errors="replace")
    return "\n".join(text.splitlines()[-lines:])


def skip_missing(reason: str) -> NoReturn:
    """Skip the test because a system package is missing, or fail it under CI.

    CI installs every package the tests need, so a skip there would hide a broken
    install step behind a green run.
    """
    if os.environ.get("CI") == "true":
        pytest.fail(f"{reason}. With CI=true this is an error: .ci/run installs it.")
    pytest.skip(reason)
