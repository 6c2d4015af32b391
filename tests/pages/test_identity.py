"""The pure parts of identity: providers, the signed-in e-mail, users rows."""

import pandas as pd
import pytest

from data_access.access import AccessError, scope_for_row
from data_access.filters import Scope
from pages.identity import (
    AccessDenied,
    access_contact,
    default_view_as,
    denial_message,
    login_providers,
    picker_order,
    signed_in_email,
    user_choices,
    viewer_from_row,
)

USERS = pd.DataFrame(
    [
        ("lm@x.example", "Lena", "line_manager", None),
        ("rh@x.example", "Rita", "regional_head", "NORTH"),
        ("ad2@x.example", "Zed", "admin", None),
        ("ad1@x.example", "Abel", "admin", None),
        ("odd@x.example", None, "auditor", None),
    ],
    columns=["user_id", "name", "role", "scope_id"],
)


@pytest.mark.parametrize(
    ("section", "expected"),
    [
        ({"redirect_uri": "u", "cookie_secret": "change-me", "client_id": "i"}, [None]),
        ({"redirect_uri": "u", "google": {"client_id": "i"}}, ["google"]),
        (
            {
                "client_id": "i",
                "okta": {"client_id": "j"},
                "google": {"client_id": "k"},
            },
            [None, "okta", "google"],
        ),
        ({"redirect_uri": "u", "cookie_secret": "change-me"}, [None]),
    ],
)
def test_login_providers(section, expected):
    assert login_providers(section) == expected


@pytest.mark.parametrize(
    ("user", "expected"),
    [
        ({"is_logged_in": True, "email": " a@x.example "}, ("a@x.example", None)),
        ({"is_logged_in": False, "email": "a@x.example"}, (None, "signed_out")),
        ({"email": "test@example.com"}, (None, "signed_out")),
        ({"is_logged_in": "true", "email": "a@x.example"}, (None, "signed_out")),
        ({"is_logged_in": True}, (None, "no_email")),
        ({"is_logged_in": True, "email": ""}, (None, "no_email")),
        (
            {"is_logged_in": True, "email": "a@x.example", "email_verified": False},
            ("a@x.example", "unverified"),
        ),
        (
            {"is_logged_in": True, "email": "a@x.example", "email_verified": True},
            ("a@x.example", None),
        ),
    ],
)
def test_signed_in_email(user, expected):
    assert signed_in_email(user) == expected


@pytest.mark.parametrize(
    ("row", "expected"),
    [
        ({"user_id": "ad@x", "role": "admin"}, Scope()),
        (
            {"user_id": "rh@x", "role": "regional_head", "scope_id": "N"},
            Scope(region_ids=("N",)),
        ),
        ({"user_id": "lm@x", "role": "line_manager"}, Scope(manager_id="lm@x")),
        # pandas reads a missing scope_id of a text column as NaN.
        (
            {"user_id": "lm@x", "role": "line_manager", "scope_id": float("nan")},
            Scope(manager_id="lm@x"),
        ),
    ],
)
def test_scope_for_row(row, expected):
    assert scope_for_row(row) == expected


@pytest.mark.parametrize(
    "row",
    [
        {"user_id": "rh@x", "role": "regional_head", "scope_id": float("nan")},
        {"user_id": "rh@x", "role": "regional_head", "scope_id": " "},
        {"user_id": "x@x", "role": "auditor"},
        {"user_id": None, "role": "admin"},
    ],
)
def test_scope_for_row_rejects_unusable_rows(row):
    with pytest.raises(AccessError):
        scope_for_row(row)


def test_viewer_name_defaults_to_id():
    viewer = viewer_from_row(
        {"user_id": "lm@x", "name": None, "role": "line_manager"}, signed_in=True
    )

    assert (viewer.user_id, viewer.name, viewer.description) == (
        "lm@x",
        "lm@x",
        "lm@x, line manager",
    )
    assert viewer.scope == Scope(manager_id="lm@x")


def test_default_view_as_is_first_admin():
    assert default_view_as(picker_order(USERS)) == "ad1@x.example"


def test_default_view_as_without_admin_is_first_user():
    users = picker_order(USERS[USERS["role"] != "admin"])

    assert default_view_as(users) == "rh@x.example"


def test_picker_order_puts_roles_then_names():
    result = list(picker_order(USERS)["user_id"])

    expected = [
        "ad1@x.example",
        "ad2@x.example",
        "rh@x.example",
        "lm@x.example",
        "odd@x.example",
    ]
    assert result == expected


def test_user_choices_label_name_and_role():
    result = user_choices(USERS)
    expected = (
        ("lm@x.example", "Lena (line manager)"),
        ("rh@x.example", "Rita (regional head)"),
        ("ad2@x.example", "Zed (administrator)"),
        ("ad1@x.example", "Abel (administrator)"),
        ("odd@x.example", "odd@x.example (auditor)"),
    )
    assert result == expected


def test_access_contact_lists_admins():
    result = access_contact(None, USERS)

    expected = "an administrator: Zed <ad2@x.example>, Abel <ad1@x.example>"
    assert result == expected


def test_access_contact_prefers_setting():
    assert access_contact(" ops@x.example ", USERS) == "ops@x.example"


def test_access_contact_without_admins():
    result = access_contact(None, USERS[USERS["role"] != "admin"])

    assert result == "the person who runs Beatboard for your company"


def test_denial_message_without_email():
    result = denial_message(AccessDenied("no_email", None, "ops@x.example"))

    expected = (
        "Your sign-in did not share an e-mail address, so Beatboard cannot tell who "
        "you are. Ask ops@x.example to check the sign-in provider's settings."
    )
    assert result == expected


def test_denial_message_names_row_problem():
    denied = AccessDenied(
        "bad_row",
        "rh@x.example",
        "ops@x.example",
        "regional head 'rh@x.example' has no scope_id; set it to a region_id",
    )

    result = denial_message(denied)

    expected = (
        "You are signed in as rh@x.example, but your Beatboard access is "
        "incomplete, so you have no access yet. Ask ops@x.example to fix your "
        "entry in the users table. The entry is unusable because regional head "
        "'rh@x.example' has no scope_id; set it to a region_id."
    )
    assert result == expected
