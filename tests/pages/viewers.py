"""Run the dashboard in AppTest as a given viewer, and read what it shows.

signed_in_app() configures sign-in ([auth] in the secrets) and sets
AppTest.user as the provider would; demo_app() leaves sign-in unconfigured
and picks the user under "View as".
"""

import base64
import binascii
import io
import re
import zipfile
import zlib
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest
from streamlit.runtime.memory_media_file_storage import MemoryMediaFileStorage
from streamlit.testing.v1 import AppTest

REPOSITORY = Path(__file__).resolve().parents[2]
DASHBOARD = str(REPOSITORY / "dashboard.py")

# Placeholders only: AppTest never contacts the provider.
AUTH_SECRETS = {
    "redirect_uri": "http://127.0.0.1:8501/oauth2callback",
    "cookie_secret": "change-me",
    "client_id": "beatboard",
    "client_secret": "change-me",
    "server_metadata_url": "http://127.0.0.1:9/.well-known/openid-configuration",
}


def page_paths() -> list[str]:
    """The page files dashboard.py registers, in menu order."""
    source = Path(DASHBOARD).read_text(encoding="utf-8")
    return re.findall(r'st\.Page\(\s*"(pages/[\w/]+\.py)"', source)


def signed_in_app(email: str | None, *, name: str = "Test Viewer") -> AppTest:
    """An AppTest with sign-in configured; email None means signed out."""
    app = AppTest.from_file(DASHBOARD, default_timeout=60)
    app.secrets["auth"] = dict(AUTH_SECRETS)
    if email is None:
        app.user = {"is_logged_in": False}
    else:
        app.user = {"is_logged_in": True, "email": email, "name": name}
    return app


def demo_app(view_as: str | None = None) -> AppTest:
    """An AppTest without sign-in, viewing as view_as (default: the first admin)."""
    app = AppTest.from_file(DASHBOARD, default_timeout=60)
    if view_as is not None:
        app.session_state["view_as"] = view_as
    return app


def week_page(page: str, week_start: date) -> AppTest:
    """Run the dashboard without sign-in on the week that starts on
    week_start, then switch to page (a path of page_paths())."""
    app = demo_app()
    app.query_params["week"] = week_start.isoformat()
    app.run()
    if page != "pages/overview.py":
        app.switch_page(page).run()
    return app


def nodes(app: AppTest) -> Iterator:
    """Every element and block the last run drew: main, sidebar, toasts, dialogs."""
    # The tree's root is not public, but it is the one place that contains them all.
    yield from app._tree


def shown_bytes(app: AppTest) -> bytes:
    """Everything the last run sent to the browser, as serialized protobuf,
    followed by the contents of the compressed payloads inside it."""
    chunks = []
    for node in nodes(app):
        proto = getattr(node, "proto", None)
        if proto is not None and hasattr(proto, "SerializeToString"):
            chunks.append(proto.SerializeToString())
    shown = b"\n".join(chunks)
    return b"\n".join([shown, *_inflated_payloads(shown)])


# Base64 text long enough to be a payload rather than a word or an id.
BASE64_RUN = re.compile(rb"[A-Za-z0-9+/]{64,}={0,2}")


def _inflated_payloads(shown: bytes) -> list[bytes]:
    """The zlib-compressed, base64-encoded payloads in shown, decompressed: the
    map sends its outlets' names that way."""
    inflated = []
    for match in BASE64_RUN.finditer(shown):
        try:
            inflated.append(zlib.decompress(base64.b64decode(match.group(0))))
        except (binascii.Error, zlib.error):
            continue
    return inflated


def found_markers(app: AppTest, markers: set[str]) -> list[str]:
    """The markers (ids, names) that appear anywhere in what the last run drew."""
    shown = shown_bytes(app)
    return sorted(marker for marker in markers if marker.encode() in shown)


def page_errors(app: AppTest) -> list[str]:
    """Exceptions and error boxes of the last run, as text."""
    return [str(item.value) for item in app.exception] + [
        str(item.value) for item in app.error
    ]


def record_downloads(monkeypatch: pytest.MonkeyPatch) -> list[bytes]:
    """Collect the bytes of every file the app offers for download from now on.

    Workbooks (zip files such as XLSX) are stored unpacked, so their cell text
    can be searched.
    """
    files: list[bytes] = []
    original = MemoryMediaFileStorage.load_and_get_id

    def load_and_get_id(self, path_or_data, mimetype, kind, filename=None):
        data = (
            path_or_data
            if isinstance(path_or_data, bytes)
            else Path(path_or_data).read_bytes()
        )
        files.append(_unpacked(data))
        return original(self, path_or_data, mimetype, kind, filename)

    monkeypatch.setattr(MemoryMediaFileStorage, "load_and_get_id", load_and_get_id)
    return files


def _unpacked(data: bytes) -> bytes:
    if not data.startswith(b"PK"):
        return data
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        return b"\n".join(archive.read(name) for name in archive.namelist())
