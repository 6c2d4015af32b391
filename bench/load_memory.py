"""Measure the loader's peak memory on a million visit rows.

    .venv/bin/python bench/load_memory.py [--reps 1500] [--weeks 14] [--workdir DIR]

Builds a demo company with the seeded generator (1,500 reps over 14 weeks is
about 1.07 million visits), exports every table as the loader's CSV files,
then loads them into a new SQLite database with `python -m data_access.load
--skip-invalid` in a child process and reports the child's peak resident
memory and the wall time. The loader must stay under MEMORY_LIMIT_MB.
--skip-invalid is needed because the demo contains two visits to an outlet that
is not in the outlet master yet, which the loader rejects.
"""

import argparse
import logging
import platform
import resource
import shutil
import sqlite3
import subprocess
import sys
import time
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

MEMORY_LIMIT_MB = 1_536
EXPORT_CHUNK_ROWS = 100_000
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


def load_in_child(directory: Path, database: Path) -> tuple[float, float, str]:
    """Run the loader on directory; return (peak RSS in MB, seconds, its stdout)."""
    command = [
        sys.executable,
        "-m",
        "data_access.load",
        "--skip-invalid",
        "--db",
        f"sqlite:///{database}",
        str(directory),
    ]
    started = time.perf_counter()
    result = subprocess.run(
        command, cwd=REPOSITORY, capture_output=True, text=True, check=False
    )
    elapsed = time.perf_counter() - started
    if result.returncode != 0:
        raise RuntimeError(f"the loader failed:\n{result.stderr}")
    # On Linux ru_maxrss is in KiB, and RUSAGE_CHILDREN reports the largest
    # child waited for, which is the loader.
    peak_kib = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return peak_kib / 1024, elapsed, result.stdout


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--reps", type=int, default=1_500, help="demo reps (default 1500)"
    )
    parser.add_argument(
        "--weeks", type=int, default=14, help="demo weeks (default 14)"
    )
    parser.add_argument(
        "--workdir",
        type=Path,
        default=Path("/tmp/beatboard-load-bench"),
        help="scratch folder, emptied first (default /tmp/beatboard-load-bench)",
    )
    arguments = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")

    workdir: Path = arguments.workdir
    shutil.rmtree(workdir, ignore_errors=True)
    workdir.mkdir(parents=True)
    counts = build_source(workdir / "source.sqlite", arguments.reps, arguments.weeks)
    export_tables(workdir / "source.sqlite", workdir / "csv")
    csv_mb = sum(p.stat().st_size for p in (workdir / "csv").iterdir()) / 1024**2

    peak_mb, seconds, summary = load_in_child(
        workdir / "csv", workdir / "loaded.sqlite"
    )
    print(
        f"machine: {platform.processor() or platform.machine()}, "
        f"Python {platform.python_version()}, SQLite {sqlite3.sqlite_version}"
    )
    print(
        f"files: {csv_mb:,.0f} MB of CSV; visits {counts['visits']:,}, "
        f"orders {counts['orders']:,}, outlets {counts['outlets']:,}"
    )
    print(summary, end="")
    print(
        f"loader: {seconds:,.0f} s, peak resident memory {peak_mb:,.0f} MB "
        f"(limit {MEMORY_LIMIT_MB:,} MB)"
    )
    return 0 if peak_mb < MEMORY_LIMIT_MB else 1


if __name__ == "__main__":
    sys.exit(main())
