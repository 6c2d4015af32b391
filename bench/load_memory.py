"""Measure the loader's speed and peak memory on a million visit rows.

    .venv/bin/python bench/load_memory.py [--reps 1500] [--weeks 14]
        [--workdir DIR] [--reuse-csv] [--postgres]

Builds a demo company with the seeded generator (1,500 reps over 14 weeks is
about 1.14 million visits and 0.75 million orders) and exports every table as
the loader's CSV files. It then loads them into a new database with `python
-m data_access.load --skip-invalid` in a child process. It reports the
peak resident memory of that child and its writing process together, the
wall time, the rows per second, each file's check and write time from the
loader's log, the load average and, from the rows per second, an estimate of
the time a national year of 18 million rows would take. The
database is a new SQLite file, or with --postgres a new database on the server
that the tests use (see tests/postgres_server.py). The loader must stay under
MEMORY_LIMIT_MB. --skip-invalid is needed because the demo contains two
visits to an outlet that is not in the outlet master yet, which the loader
rejects.
"""

import argparse
import logging
import os
import platform
import resource
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from pathlib import Path

import pandas as pd
import sqlalchemy as sa

REPOSITORY = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPOSITORY))

from data_access.engine import create_engine  # noqa: E402
from data_access.schema import TABLES  # noqa: E402
from fixtures.demo import generate  # noqa: E402

log = logging.getLogger("bench.load_memory")

MEMORY_LIMIT_MB = 1_000
SAMPLE_SECONDS = 0.05
EXPORT_CHUNK_ROWS = 100_000
# Visits and orders of a national distributor's year: 11 million and 7 million.
NATIONAL_YEAR_ROWS = 18_000_000
# A fixed end date keeps the generated company the same from run to run.
END_DATE = date(2026, 3, 8)


def build_source(path: Path, reps: int, weeks: int) -> dict[str, int]:
    """Write the demo company into a new SQLite file; return rows per table."""
    engine = create_engine(f"sqlite:///{path}")
    try:
        return generate(engine, reps=reps, weeks=weeks, seed=7, end_date=END_DATE)
    finally:
        engine.dispose()


def export_tables(source: Path, directory: Path) -> None:
    """Write each table of the source database as <table>.csv, in chunks."""
    directory.mkdir(parents=True, exist_ok=True)
    engine = create_engine(f"sqlite:///{source}")
    try:
        with engine.connect() as connection:
            for name, table in TABLES.items():
                _export_table(connection, table, directory / f"{name}.csv")
    finally:
        engine.dispose()


def _export_table(connection: sa.Connection, table: sa.Table, path: Path) -> None:
    integer_columns = [
        column.name for column in table.columns if isinstance(column.type, sa.Integer)
    ]
    header = True
    chunks = pd.read_sql(sa.select(table), connection, chunksize=EXPORT_CHUNK_ROWS)
    for chunk in chunks:
        # A missing value turns an integer column into floats ("3.0"), which
        # the loader rightly rejects; Int64 keeps whole numbers whole.
        chunk[integer_columns] = chunk[integer_columns].astype("Int64")
        chunk.to_csv(path, mode="w" if header else "a", header=header, index=False)
        header = False
    if header:
        path.write_text(",".join(table.columns.keys()) + "\n", encoding="utf-8")


@contextmanager
def target_database(workdir: Path, postgres: bool) -> Iterator[str]:
    """Yield the URL of a new, empty database to load into."""
    if not postgres:
        yield f"sqlite:///{workdir / 'loaded.sqlite'}"
        return
    from tests.postgres_server import fresh_database, postgres_server_url

    with postgres_server_url() as server_url, fresh_database(server_url) as url:
        yield url


def load_in_child(directory: Path, url: str) -> tuple[float, float, str, str]:
    """Run the loader on directory in a child process.

    Return (peak resident memory in MB, seconds, stdout, stderr). The peak is
    that of the loader and its writing process together, sampled every
    SAMPLE_SECONDS.
    """
    command = [
        sys.executable,
        "-m",
        "data_access.load",
        "--skip-invalid",
        "--db",
        url,
        str(directory),
    ]
    peak_kib = 0
    with tempfile.TemporaryFile() as stdout, tempfile.TemporaryFile() as stderr:
        started = time.perf_counter()
        process = subprocess.Popen(
            command, cwd=REPOSITORY, stdout=stdout, stderr=stderr
        )
        while process.poll() is None:
            peak_kib = max(peak_kib, tree_rss_kib(process.pid))
            time.sleep(SAMPLE_SECONDS)
        elapsed = time.perf_counter() - started
        stdout.seek(0)
        stderr.seek(0)
        out, err = stdout.read().decode(), stderr.read().decode()
    if process.returncode != 0:
        raise RuntimeError(f"the loader failed:\n{err}")
    # On Linux ru_maxrss is in KiB, and RUSAGE_CHILDREN reports the largest
    # process waited for, which samples between SAMPLE_SECONDS may miss.
    largest_kib = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return max(peak_kib, largest_kib) / 1024, elapsed, out, err


def tree_rss_kib(pid: int) -> int:
    """Return the resident memory of a process and its descendants, in KiB."""
    total = 0
    pending = [pid]
    while pending:
        current = pending.pop()
        try:
            status = Path(f"/proc/{current}/status").read_text()
            tasks = list(Path(f"/proc/{current}/task").iterdir())
            children = [
                int(child)
                for task in tasks
                for child in (task / "children").read_text().split()
            ]
        except OSError:
            continue  # The process ended meanwhile.
        for line in status.splitlines():
            if line.startswith("VmRSS:"):
                total += int(line.split()[1])
        pending += children
    return total


def file_times(log_text: str) -> list[str]:
    """Return the loader's log lines that time each file."""
    return [
        line.split(": ", 1)[1]
        for line in log_text.splitlines()
        if line.startswith("INFO") and (": loaded " in line or ": checked " in line)
    ]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--reps", type=int, default=1_500, help="number of demo reps (default 1500)"
    )
    parser.add_argument(
        "--weeks", type=int, default=14, help="number of demo weeks (default 14)"
    )
    parser.add_argument(
        "--workdir",
        type=Path,
        default=Path("/tmp/beatboard-load-bench"),
        help="scratch folder, emptied first (default /tmp/beatboard-load-bench)",
    )
    parser.add_argument(
        "--reuse-csv",
        action="store_true",
        help="load the CSV files of an earlier run in the workdir again",
    )
    parser.add_argument(
        "--postgres",
        action="store_true",
        help="load into a new PostgreSQL database in place of a SQLite file",
    )
    arguments = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")

    workdir: Path = arguments.workdir
    csv_directory = workdir / "csv"
    if not (arguments.reuse_csv and csv_directory.is_dir()):
        shutil.rmtree(workdir, ignore_errors=True)
        workdir.mkdir(parents=True)
        build_source(workdir / "source.sqlite", arguments.reps, arguments.weeks)
        export_tables(workdir / "source.sqlite", csv_directory)
    (workdir / "loaded.sqlite").unlink(missing_ok=True)
    csv_files = [
        path
        for path in csv_directory.glob("*.csv")
        if not path.name.endswith(".rejected.csv")
    ]
    csv_mb = sum(path.stat().st_size for path in csv_files) / 1024**2

    load_before = os.getloadavg()
    with target_database(workdir, arguments.postgres) as url:
        peak_mb, seconds, summary, log_text = load_in_child(csv_directory, url)
        engine_name = sa.make_url(url).get_backend_name()
    load_after = os.getloadavg()
    rows = sum(
        int(line.split(": ", 1)[1].split(" inserted")[0].replace(",", ""))
        for line in summary.splitlines()
    )
    print(
        f"machine: {platform.processor() or platform.machine()}, "
        f"{os.cpu_count()} CPUs, Python {platform.python_version()}, "
        f"SQLite {sqlite3.sqlite_version}; loading into {engine_name}"
    )
    print(f"files: {csv_mb:,.0f} MB of CSV")
    print(summary, end="")
    print("\n".join(file_times(log_text)))
    print(
        f"loader: {seconds:,.1f} s, {rows / seconds:,.0f} rows/s, peak resident "
        f"memory {peak_mb:,.0f} MB with its writing process "
        f"(limit {MEMORY_LIMIT_MB:,} MB)"
    )
    print(
        f"at this rate a national year ({NATIONAL_YEAR_ROWS / 1e6:,.0f} million "
        f"rows) would take about {NATIONAL_YEAR_ROWS * seconds / rows:,.0f} s "
        "(a linear estimate)"
    )
    print(
        f"load average before {load_before[0]:.2f}, after {load_after[0]:.2f} "
        "(1 minute)"
    )
    return 0 if peak_mb < MEMORY_LIMIT_MB else 1


if __name__ == "__main__":
    sys.exit(main())
