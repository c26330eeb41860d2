"""The HMAC request-signature check of hmac-auth, free of any WebAssembly binding (it runs
under a plain ``python3`` too: ``python3 -m unittest`` in this folder)."""

import enum
import hashlib
import hmac

# componentize-py bundles the modules imported while it builds the component; `hmac` imports
# `warnings` lazily (inside `hmac.new`), so it is imported here to be bundled too.
import warnings  # noqa: F401
from dataclasses import dataclass, field
from typing import Dict, List, Optional


class SettingsError(Exception):
    """Settings that cannot be used; the message names the setting."""


@dataclass
class Settings:
    """The validated settings of one configured instance."""

    keys: Dict[str, bytes] = field(default_factory=dict)
    max_skew_ms: int = 60_000
    paths: Dict[str, List[str]] = field(default_factory=dict)

    @staticmethod
    def parse(raw: object) -> "Settings":
        """Validates the settings document (a JSON object)."""
        if not isinstance(raw, dict):
            raise SettingsError("settings must be an object")
        unknown = sorted(set(raw) - {"keys", "max-skew-seconds", "paths"})
        if unknown:
            raise SettingsError(f"unknown setting {unknown[0]!r}")
        keys = raw.get("keys", {})
        if not isinstance(keys, dict) or not all(
            isinstance(k, str) and k and isinstance(v, str) and v for k, v in keys.items()
        ):
            raise SettingsError("keys must map key ids to non-empty secrets")
        skew = raw.get("max-skew-seconds", 60)
        if isinstance(skew, bool) or not isinstance(skew, int) or not 1 <= skew <= 86_400:
            raise SettingsError("max-skew-seconds must be an integer from 1 to 86400")
        paths = raw.get("paths", {})
        if not isinstance(paths, dict) or not all(
            k in keys and isinstance(v, list) and all(isinstance(p, str) for p in v)
            for k, v in paths.items()
        ):
            raise SettingsError("paths must map configured key ids to lists of path prefixes")
        return Settings(
            keys={k: v.encode() for k, v in keys.items()},
            max_skew_ms=skew * 1000,
            paths=paths,
        )


class Check(enum.Enum):
    """What the check found."""

    ALLOW = "allow"
    MISSING = "missing"
    INVALID = "invalid"
    DENY = "deny"


@dataclass
class Result:
    """The answer for one request."""

    kind: Check
    key_id: str = ""
    status: int = 0
    message: str = ""


def canonical(method: str, path: str, query: str, timestamp: str, content_sha256: str) -> bytes:
    """What is signed: ``METHOD\\nPATH\\nQUERY\\nTIMESTAMP\\nCONTENT-SHA256`` (UTF-8)."""
    text = f"{method}\n{path}\n{query}\n{timestamp}\n{content_sha256}"
    return text.encode("utf-8", "surrogatepass")


def sign(
    secret: bytes, method: str, path: str, query: str, timestamp: str, content_sha256: str
) -> str:
    """The signature a client sends: hex HMAC-SHA256 of :func:`canonical`."""
    message = canonical(method, path, query, timestamp, content_sha256)
    return hmac.new(secret, message, hashlib.sha256).hexdigest()


def _ascii_digits(text: str) -> bool:
    # str.isdigit() also accepts "²" or "١", which int() may then refuse.
    return text.isascii() and text.isdigit()


def _lower_hex(text: str, length: int) -> bool:
    return len(text) == length and all(c in "0123456789abcdef" for c in text)


def _dot_segments(path: str) -> bool:
    """Whether `path` holds a ``.``/``..`` segment, an encoded one, or an encoded slash, so a
    prefix check on the raw path could be fooled."""
    lowered = path.lower()
    if "%2e" in lowered or "%2f" in lowered or "%5c" in lowered or "\\" in path:
        return True
    return any(segment in (".", "..") for segment in path.split("/"))


def check(
    settings: Settings,
    method: str,
    path: str,
    query: str,
    key_id: Optional[str],
    timestamp: Optional[str],
    signature: Optional[str],
    content_sha256: Optional[str],
    arrival_time_ms: int,
) -> Result:
    """Checks one request's signature headers against the settings.

    Never raises on client input: anything malformed (not ASCII, not hex, not a number) is
    ``INVALID``.
    """
    if key_id is None and timestamp is None and signature is None:
        return Result(Check.MISSING)
    secret = settings.keys.get(key_id or "")
    if secret is None or not timestamp or not signature or content_sha256 is None:
        return Result(Check.INVALID)
    if not _ascii_digits(timestamp) or len(timestamp) > 12:
        return Result(Check.INVALID)
    if not _lower_hex(content_sha256, 64):
        return Result(Check.INVALID)
    expected = sign(secret, method, path, query, timestamp, content_sha256).encode("ascii")
    # Compared as bytes: compare_digest refuses str arguments that are not ASCII.
    given = signature.strip().lower().encode("utf-8", "surrogatepass")
    if not hmac.compare_digest(expected, given):
        return Result(Check.INVALID)
    skew_ms = abs(int(timestamp) * 1000 - arrival_time_ms)
    if skew_ms > settings.max_skew_ms:
        return Result(
            Check.DENY,
            status=401,
            message=f"signature timestamp is {skew_ms // 1000} s away from the server's time "
            f"(at most {settings.max_skew_ms // 1000} s allowed)",
        )
    allowed = settings.paths.get(key_id)
    if allowed is not None and (
        _dot_segments(path) or not any(path.startswith(prefix) for prefix in allowed)
    ):
        return Result(Check.DENY, status=403, message=f"key {key_id} may not call {path}")
    return Result(Check.ALLOW, key_id=key_id)
