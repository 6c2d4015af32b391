"""Who sees what: the scope of a user of the users table."""

import sqlalchemy as sa

from data_access.filters import Scope
from data_access.queries import user_by_id

ROLES = ("admin", "regional_head", "line_manager")


class AccessError(LookupError):
    """A user who is unknown or whose users row cannot be turned into a scope."""


def scope_for_user(engine: sa.Engine, user_id: str) -> Scope:
    """Return the scope of a login e-mail: everything, one region, or one team.

    A regional head sees the region in scope_id; a line manager sees the reps
    whose manager_id is their user_id, and the outlets of those reps'
    territories.
    """
    user = user_by_id(engine, user_id)
    if user is None:
        raise AccessError(
            f"user {user_id!r} is not in the users table; ask an administrator "
            "to add a row with this e-mail, a role and a scope_id"
        )
    role, scope_id, stored_id = user["role"], user["scope_id"], user["user_id"]
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
