"""Time Beatboard's queries, pages and summary build on a large database.

    .venv/bin/python -m bench.run --db URL --last-day YYYY-MM-DD
        [--timezone TZ] [--region ID] [--build-weeks N] [--skip-build]
        [--skip-baseline-b] [--skip-pages] [--page-limit SECONDS]

The database is the demo company written by `python -m fixtures.demo` at the
size to measure, for example the national company:

    .venv/bin/python -m fixtures.demo --db sqlite:////tmp/national.sqlite \\
        --reps 2000 --weeks 52 --end-date 2026-03-29

The script builds the summary tables for the last --build-weeks weeks (13 by
default: the quarter), then times, on the week, the quarter (13 weeks) and
one region's week ending on --last-day:

- the reps, territories and outlets reports (metrics.reports, which read the
  summary tables when they cover the period), and the same reports from the
  raw tables;
- baseline (a): the period's visit and order rows read into pandas and
  counted per rep there;
- baseline (b): the whole visits and orders tables read into pandas;
- every dashboard page through Streamlit's AppTest, with a cold cache and
  then cached, each page in a process of its own with a time limit
  (bench.pages, which also measures a streamlit server's peak memory).

It prints a Markdown table. Keep the database outside the repository.
"""

import argparse
import gc
import resource
import statistics
import time
from collections.abc import Callable
from datetime import date, timedelta
from functools import partial

import pandas as pd
import sqlalchemy as sa

from bench import pages
from data_access import queries, schema, summaries
from data_access.engine import create_engine
from data_access.filters import Period, Scope, Settings
from metrics import reports


def timed(action: Callable[[], object], repeat: int = 1) -> float:
    """Median seconds of `repeat` runs of action."""
    times = []
    for _ in range(repeat):
        gc.collect()
        started = time.perf_counter()
        action()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def peak_memory_mb() -> float:
    # ru_maxrss is in KiB on Linux.
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def build_summaries(url: str, first: date, last: date, settings: Settings) -> None:
    """Build the summaries of [first, last] on an engine of their own."""
    engine = create_engine(url)
    try:
        summaries.build_summaries(engine, first, last, settings)
    finally:
        engine.dispose()


def baseline_period_rows(engine: sa.Engine, period: Period) -> pd.DataFrame:
    """Baseline (a): read the period's visits and orders, count per rep in pandas."""
    visits, orders = schema.visits, schema.orders
    with engine.connect() as connection:
        visit_rows = pd.read_sql(
            sa.select(visits).where(
                visits.c.check_in >= period.utc_start,
                visits.c.check_in < period.utc_end,
            ),
            connection,
        )
        order_rows = pd.read_sql(
            sa.select(orders).where(
                orders.c.ordered_at >= period.utc_start,
                orders.c.ordered_at < period.utc_end,
            ),
            connection,
        )
    visit_counts = visit_rows.groupby("rep_id").size().rename("visits")
    positive = order_rows[order_rows["value"] > 0]
    order_value = positive.groupby("rep_id")["value"].sum().rename("order_value")
    return pd.concat([visit_counts, order_value], axis=1)


def baseline_whole_tables(engine: sa.Engine) -> int:
    """Baseline (b): read the whole visits and orders tables into pandas."""
    with engine.connect() as connection:
        visit_rows = pd.read_sql(sa.select(schema.visits), connection)
        order_rows = pd.read_sql(sa.select(schema.orders), connection)
    return len(visit_rows) + len(order_rows)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench.run", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--db", required=True, metavar="URL")
    parser.add_argument("--last-day", required=True, type=date.fromisoformat)
    parser.add_argument("--timezone", default="Asia/Kolkata")
    parser.add_argument("--region", default="WEST")
    parser.add_argument("--build-weeks", type=int, default=13)
    parser.add_argument("--skip-build", action="store_true")
    parser.add_argument("--skip-baseline-b", action="store_true")
    parser.add_argument("--skip-pages", action="store_true")
    parser.add_argument(
        "--page-limit", type=float, default=120.0,
        help="seconds a page may take in the pages pass before it is stopped",
    )  # fmt: skip
    arguments = parser.parse_args(argv)

    # The reports and baselines run as the dashboard and the report command
    # run their reads, without PostgreSQL's JIT compilation. The build keeps
    # the server's setting, as the summaries command does.
    engine = create_engine(arguments.db)
    settings = Settings(timezone=arguments.timezone)
    last = arguments.last_day
    week = Period(last - timedelta(days=6), last, arguments.timezone)
    quarter = Period(last - timedelta(weeks=13, days=-1), last, arguments.timezone)
    rows: list[tuple[str, str, float]] = []

    if not arguments.skip_build:
        first = last - timedelta(weeks=arguments.build_weeks, days=-1)
        seconds = timed(lambda: build_summaries(arguments.db, first, last, settings))
        rows.append(("summary build", f"{arguments.build_weeks} weeks", seconds))

    scopes = {"week": (week, Scope()), "quarter": (quarter, Scope()),
              "region-week": (week, Scope(region_ids=(arguments.region,)))}  # fmt: skip
    builders = {
        "reps": reports.reps_report,
        "territories": reports.territories_report,
        "outlets": reports.outlets_report,
    }
    for label, (period, scope) in scopes.items():
        for name, build in builders.items():
            seconds = timed(partial(build, engine, period, scope, settings), repeat=3)
            rows.append((f"{name} report", label, seconds))
        raw = timed(partial(queries.rep_activity, engine, period, scope, settings))
        rows.append(("reps counts, raw tables", label, raw))
        if label != "region-week":
            baseline = timed(partial(baseline_period_rows, engine, period))
            rows.append(("baseline (a)", label, baseline))

    if not arguments.skip_baseline_b:
        rows.append(
            (
                "baseline (b)",
                "whole tables",
                timed(lambda: baseline_whole_tables(engine)),
            )
        )
        rows.append(("peak memory after (b), MB", "", peak_memory_mb()))

    print("| step | period | seconds |\n| --- | --- | --- |")
    for step, period_label, seconds in rows:
        print(f"| {step} | {period_label} | {seconds:.3f} |")

    engine.dispose()
    if not arguments.skip_pages:
        print()
        page_times = pages.time_pages(
            arguments.db, arguments.timezone, week.start, arguments.page_limit, 3
        )
        pages.print_page_table(page_times)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
