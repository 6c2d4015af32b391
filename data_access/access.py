"""Who sees what: the scope of a user of the users table."""

from collections.abc import Mapping

import sqlalchemy as sa

from data_access.filters import Scope
from data_access.queries import region_exists, user_by_id

ROLES = ("admin", "regional_head", "line_manager")


class AccessError(LookupError):
    """A user who is unknown or whose users row cannot be turned into a scope."""


def scope_for_user(engine: sa.Engine, user_id: str) -> Scope:
    """Return the scope of a login e-mail: everything, one region, or one team.

    Raises AccessError when the e-mail has no users row, matches several, or
    the row cannot be turned into a scope, such as a regional head whose
    region is not in the regions table.
    """
    try:
        user = user_by_id(engine, user_id)
    except LookupError as error:
        raise AccessError(str(error)) from error
    if user is None:
        raise AccessError(
            f"user {user_id!r} is not in the users table; ask an administrator "
            "to add a row with this e-mail, a role and a scope_id"
        )
    scope = scope_for_row(user)
    check_scope_region(engine, user)
    return scope


def check_scope_region(engine: sa.Engine, user: Mapping[str, object]) -> None:
    """Raise AccessError when a regional head's scope_id is not in the regions table.

    Without this check such a head gets an empty view on every page and no
    reason for it.
    Other roles, and a regional head without a scope_id (which scope_for_row
    rejects), pass unchecked.
    """
    scope_id = _text(user.get("scope_id"))
    if _text(user.get("role")) != "regional_head" or scope_id is None:
        return
    if not region_exists(engine, scope_id):
        raise AccessError(
            f"regional head {_text(user.get('user_id'))!r} has scope_id "
            f"{scope_id!r}, which is not in the regions table; set it to a "
            "region_id of the regions table"
        )


def scope_for_row(user: Mapping[str, object]) -> Scope:
    """Return the scope a users row grants.

    An admin sees everything. A regional head sees the region in scope_id. A
    line manager sees the reps whose manager_id is their user_id, and the
    outlets of those reps' territories. Raises AccessError for an unknown
    role or a regional head without a scope_id.
    """
    role = _text(user.get("role"))
    scope_id = _text(user.get("scope_id"))
    stored_id = _text(user.get("user_id"))
    if not stored_id:
        raise AccessError("a users row has no user_id; set it to the login e-mail")
    if role == "admin":
        return Scope(label=f"{stored_id} (admin)")
    if role == "regional_head":
        if not scope_id:
            raise AccessError(
                f"regional head {stored_id!r} has no scope_id; set it to a region_id"
            )
        return Scope(region_ids=(scope_id,), label=f"{stored_id} (region {scope_id})")
    if role == "line_manager":
        return Scope(manager_id=stored_id, label=f"{stored_id} (line manager)")
    raise AccessError(
        f"user {stored_id!r} has role {role!r}; expected one of {', '.join(ROLES)}"
    )


def _text(value: object) -> str | None:
    """A cell as text, unchanged because ids must match other tables exactly;
    None for NULL, NaN (pandas' missing text) and blanks."""
    if not isinstance(value, str) or not value.strip():
        return None
    return value
