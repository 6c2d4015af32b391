"""What the load command prints when the summary refresh after its commit fails
or is stopped: the files are committed, so it must not say otherwise."""

import signal

import pytest
import sqlalchemy as sa

from data_access import load, summaries
from tests.data_access.test_weekly_health_counts import ROWS, SETTINGS, SPAN
from tests.database import signal_in_sqlite_functions, sqlite_database

REFRESH_STOPPED = (
    "and committed, but refreshing the summaries did not finish: it was stopped"
)
LATE_VISIT = "visit_id,rep_id,outlet_id,check_in\nlate1,r2,o2,2026-03-03T06:00:00Z\n"


@pytest.fixture
def summarised(tmp_path):
    """A summarised database and a folder with one visit for it."""
    engine = sqlite_database(tmp_path, ROWS)
    summaries.build_summaries(engine, SPAN.start, SPAN.end, SETTINGS)
    url = engine.url.render_as_string(hide_password=False)
    engine.dispose()
    folder = tmp_path / "files"
    folder.mkdir()
    (folder / "visits.csv").write_text(LATE_VISIT, encoding="utf-8")
    return url, folder


def late_visits(url: str) -> int:
    engine = sa.create_engine(url)
    with engine.connect() as connection:
        count = connection.execute(
            sa.text("SELECT count(*) FROM visits WHERE visit_id = 'late1'")
        ).scalar_one()
    engine.dispose()
    return count


def test_failed_refresh_reports_commit(summarised, monkeypatch, capsys):
    url, folder = summarised

    def failing(*arguments, **options):
        raise sa.exc.OperationalError("DELETE", {}, Exception("disk I/O error"))

    monkeypatch.setattr(load, "refresh_after_load", failing)

    exit_code = load.main(["--db", url, str(folder)])

    error = capsys.readouterr().err
    assert exit_code == 1
    assert (
        "and committed, but refreshing the summaries did not finish: it failed: "
        "disk I/O error" in error
    )
    assert "Nothing was committed" not in error
    assert late_visits(url) == 1


def load_as_from_terminal(url: str, folder) -> int:
    """Run the load command with the SIGINT handler a terminal gives it.

    A shell starts a background job with SIGINT ignored, and Python then
    raises no KeyboardInterrupt, so the handler is set for the run.
    """
    interrupt_before = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        return load.main(["--db", url, str(folder)])
    finally:
        signal.signal(signal.SIGINT, interrupt_before)


@pytest.mark.parametrize(
    ("signal_number", "expected_code"),
    [(signal.SIGINT, 130), (signal.SIGTERM, 143)],
)
def test_signal_in_refresh_reads_as_stopped(
    summarised, monkeypatch, capsys, signal_number, expected_code
):
    url, folder = summarised
    calls = signal_in_sqlite_functions(monkeypatch, signal_number)
    # One worker: the build runs on this thread, where the handler raises.
    monkeypatch.setattr(summaries, "MAX_DEFAULT_WORKERS", 1)
    exit_code = load_as_from_terminal(url, folder)

    assert calls
    assert exit_code == expected_code
    assert REFRESH_STOPPED in capsys.readouterr().err
    assert late_visits(url) == 1


@pytest.mark.parametrize(
    ("signal_number", "expected_code"),
    [(signal.SIGINT, 130), (signal.SIGTERM, 143)],
)
def test_signal_in_refresh_python_reads_as_stopped(
    summarised, monkeypatch, capsys, signal_number, expected_code
):
    url, folder = summarised

    def signalled(*arguments, **options):
        signal.raise_signal(signal_number)

    monkeypatch.setattr(load, "refresh_after_load", signalled)
    exit_code = load_as_from_terminal(url, folder)

    error = capsys.readouterr().err
    assert exit_code == expected_code
    assert REFRESH_STOPPED in error
    assert "Loading was stopped before the end" not in error
    assert late_visits(url) == 1
