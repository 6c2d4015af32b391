"""The users row of a login e-mail, matched without regard to case on every
engine: SQLite, a PostgreSQL database with the C locale, and one with ICU's
English rules, whose lower() also folds letters beyond ASCII."""

import pytest

from data_access.queries import user_by_id
from tests.database import fill_database

USERS = [
    {"user_id": "Ärzte.Lead@x.example", "name": "Jörg", "role": "admin"},
    {"user_id": "ÉLODIE@x.example", "name": "Élodie", "role": "admin"},
    {"user_id": "ann@x.example", "name": "Ann", "role": "admin"},
]


@pytest.fixture(params=["sqlite", "postgres_c", "postgres_icu"])
def engine(request, tmp_path):
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'sfa.sqlite'}"
    elif request.param == "postgres_c":
        url = request.getfixturevalue("fresh_postgres_url")
    else:
        url = request.getfixturevalue("english_postgres_url")
    engine = fill_database(url, {"users": USERS})
    yield engine
    engine.dispose()


@pytest.mark.parametrize(
    ("email", "expected"),
    [
        ("Ärzte.Lead@x.example", "Ärzte.Lead@x.example"),
        ("ärzte.lead@X.EXAMPLE", "Ärzte.Lead@x.example"),
        ("  élodie@x.example ", "ÉLODIE@x.example"),
        ("ANN@x.example", "ann@x.example"),
    ],
)
def test_email_matches_any_case(engine, email, expected):
    user = user_by_id(engine, email)

    assert user is not None
    assert user["user_id"] == expected


def test_unknown_email_matches_nothing(engine):
    assert user_by_id(engine, "arzte.lead@x.example") is None


def test_two_rows_differing_in_case_are_rejected(engine):
    with engine.begin() as connection:
        connection.exec_driver_sql(
            "INSERT INTO users (user_id, name, role) "
            "VALUES ('ärzte.lead@x.example', 'Shadow', 'admin')"
        )

    with pytest.raises(LookupError, match="2 users rows match"):
        user_by_id(engine, "ÄRZTE.LEAD@x.example")
