"""Credentials stay out of git: secrets.toml is ignored and no file that git
tracks, or would add, contains a password."""

import re
import shutil
import subprocess
from pathlib import Path

import pytest

REPOSITORY = Path(__file__).resolve().parents[1]

pytestmark = pytest.mark.skipif(
    shutil.which("git") is None or not (REPOSITORY / ".git").exists(),
    reason="needs git and the repository's .git folder",
)

# Values that documentation and tests use in place of a real secret, and
# templates filled in at run time: {name}, ${NAME}, %s, <name>.
PLACEHOLDERS = {"", "...", "***", "change-me", "password", "secret", "s3cret", "xxx"}
TEMPLATE = re.compile(r"\{\w*\}|\$\{?\w+\}?|%s|<[\w -]+>")
# Hosts reserved for documentation and tests (RFC 2606, RFC 6761) or this
# machine's loopback: a credential for them opens nothing elsewhere.
SAFE_HOSTS = re.compile(
    r"(^|\.)(example(\.com|\.org|\.net)?|invalid|test|localhost)$|^127\.0\.0\.1$"
)

URL_WITH_PASSWORD = re.compile(
    r"[a-z][a-z0-9+.-]*://[^\s/\"'@:]+:([^\s/\"'@]*)@([^\s/\"':?]+)"
)
SECRET_SETTING = re.compile(
    r"""(?ix)
    \b(password|passwd|client_secret|cookie_secret|secret_key|api_key|access_token)
    ["']?\s*[:=]\s*(["'])([^"'\n]*)\2
    """
)
SQL_PASSWORD = re.compile(r"(?i)\bPASSWORD\s+'([^']*)'")
PRIVATE_KEY = re.compile(r"-----BEGIN ([A-Z]+ )?PRIVATE KEY-----")


def git(*arguments: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["git", *arguments], cwd=REPOSITORY, capture_output=True, text=True, check=False
    )


def repository_files() -> list[Path]:
    """Files git tracks or would add (untracked and not ignored)."""
    listed = git("ls-files", "--cached", "--others", "--exclude-standard", "-z").stdout
    return [REPOSITORY / name for name in listed.split("\0") if name]


def is_placeholder(value: str) -> bool:
    """True when value stands in for a secret rather than being one."""
    return value in PLACEHOLDERS or TEMPLATE.fullmatch(value) is not None


def password_findings(text: str) -> list[str]:
    """Passwords, secrets and private keys in text that are not placeholders."""
    found = []
    for match in URL_WITH_PASSWORD.finditer(text):
        password, host = match.group(1), match.group(2)
        if not is_placeholder(password) and not SAFE_HOSTS.search(host):
            found.append(match.group(0))
    for match in SECRET_SETTING.finditer(text):
        if not is_placeholder(match.group(3)):
            found.append(match.group(0))
    for match in SQL_PASSWORD.finditer(text):
        if not is_placeholder(match.group(1)):
            found.append(match.group(0))
    found += [match.group(0) for match in PRIVATE_KEY.finditer(text)]
    return found


def test_secrets_file_is_ignored():
    result = git("check-ignore", "--quiet", ".streamlit/secrets.toml")

    assert result.returncode == 0


def test_secrets_file_is_not_tracked():
    result = git("ls-files", ".streamlit/secrets.toml").stdout

    assert result == ""


def test_no_repository_file_contains_password():
    result = []
    for path in repository_files():
        try:
            text = path.read_text(encoding="utf-8")
        except (UnicodeDecodeError, FileNotFoundError, IsADirectoryError):
            # Binary files (images, databases) and files deleted since git listed them.
            continue
        result += [
            f"{path.relative_to(REPOSITORY)}: {finding}"
            for finding in password_findings(text)
        ]

    assert result == []


# The leaking cases are joined from two strings, so this file does not leak.
@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('url = "postgresql+psycopg://reader:hunt' + 'er2@db.acme.io/sfa"', 1),
        ('url = "postgresql+psycopg://reader:change-me@db.acme.io/sfa"', 0),
        ('url = "postgresql+psycopg://reader:hunter2@127.0.0.1:5432/sfa"', 0),
        ('url = "postgresql+psycopg://reader:hunter2@db.example.com/sfa"', 0),
        ("client_sec" + 'ret = "GOCSPX-real-looking"', 1),
        ('"cookie_secret": "change-me",', 0),
        ("CREATE ROLE reader LOGIN PASS" + "WORD 'hunter2';", 1),
        ("CREATE ROLE reader LOGIN PASSWORD '...';", 0),
        ("f\"CREATE ROLE reader LOGIN PASSWORD '{password}'\"", 0),
        ('password = "${BEATBOARD_PASSWORD}"', 0),
        ("-----BEGIN RSA PRIVATE" + " KEY-----", 1),
        ("hide_password=True", 0),
    ],
)
def test_password_check_cases(text, expected):
    assert len(password_findings(text)) == expected
