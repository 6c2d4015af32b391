"""Who is looking, and what they may see.

With an [auth] section in .streamlit/secrets.toml, the viewer signs in through
Streamlit's OpenID Connect login (st.login, st.user). The signed-in e-mail
must match a row of the users table, whose role and scope_id give the scope
that every query applies. Without [auth] the dashboard runs in demo mode:
anyone may pick, under "View as", whose view to show, so a demo can walk
through each role.

The functions above the Streamlit section are pure, so tests call them
without a running app.
"""

import logging
import os
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Literal

import pandas as pd
import sqlalchemy as sa
import streamlit as st
from streamlit.errors import StreamlitAuthError

from data_access import queries
from data_access.access import AccessError, check_scope_region, scope_for_row
from data_access.filters import Scope
from pages.formatting import markdown_text

log = logging.getLogger(__name__)

VIEW_AS_KEY = "view_as"
ACCESS_CONTACT_VARIABLE = "BEATBOARD_ACCESS_CONTACT"
ROLE_LABELS = {
    "admin": "administrator",
    "regional_head": "regional head",
    "line_manager": "line manager",
}
OPEN_VIEWER_ID = "everyone"

DenialReason = Literal["signed_out", "no_email", "unverified", "no_row", "bad_row"]


@dataclass(frozen=True)
class Viewer:
    """The person the dashboard draws for and the scope their users row grants.

    user_id: users.user_id, or OPEN_VIEWER_ID in demo mode when the users
        table is empty and everyone sees everything.
    signed_in: True when the identity comes from the sign-in provider, False
        in demo mode, where it was picked under "View as".
    view_as_choices: in demo mode, (user_id, label) of every user the picker
        offers; empty when signed in.
    problem: why this demo viewer sees nothing (an unusable users row), or "".
    """

    user_id: str
    name: str
    role: str
    scope: Scope
    signed_in: bool
    view_as_choices: tuple[tuple[str, str], ...] = ()
    problem: str = ""

    @property
    def description(self) -> str:
        """Name and role as a line for the sidebar, such as 'Priya Shah, line manager'."""
        role = ROLE_LABELS.get(self.role, self.role)
        return f"{self.name}, {role}" if role else self.name


@dataclass(frozen=True)
class AccessDenied:
    """The reason the dashboard shows nothing to this person, and whom to ask.

    email is the signed-in address when there is one; contact names the people
    who can add or fix a users row. problem is what makes a users row
    unusable, such as a scope_id that names no region, or "".
    """

    reason: DenialReason
    email: str | None = None
    contact: str = ""
    problem: str = ""


# Pure helpers


def login_providers(auth_section: Mapping[str, object]) -> list[str | None]:
    """List the providers to offer on the sign-in page, in secrets.toml order.

    None stands for the unnamed provider whose client_id sits in [auth]
    itself; a name stands for an [auth.NAME] table with its own client_id.
    With neither, st.login() reports the incomplete configuration.
    """
    providers: list[str | None] = []
    if "client_id" in auth_section:
        providers.append(None)
    for name, value in auth_section.items():
        if isinstance(value, Mapping) and "client_id" in value:
            providers.append(str(name))
    return providers or [None]


def signed_in_email(
    user_info: Mapping[str, object],
) -> tuple[str | None, DenialReason | None]:
    """Return the signed-in e-mail, or None and the reason it cannot be used.

    A provider that marks the address as unverified (email_verified false)
    is not trusted with it, because some providers let people type any address.
    """
    if user_info.get("is_logged_in") is not True:
        return None, "signed_out"
    email = user_info.get("email")
    if not isinstance(email, str) or not email.strip():
        return None, "no_email"
    if user_info.get("email_verified") is False:
        return email.strip(), "unverified"
    return email.strip(), None


def viewer_from_row(user: Mapping[str, object], *, signed_in: bool) -> Viewer:
    """Build the viewer of a users row; raises AccessError when the row grants
    no scope (unknown role, regional head without a scope_id). _stored_viewer
    also checks that the scope_id is in the regions table."""
    scope = scope_for_row(user)
    user_id = str(user["user_id"])
    name = user.get("name")
    return Viewer(
        user_id=user_id,
        name=name if isinstance(name, str) and name.strip() else user_id,
        role=str(user.get("role")),
        scope=scope,
        signed_in=signed_in,
    )


def open_viewer() -> Viewer:
    """Return the demo-mode viewer for an empty users table, who sees everything."""
    return Viewer(
        user_id=OPEN_VIEWER_ID,
        name="Everyone",
        role="",
        scope=Scope(label="everything (the users table is empty)"),
        signed_in=False,
    )


def default_view_as(users: pd.DataFrame) -> str:
    """Return the user a demo starts as: the first administrator, else the first user."""
    admins = users[users["role"] == "admin"]
    chosen = admins if not admins.empty else users
    return str(chosen["user_id"].iloc[0])


def picker_order(users: pd.DataFrame) -> pd.DataFrame:
    """Order users for the "View as" picker: administrators, regional heads,
    line managers, others, each by name; rows without a user_id are dropped."""
    rank = {role: position for position, role in enumerate(ROLE_LABELS)}
    users = users[users["user_id"].notna()]
    keys = pd.DataFrame(
        {
            "rank": users["role"].map(rank).fillna(len(rank)),
            "name": users["name"].fillna(users["user_id"]).astype(str).str.lower(),
        },
        index=users.index,
    )
    return users.loc[keys.sort_values(["rank", "name"], kind="stable").index]


def user_choice_label(user_id: str, name: object, role: object) -> str:
    """Return the "View as" picker's label of a user: 'Name (role)'."""
    shown_name = name if isinstance(name, str) and name else user_id
    return f"{shown_name} ({ROLE_LABELS.get(role, str(role))})"


def user_choices(users: pd.DataFrame) -> tuple[tuple[str, str], ...]:
    """Return (user_id, label) of every user, in the order of users."""
    return tuple(
        (str(user_id), user_choice_label(str(user_id), name, role))
        for user_id, name, role in zip(users["user_id"], users["name"], users["role"])
    )


def access_contact(configured: str | None, users: pd.DataFrame) -> str:
    """Return whom a person without access should ask, as plain text.

    The configured contact wins; else the administrators of the users
    table, as 'Name <e-mail>'; else the person who runs Beatboard.
    """
    if configured and configured.strip():
        return configured.strip()
    admins = users[users["role"] == "admin"]
    if admins.empty:
        return "the person who runs Beatboard for your company"
    names = [
        f"{name} <{user_id}>" if isinstance(name, str) and name else str(user_id)
        for user_id, name in zip(admins["user_id"], admins["name"])
    ]
    return "an administrator: " + ", ".join(names)


def denial_message(denied: AccessDenied) -> str:
    """Return the no-access page's sentence as plain text (escape it for Markdown)."""
    ask = f"Ask {denied.contact}"
    if denied.reason == "no_email":
        return (
            "Your sign-in did not share an e-mail address, so Beatboard cannot "
            f"tell who you are. {ask} to check the sign-in provider's settings."
        )
    if denied.reason == "unverified":
        return (
            f"Your sign-in provider has not verified the e-mail address "
            f"{denied.email}, so Beatboard cannot trust it. Verify it with the "
            f"provider, then sign in again. {ask} if it stays unverified."
        )
    if denied.reason == "bad_row":
        message = (
            f"You are signed in as {denied.email}, but your Beatboard access is "
            f"incomplete, so you have no access yet. {ask} to fix your entry "
            "in the users table."
        )
        if denied.problem:
            message += f" The entry is unusable because {denied.problem}."
        return message
    return (
        f"You are signed in as {denied.email}, but you have no access to "
        f"Beatboard. {ask} to add this e-mail address to the users table with "
        "your role."
    )


# Streamlit


def auth_section() -> dict:
    """Return the [auth] section of secrets.toml, empty when sign-in is not configured."""
    try:
        return dict(st.secrets.get("auth", {}))
    except FileNotFoundError:
        return {}
    except Exception as error:  # a malformed secrets.toml raises its parser's errors
        log.error("could not read [auth] from .streamlit/secrets.toml: %s", error)
        return {}


def _configured_contact() -> str | None:
    try:
        section = dict(st.secrets.get("beatboard", {}))
    except Exception:  # a missing or malformed file: the contact is optional
        section = {}
    return section.get("access_contact") or os.environ.get(ACCESS_CONTACT_VARIABLE)


def resolve_viewer(engine: sa.Engine) -> Viewer | AccessDenied:
    """Return the viewer of this run, or why they may see nothing.

    The users row is read on every run, so a removed or changed row takes
    effect on the viewer's next click.
    """
    if not auth_section():
        return _demo_viewer(engine)
    return _signed_in_viewer(engine)


def _signed_in_viewer(engine: sa.Engine) -> Viewer | AccessDenied:
    email, reason = signed_in_email(st.user.to_dict())
    if reason == "signed_out":
        return AccessDenied("signed_out")
    if reason is not None or email is None:
        return AccessDenied(reason or "no_email", email, _contact(engine))

    try:
        user = queries.user_by_id(engine, email)
    except LookupError as error:
        log.warning("signed-in %s has no usable users row: %s", email, error)
        return AccessDenied("bad_row", email, _contact(engine))
    if user is None:
        log.warning("signed-in %s has no users row; access denied", email)
        return AccessDenied("no_row", email, _contact(engine))
    try:
        return _stored_viewer(engine, user, signed_in=True)
    except AccessError as error:
        log.warning("signed-in %s has an unusable users row: %s", email, error)
        return AccessDenied("bad_row", email, _contact(engine), str(error))


def _stored_viewer(
    engine: sa.Engine, user: Mapping[str, object], *, signed_in: bool
) -> Viewer:
    """Build the viewer of a users row as viewer_from_row does, and also raise
    AccessError when a regional head's region is not in the regions table."""
    viewer = viewer_from_row(user, signed_in=signed_in)
    check_scope_region(engine, user)
    return viewer


def _contact(engine: sa.Engine) -> str:
    return access_contact(_configured_contact(), queries.user_list(engine))


def _demo_viewer(engine: sa.Engine) -> Viewer:
    """Return the viewer picked under "View as" (drawn later by
    draw_view_as_picker), the first administrator until someone picks."""
    users = picker_order(queries.user_list(engine))
    if users.empty:
        return open_viewer()

    choices = user_choices(users)
    if st.session_state.get(VIEW_AS_KEY) not in dict(choices):
        st.session_state[VIEW_AS_KEY] = default_view_as(users)
    user_id = st.session_state[VIEW_AS_KEY]
    row = users[users["user_id"] == user_id].iloc[0].to_dict()
    label = dict(choices)[user_id]
    try:
        viewer = _stored_viewer(engine, row, signed_in=False)
    except AccessError as error:
        # A broken row should not lock the demo: that viewer sees nothing.
        log.warning("demo viewer %s has an unusable users row: %s", user_id, error)
        return Viewer(
            user_id=user_id,
            name=label,
            role=str(row.get("role")),
            scope=Scope(rep_ids=(), territory_ids=(), label="nothing"),
            signed_in=False,
            view_as_choices=choices,
            problem=(
                f"{label} has an incomplete users row, so this view shows no "
                f"data: {error}."
            ),
        )
    return replace(viewer, view_as_choices=choices)


def draw_view_as_picker(viewer: Viewer) -> None:
    """Draw the demo-mode "View as" picker in the sidebar; nothing when signed in."""
    if not viewer.view_as_choices:
        return
    labels = dict(viewer.view_as_choices)
    st.sidebar.selectbox(
        "View as",
        list(labels),
        key=VIEW_AS_KEY,
        format_func=labels.get,
        help="Demo mode: pick a user to see the dashboard with their scope.",
    )
    if viewer.problem:
        st.sidebar.warning(markdown_text(viewer.problem))


def draw_access_denied(denied: AccessDenied) -> None:
    """Draw the sign-in or no-access page and stop the run: nothing else is shown."""
    st.title("Beatboard")
    if denied.reason == "signed_out":
        _draw_sign_in()
    else:
        st.warning(markdown_text(denial_message(denied)), icon=":material/lock:")
        if st.button("Sign out", key="sign_out_denied"):
            st.logout()
    st.stop()


def _draw_sign_in() -> None:
    st.write("Sign in with your company account to see your team's figures.")
    for provider in login_providers(auth_section()):
        label = "Sign in" if provider is None else f"Sign in with {provider}"
        if st.button(label, key=f"sign_in_{provider or 'default'}", type="primary"):
            try:
                if provider is None:
                    st.login()
                else:
                    st.login(provider)
            except StreamlitAuthError as error:
                log.error("sign-in is misconfigured: %s", error)
                st.error(
                    "Sign-in is not set up correctly, so nobody can sign in. Ask the "
                    "person who runs Beatboard to check the [auth] section of its "
                    "secrets; the server log names the missing setting."
                )


def draw_viewer_banner(viewer: Viewer) -> None:
    """Say whose view this is: demo mode on every page, or the signed-in person
    with a sign-out button."""
    if not viewer.signed_in:
        st.caption(
            "Demo mode: sign-in is not configured, so anyone can pick whose view to "
            "show under View as. Add an [auth] section to .streamlit/secrets.toml "
            "to require sign-in."
        )
        return
    st.sidebar.caption(f"Signed in as {markdown_text(viewer.description)}")
    if st.sidebar.button("Sign out", key="sign_out"):
        st.logout()
