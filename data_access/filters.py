"""The values every query is bounded by: the period, the viewer's scope, settings."""

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError


def check_timezone(name: str) -> str:
    """Return an IANA time zone name unchanged, or raise ValueError naming it."""
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as error:
        raise ValueError(
            f"time zone {name!r} is not a known IANA name; "
            "use a name such as UTC, Europe/Berlin or Asia/Kolkata"
        ) from error
    return name


@dataclass(frozen=True)
class Settings:
    """Business settings that change how the KPIs count.

    timezone: IANA name of the business time zone; dates and weeks are local.
    week_start: ISO weekday weeks start on (1 is Monday).
    neglect_days: an outlet with no visit in this many days up to the period's
        last date is neglected.
    neglect_days_by_class: optional windows per outlet_class, such as
        (("A", 14), ("B", 28), ("C", 56)); other classes use neglect_days.
    off_site_m: a check-in farther than this many metres from the outlet is off-site.
    duplicate_window_s: two visits by one rep to one outlet whose check-ins
        are less than this many seconds apart are one visit (offline sync
        resends a visit under a new id).
    max_visit_hours: data health flags a visit whose check-out is more than
        this many hours after its check-in.
    max_speed_kmh: data health flags a visit reached from the rep's previous
        visit of the day faster than this many km/h.
    """

    timezone: str = "UTC"
    week_start: int = 1
    neglect_days: int = 28
    neglect_days_by_class: tuple[tuple[str, int], ...] = ()
    off_site_m: float = 300.0
    duplicate_window_s: float = 120.0
    currency_symbol: str = ""
    max_visit_hours: float = 12.0
    max_speed_kmh: float = 120.0

    def __post_init__(self) -> None:
        check_timezone(self.timezone)
        if not 1 <= self.week_start <= 7:
            raise ValueError(
                f"week_start {self.week_start} is invalid; use an ISO weekday, 1 to 7"
            )
        # Infinity passes the range check, so each limit must also be finite.
        limits = (
            ("off_site_m", self.off_site_m, "metres above 0", False),
            ("duplicate_window_s", self.duplicate_window_s, "seconds, 0 or more", True),
            ("max_visit_hours", self.max_visit_hours, "hours above 0", False),
            ("max_speed_kmh", self.max_speed_kmh, "km/h above 0", False),
        )
        for name, value, unit, zero_allowed in limits:
            in_range = value >= 0 if zero_allowed else value > 0
            if not (math.isfinite(value) and in_range):
                raise ValueError(f"{name} {value} is invalid; use a number of {unit}")
        for outlet_class, days in (
            (None, self.neglect_days),
            *self.neglect_days_by_class,
        ):
            if days < 1:
                label = (
                    "neglect_days" if outlet_class is None else f"class {outlet_class}"
                )
                raise ValueError(
                    f"{label}: neglect window {days} must be 1 day or more"
                )
        # The queries keep the last of two windows of a class, but the
        # summaries' rule text sorts them, so each class gets one window.
        for outlet_class, _ in self.neglect_days_by_class:
            days = [d for name, d in self.neglect_days_by_class if name == outlet_class]
            if len(days) > 1:
                listed = ", ".join(str(d) for d in days)
                raise ValueError(
                    f"neglect_days_by_class: class {outlet_class} has {len(days)} "
                    f"neglect windows ({listed} days); give each outlet_class one window"
                )


def parse_class_windows(value: object) -> tuple[tuple[str, int], ...]:
    """Read neglect windows per outlet_class: a table {A = 14, C = 56} from
    secrets.toml, or text such as "A=14,B=28,C=56" from the environment.

    Raises ValueError naming the entry and the expected form.
    """
    if isinstance(value, Mapping):
        entries = [(str(key), value[key]) for key in value]
    else:
        entries = []
        for part in str(value).split(","):
            if not part.strip():
                continue
            outlet_class, separator, days = part.partition("=")
            if not separator or not outlet_class.strip():
                raise ValueError(
                    f"neglect_days_by_class entry {part.strip()!r} is not CLASS=DAYS; "
                    "write it like A=14,B=28,C=56"
                )
            entries.append((outlet_class.strip(), days.strip()))
    windows = []
    for outlet_class, days in entries:
        try:
            windows.append((outlet_class, int(days)))
        except (TypeError, ValueError) as error:
            raise ValueError(
                f"neglect_days_by_class: class {outlet_class} has {days!r} days; "
                "use a whole number such as 14"
            ) from error
    return tuple(windows)


# Dates outside this range cannot be a business period, and the first and
# last dates Python can represent would overflow when converted to UTC.
FIRST_DATE = date(1900, 1, 1)
LAST_DATE = date(2999, 12, 31)


@dataclass(frozen=True)
class Period:
    """A closed range of local dates [start, end] in the business time zone."""

    start: date
    end: date
    timezone: str = "UTC"

    def __post_init__(self) -> None:
        for day in (self.start, self.end):
            if not FIRST_DATE <= day <= LAST_DATE:
                raise ValueError(
                    f"date {day} is outside the supported range {FIRST_DATE} to "
                    f"{LAST_DATE}; pick a date in it"
                )
        if self.end < self.start:
            raise ValueError(
                f"the period ends on {self.end} before it starts on {self.start}; "
                "swap the dates"
            )
        check_timezone(self.timezone)

    @property
    def days(self) -> list[date]:
        """Every local date of the period, in order."""
        return [
            self.start + timedelta(days=offset)
            for offset in range((self.end - self.start).days + 1)
        ]

    @property
    def utc_start(self) -> datetime:
        """Naive UTC instant of local midnight at the start of the first day."""
        return local_midnight_in_utc(self.start, self.timezone)

    @property
    def utc_end(self) -> datetime:
        """Naive UTC instant of local midnight after the last day (exclusive)."""
        return local_midnight_in_utc(self.end + timedelta(days=1), self.timezone)

    def previous(self) -> "Period":
        """The period of the same length that ends the day before this one starts."""
        length = self.end - self.start + timedelta(days=1)
        return Period(self.start - length, self.end - length, self.timezone)

    def shifted(self, weeks: int) -> "Period":
        """The period of the same length moved by whole weeks (negative: earlier)."""
        offset = timedelta(weeks=weeks)
        return Period(self.start + offset, self.end + offset, self.timezone)


def local_midnight_in_utc(day: date, timezone: str) -> datetime:
    """Return the naive UTC instant at which the local date day begins.

    Where daylight saving time skips midnight, the day begins at the
    transition, which is what zoneinfo returns for the skipped time.
    """
    local = datetime.combine(day, time(0), tzinfo=ZoneInfo(timezone))
    return local.astimezone(UTC).replace(tzinfo=None)


def week_containing(day: date, week_start: int = 1, timezone: str = "UTC") -> Period:
    """The 7-day week that contains day, starting on ISO weekday week_start."""
    start = day - timedelta(days=(day.isoweekday() - week_start) % 7)
    return Period(start, start + timedelta(days=6), timezone)


@dataclass(frozen=True)
class Scope:
    """The reps and outlets a query may see; None means no restriction.

    Outlets are scoped by territory. When reps are restricted by id or by
    manager, the outlets are those of the territories of those reps.
    """

    region_ids: tuple[str, ...] | None = None
    territory_ids: tuple[str, ...] | None = None
    rep_ids: tuple[str, ...] | None = None
    manager_id: str | None = None
    label: str = field(default="everything", compare=False)

    @property
    def limits_reps(self) -> bool:
        """True when reps are restricted beyond their territory."""
        return self.rep_ids is not None or self.manager_id is not None

    def narrowed(
        self,
        region_ids: tuple[str, ...] | None = None,
        territory_ids: tuple[str, ...] | None = None,
        rep_ids: tuple[str, ...] | None = None,
    ) -> "Scope":
        """This scope intersected with filters chosen by the viewer."""
        return Scope(
            region_ids=_intersect(self.region_ids, region_ids),
            territory_ids=_intersect(self.territory_ids, territory_ids),
            rep_ids=_intersect(self.rep_ids, rep_ids),
            manager_id=self.manager_id,
            label=self.label,
        )


def _intersect(
    allowed: tuple[str, ...] | None, chosen: tuple[str, ...] | None
) -> tuple[str, ...] | None:
    if allowed is None:
        return chosen
    if chosen is None:
        return allowed
    return tuple(value for value in chosen if value in allowed)
