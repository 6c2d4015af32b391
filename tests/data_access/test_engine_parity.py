"""The same files loaded into SQLite and PostgreSQL give the same report cells.

Local dates and weeks are computed from the IANA time zone database in
Python, so a daylight saving change dates a visit alike on both engines.
"""

import csv
import io
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa

from data_access import summaries
from data_access.engine import create_engine
from data_access.filters import Period, Scope, Settings
from data_access.load import load_directory
from data_access.queries import fetch_frame
from data_access.schema import TABLES
from fixtures.demo import MIN_REPS, generate
from metrics import reports
from metrics.report import write_csv

LAST_DAY = date(2026, 3, 29)
DEMO_PERIODS = [
    Period(date(2026, 3, 23), LAST_DAY, "Asia/Kolkata"),
    Period(date(2026, 3, 16), LAST_DAY, "Asia/Kolkata"),
    Period(date(2026, 3, 18), date(2026, 3, 26), "Asia/Kolkata"),
]
REPORTS = {
    "reps": (reports.reps_report, reports.REP_COLUMNS),
    "territories": (reports.territories_report, reports.TERRITORY_COLUMNS),
    "outlets": (reports.outlets_report, reports.OUTLET_COLUMNS),
}


def cell_text(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime):
        return value.isoformat(sep=" ")
    return str(value)


def export_tables(engine: sa.Engine, folder: Path) -> Path:
    """Write every table with rows as a loader file in folder.

    The loader rejects visits and orders of an outlet missing from the outlet
    master, which the demo has on purpose, so those rows stay out.
    """
    folder.mkdir()
    known_outlets = sa.select(TABLES["outlets"].c.outlet_id)
    with engine.connect() as connection:
        for name, table in TABLES.items():
            query = sa.select(table)
            if name in ("visits", "orders"):
                query = query.where(table.c.outlet_id.in_(known_outlets))
            rows = connection.execute(query).all()
            if not rows:
                continue
            with (folder / f"{name}.csv").open(
                "w", newline="", encoding="utf-8"
            ) as file:
                writer = csv.writer(file)
                writer.writerow(table.columns.keys())
                writer.writerows([cell_text(value) for value in row] for row in rows)
    return folder


def loaded_engine(url: str, folder: Path, timezone: str) -> sa.Engine:
    engine = create_engine(url)
    load_directory(engine, folder, "UTC")
    return engine


@contextmanager
def sqlite_and_postgres(
    folder: Path, sqlite_path: Path, postgres_url: str
) -> Iterator[list[sa.Engine]]:
    """Load the files of folder into a new SQLite file and into the PostgreSQL
    database, and yield the two engines."""
    engines = [
        loaded_engine(f"sqlite:///{sqlite_path}", folder, "UTC"),
        loaded_engine(postgres_url, folder, "UTC"),
    ]
    try:
        yield engines
    finally:
        for engine in engines:
            engine.dispose()


def report_csv(name: str, engine: sa.Engine, period: Period, settings: Settings) -> str:
    """The report as the report command prints it."""
    build, columns = REPORTS[name]
    stream = io.StringIO()
    write_csv(build(engine, period, Scope(), settings), columns, stream)
    return stream.getvalue()


def report_cells(engine: sa.Engine, period: Period, settings: Settings) -> dict:
    return {name: report_csv(name, engine, period, settings) for name in REPORTS}


@pytest.fixture(scope="module")
def demo_files(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("parity")
    engine = create_engine(f"sqlite:///{folder / 'source.sqlite'}")
    generate(engine, reps=MIN_REPS, weeks=3, end_date=LAST_DAY)
    files = export_tables(engine, folder / "files")
    engine.dispose()
    return files


@pytest.mark.parametrize("with_summaries", [False, True], ids=["raw", "summaries"])
def test_demo_reports_match_on_both_engines(
    demo_files, tmp_path, fresh_postgres_url, with_summaries
):
    settings = Settings(timezone="Asia/Kolkata")
    with sqlite_and_postgres(
        demo_files, tmp_path / "loaded.sqlite", fresh_postgres_url
    ) as engines:
        if with_summaries:
            for engine in engines:
                summaries.build_summaries(
                    engine, DEMO_PERIODS[1].start, LAST_DAY, settings
                )
        sqlite_cells, postgres_cells = (
            [report_cells(engine, period, settings) for period in DEMO_PERIODS]
            for engine in engines
        )

    assert "R0001" in sqlite_cells[0]["reps"]
    for period, result, expected in zip(DEMO_PERIODS, postgres_cells, sqlite_cells):
        for name in REPORTS:
            assert result[name] == expected[name], (period, name)


# Berlin switches to summer time at 02:00 on Sunday 2026-03-29, the last day
# of ISO week 13; Monday 03-30 starts week 14.
DST_FILES = {
    "territories.csv": "territory_id,name,region_id\nT1,Mitte,R1\n",
    "reps.csv": "rep_id,name,territory_id\nr1,Anna,T1\n",
    "outlets.csv": "outlet_id,name,territory_id\no1,Kiosk 1,T1\no2,Kiosk 2,T1\n",
    "beats.csv": (
        "beat_id,rep_id,weekday,every_n_weeks,start_date\n"
        "b7,r1,7,1,2026-03-01\nb1,r1,1,1,2026-03-02\n"
    ),
    "beat_outlets.csv": "beat_id,outlet_id\nb7,o1\nb1,o2\n",
    "visits.csv": (
        "visit_id,rep_id,outlet_id,check_in\n"
        # 22:30 UTC on Saturday is 23:30 CET: still Saturday 03-28 (off-beat).
        "v1,r1,o2,2026-03-28T22:30:00Z\n"
        # 23:30 UTC on Saturday is 00:30 CET on Sunday 03-29: o1's beat day.
        "v2,r1,o1,2026-03-28T23:30:00Z\n"
        # 21:30 UTC on Sunday is 23:30 CEST, still Sunday 03-29 (off-beat).
        "v3,r1,o2,2026-03-29T21:30:00Z\n"
        # 22:30 UTC on Sunday is 00:30 CEST on Monday 03-30, in week 14.
        "v4,r1,o2,2026-03-29T22:30:00Z\n"
    ),
    "orders.csv": (
        "order_id,outlet_id,rep_id,ordered_at,value\n"
        # No visit_id: dated Monday 03-30 in Berlin, so it links to v4.
        "a1,o2,r1,2026-03-30T05:00:00Z,40\n"
        # 22:59 UTC on Sunday is 00:59 CEST on Monday: week 14, no visit link.
        "a2,o1,r1,2026-03-29T22:59:00Z,10\n"
    ),
}
DST_EXPECTED = {
    # Week 13: o2 planned on Monday 03-23 and o1 on Sunday 03-29; v1 (Saturday)
    # and v3 (Sunday) visit o2 off-beat, v2 makes Sunday's call to o1.
    date(2026, 3, 23): "r1,Anna,T1,3,0,0,2,1,0.5,2,0,2,0,0,,,0,0",
    # Week 14: v4 makes Monday's call to o2, productive by a1 (no lines); o1's
    # Sunday call on 04-05 is skipped; a2 counts as an order too.
    date(2026, 3, 30): "r1,Anna,T1,1,1,1,2,1,0.5,2,1,0,50,2,25,0,0,0",
}


@pytest.mark.parametrize("week_start", list(DST_EXPECTED))
def test_daylight_saving_week_on_both_engines(tmp_path, fresh_postgres_url, week_start):
    folder = tmp_path / "files"
    folder.mkdir()
    for name, text in DST_FILES.items():
        (folder / name).write_text(text, encoding="utf-8")
    settings = Settings(timezone="Europe/Berlin")
    period = Period(week_start, week_start + timedelta(days=6), "Europe/Berlin")
    with sqlite_and_postgres(
        folder, tmp_path / "dst.sqlite", fresh_postgres_url
    ) as engines:
        result = [
            report_csv("reps", engine, period, settings).splitlines()[1]
            for engine in engines
        ]

    expected = DST_EXPECTED[week_start]
    assert result == [expected, expected]


@pytest.mark.parametrize("engine_name", ["sqlite", "postgresql"])
def test_money_sums_are_floats(engine_name, tmp_path, request):
    url = (
        f"sqlite:///{tmp_path / 'money.sqlite'}"
        if engine_name == "sqlite"
        else request.getfixturevalue("fresh_postgres_url")
    )
    engine = create_engine(url)
    money = sa.cast(sa.literal("1250.50"), sa.Numeric(14, 2))
    try:
        frame = fetch_frame(engine, "money", sa.select(money.label("order_value")))
    finally:
        engine.dispose()

    result = (str(frame["order_value"].dtype), frame["order_value"].iloc[0] - 0.5)
    assert result == ("float64", 1250.0)
