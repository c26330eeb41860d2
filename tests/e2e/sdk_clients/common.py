"""What the SDK scripts beside this file share: the pinned-version check, the checks, and the
`ok SDK CALL` / `FAIL SDK CALL: …` reporting the e2e test `sdk_clients` counts.

Import it before the SDKs: a stale venv exits 2 at once, not as a test of other versions.
"""

import sys
import traceback
from importlib import metadata
from pathlib import Path

for line in (Path(__file__).parent / "requirements.txt").read_text().split():
    name, pinned = line.split("==")
    installed = metadata.version(name)
    if installed != pinned:
        print(f"FAIL {name} {installed} is installed, requirements.txt pins {pinned}: run .ci/run")
        sys.exit(2)

# No retries (a retried call would hide a failure) and a deadline per call, in seconds.
TIMEOUT = 30
# The start of every answer the mock gives: "mock reply via {credential} to: {last user text}".
MOCK_REPLY = "mock reply via "


class Failed(Exception):
    """A check that did not hold; the message says what and shows the response."""


def check(condition, what, response):
    """Fails the current call with `what` and the response unless `condition` holds."""
    if not condition:
        raise Failed(f"{what}; response: {response!r}")


def shown(obj):
    """A response object as JSON where the SDK can dump it."""
    for dump in ("model_dump_json", "to_json"):
        if hasattr(obj, dump):
            try:
                return getattr(obj, dump)()
            except Exception:  # noqa: BLE001 - any dump is only for the message
                pass
    return repr(obj)


def replied(text, quoted):
    """Whether `text` is the mock's answer to a user text ending with `quoted`."""
    return isinstance(text, str) and text.startswith(MOCK_REPLY) and text.endswith(quoted)


RESULTS = []


def run(sdk, call, body):
    """Runs one call, printing `ok SDK CALL` or `FAIL SDK CALL: why` (never raising)."""
    try:
        body()
    except Failed as failure:
        print(f"FAIL {sdk} {call}: {failure}", flush=True)
        RESULTS.append(False)
        return
    except Exception as error:  # noqa: BLE001 - any exception is a failed call
        detail = getattr(error, "response", None)
        if detail is not None:
            detail = f"{getattr(detail, 'status_code', '?')} {getattr(detail, 'text', '')}"
        print(
            f"FAIL {sdk} {call}: {type(error).__name__}: {error}; response: {detail}\n"
            + traceback.format_exc(),
            flush=True,
        )
        RESULTS.append(False)
        return
    print(f"ok {sdk} {call}", flush=True)
    RESULTS.append(True)


def finish():
    """Prints `N passed, M failed` and exits 1 when a call failed."""
    passed, failed = RESULTS.count(True), RESULTS.count(False)
    print(f"{passed} passed, {failed} failed", flush=True)
    sys.exit(1 if failed else 0)
