"""Print the reps, territories or outlets report of a period as CSV.

    python -m metrics.report {reps,territories,outlets} --db URL --from DATE
        --to DATE [--timezone TZ] [--neglect-days N] [--region ID]
        [--territory ID] [--rep ID] [--as-user EMAIL]

Ratios are fractions (0.6, not 60 %), blank when undefined. Without
--as-user the report covers everything, as an administrator would see it,
since anyone who runs it already holds the database credentials.
"""

import argparse
import csv
import logging
import os
import sys
from datetime import date

import pandas as pd
import sqlalchemy as sa

from data_access import queries
from data_access.access import AccessError, scope_for_user
from data_access.engine import DatabaseURLError, create_engine, parse_database_url
from data_access.filters import Period, Scope, Settings, check_timezone
from metrics.reports import (
    OUTLET_COLUMNS,
    REP_COLUMNS,
    TERRITORY_COLUMNS,
    outlets_report,
    reps_report,
    territories_report,
)

REPORTS = {
    "reps": (reps_report, REP_COLUMNS),
    "territories": (territories_report, TERRITORY_COLUMNS),
    "outlets": (outlets_report, OUTLET_COLUMNS),
}


def _iso_date(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a valid date; use YYYY-MM-DD, such as 2026-03-02"
        ) from None


def _timezone(text: str) -> str:
    try:
        return check_timezone(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def _positive_days(text: str) -> int:
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a valid number of days; use a whole number of 1 or more"
        )
    return int(text)


def build_parser() -> argparse.ArgumentParser:
    """Build the argument parser of the report command."""
    parser = argparse.ArgumentParser(
        prog="python -m metrics.report",
        description="Print a Beatboard report for a period as CSV on standard output.",
    )
    parser.add_argument("report", choices=sorted(REPORTS), help="which report to print")
    parser.add_argument(
        "--db", required=True, metavar="URL", help="SQLAlchemy URL of the database"
    )
    parser.add_argument(
        "--from",
        dest="start",
        required=True,
        type=_iso_date,
        metavar="DATE",
        help="first local date of the period, YYYY-MM-DD",
    )
    parser.add_argument(
        "--to",
        dest="end",
        required=True,
        type=_iso_date,
        metavar="DATE",
        help="last local date of the period, YYYY-MM-DD (inclusive)",
    )
    parser.add_argument(
        "--timezone",
        default="UTC",
        type=_timezone,
        metavar="TZ",
        help="business time zone, an IANA name (default UTC)",
    )
    parser.add_argument(
        "--neglect-days",
        type=_positive_days,
        default=28,
        metavar="N",
        help="days without a visit before an active outlet is neglected, for every "
        "outlet class (default 28)",
    )
    parser.add_argument("--region", metavar="ID", help="only this region_id")
    parser.add_argument("--territory", metavar="ID", help="only this territory_id")
    parser.add_argument(
        "--rep", metavar="ID", help="only this rep_id and its territory"
    )
    parser.add_argument(
        "--as-user",
        metavar="EMAIL",
        help="apply the scope of this users row (default: everything, as an admin)",
    )
    return parser


# Significant digits of a float in the reports (see format_cell).
SIGNIFICANT_DIGITS = 12


def format_cell(value: object) -> str:
    """Format one report value for CSV: blank when missing, floats without noise."""
    # pd.isna also finds NaT, which a date column holds when every value of
    # it is missing, such as last_visit_date of outlets without a visit.
    if value is None or (pd.api.types.is_scalar(value) and pd.isna(value)):
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        # Six decimals hide binary noise such as 0.30000000000000004. A value
        # that ends on a half at the seventh decimal, such as 116645.43 / 32,
        # would round either way with the noise of each engine's sum, so it
        # is rounded to nine decimals first. A sum of money in the hundreds
        # of millions carries noise at the sixth decimal that changes with
        # the order PostgreSQL's parallel workers add in, so every value is
        # first cut to 12 significant digits: cents up to 10,000,000,000.
        # Printing those digits only, and no more decimals, keeps the cut
        # value's own binary noise out: 23809527029.6 would print as
        # 23809527029.599998 with six decimals.
        value = float(f"{value:.{SIGNIFICANT_DIGITS}g}")
        integer_digits = len(str(int(abs(value)))) if abs(value) >= 1 else 0
        decimals = max(0, min(6, SIGNIFICANT_DIGITS - integer_digits))
        text = f"{round(value, 9):.{decimals}f}"
        if "." in text:
            text = text.rstrip("0").rstrip(".")
        return "0" if text in ("-0", "") else text
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


def write_csv(frame: pd.DataFrame, columns: list[str], stream) -> None:
    """Write the report columns of frame as CSV with a header row."""
    writer = csv.writer(stream, lineterminator="\n")
    writer.writerow(columns)
    for row in frame[columns].itertuples(index=False):
        writer.writerow([format_cell(value) for value in row])


class UnknownFilterError(LookupError):
    """A --region, --territory or --rep value that names nothing in the database."""


def check_filter_ids(engine: sa.Engine, arguments: argparse.Namespace) -> None:
    """Raise UnknownFilterError for a filter id that is not in the database.

    Without this check a mistyped id prints a report with a header only.
    """
    everything = Scope()
    known = {
        "region": ("--region", queries.region_list(engine, everything)["region_id"]),
        "territory": (
            "--territory",
            queries.territory_list(engine, everything)["territory_id"],
        ),
        "rep": ("--rep", queries.rep_list(engine, everything)["rep_id"]),
    }
    for name, (option, ids) in known.items():
        value = getattr(arguments, name)
        if value is not None and value not in set(ids):
            raise UnknownFilterError(
                f"{option} {value!r} is not in the database; check the id "
                f"(ids are case-sensitive text)"
            )


def main(argv: list[str] | None = None) -> int:
    """Run the report command; return the process exit code."""
    parser = build_parser()
    arguments = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s"
    )

    try:
        period = Period(arguments.start, arguments.end, arguments.timezone)
    except ValueError as error:
        parser.error(str(error))
    settings = Settings(
        timezone=arguments.timezone, neglect_days=arguments.neglect_days
    )
    try:
        engine = create_engine(parse_database_url(arguments.db), read_only=True)
    except DatabaseURLError as error:
        parser.error(str(error))

    try:
        scope = (
            scope_for_user(engine, arguments.as_user)
            if arguments.as_user is not None
            else Scope()
        )
        check_filter_ids(engine, arguments)
        scope = scope.narrowed(
            region_ids=(arguments.region,) if arguments.region else None,
            territory_ids=(arguments.territory,) if arguments.territory else None,
            rep_ids=(arguments.rep,) if arguments.rep else None,
        )
        build, columns = REPORTS[arguments.report]
        frame = build(engine, period, scope, settings)
    except AccessError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    except UnknownFilterError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    except sa.exc.DBAPIError as error:
        print(
            "error: could not read the database: "
            f"{error.orig if error.orig is not None else error}. Check that --db "
            "names an existing Beatboard database (load one with python -m "
            "data_access.load or python -m fixtures.demo).",
            file=sys.stderr,
        )
        return 1
    finally:
        engine.dispose()

    try:
        write_csv(frame, columns, sys.stdout)
        sys.stdout.flush()
    except BrokenPipeError:
        # The reader (head, a closed pager) stopped early; that is not an error.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    return 0


if __name__ == "__main__":
    sys.exit(main())
