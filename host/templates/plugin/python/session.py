"""{{name}}: a switchyard session-id extractor (world ``session-extractor``), in Python.

Takes the session from the ``x-conversation`` header: every request naming the same
conversation goes to the same upstream credential.

Settings (the instance's ``config`` in ``config.yaml``, handed to ``configure`` as JSON):
``{"prefix": "team-a:"}``, put before every id (default: none).

componentize-py looks for the class ``Session`` (the exported interface) in this module.
"""

import json
from typing import Optional

import wit_world
from componentize_py_types import Err
from wit_world.exports.session import ExtractorInfo, SessionId, SessionKind
from wit_world.imports import types

# The header this extractor reads. Only the headers named in `describe` are copied into the
# plugin on each call.
HEADER = "x-conversation"

# The prefix of this live instance, set once by `configure`.
PREFIX = ""


class Session(wit_world.exports.Session):
    def describe(self) -> ExtractorInfo:
        # needs_body=False: the host does not copy the body into the plugin.
        return ExtractorInfo(
            name="{{name}}", version="0.1.0", needs_body=False, header_names=[HEADER]
        )

    def configure(self, settings_json: str) -> None:
        global PREFIX
        try:
            settings = json.loads(settings_json)
        except ValueError as error:
            raise Err(f"settings are not JSON: {error}")
        if not isinstance(settings, dict):
            raise Err("settings must be an object")
        for key in settings:
            if key != "prefix":
                # Raising Err rejects the settings: the configuration is not applied.
                raise Err(f"unknown setting {key!r}")
        prefix = settings.get("prefix", "")
        if not isinstance(prefix, str):
            raise Err("prefix must be a string")
        PREFIX = prefix

    def extract(
        self, head: types.RequestHead, body: Optional[bytes]
    ) -> Optional[SessionId]:
        # An exception escaping here traps the plugin (the host then skips it for this
        # request): whatever goes wrong with a request's input means "no session" instead.
        try:
            return session_of(head)
        except Exception:  # noqa: BLE001 - every failure is the request's
            return None


def session_of(head: types.RequestHead) -> Optional[SessionId]:
    """The session a request names, if any."""
    value = next((v for n, v in head.headers if n == HEADER), "").strip()
    if not value:
        return None
    # The client named its session: an explicit id wins over computed (derived) ones.
    return SessionId(primary=PREFIX + value, fallback=None, kind=SessionKind.EXPLICIT)
