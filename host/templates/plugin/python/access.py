"""{{name}}: a switchyard access provider (world ``access-provider``), in Python.

Admits a request whose ``x-api-token`` header holds one of the configured tokens.

Settings (the instance's ``config`` in ``config.yaml``, handed to ``configure`` as JSON):
``{"tokens": {"alice": "a-long-random-token"}}``, principal -> token. ``{}`` admits nobody.

componentize-py looks for the class ``Access`` (the exported interface) in this module.
"""

import hmac
import json

import wit_world
from componentize_py_types import Err
from wit_world.exports.access import (
    Grant,
    Outcome,
    Outcome_Allow,
    Outcome_InvalidCredential,
    Outcome_NoCredentials,
    ProviderInfo,
)
from wit_world.imports import host, types

# The header this provider reads. Only the headers named in `describe` are copied into the
# plugin on each call.
HEADER = "x-api-token"

# (principal, token) pairs of this live instance, set once by `configure`.
TOKENS = []


class Access(wit_world.exports.Access):
    def describe(self) -> ProviderInfo:
        return ProviderInfo(name="{{name}}", version="0.1.0", header_names=[HEADER])

    def configure(self, settings_json: str) -> None:
        global TOKENS
        try:
            settings = json.loads(settings_json)
        except ValueError as error:
            raise Err(f"settings are not JSON: {error}")
        if not isinstance(settings, dict):
            raise Err("settings must be an object")
        for key in settings:
            if key != "tokens":
                # Raising Err rejects the settings: the configuration is not applied.
                raise Err(f"unknown setting {key!r}")
        tokens = settings.get("tokens", {})
        if not isinstance(tokens, dict) or not all(
            isinstance(t, str) and t for t in tokens.values()
        ):
            raise Err("tokens must map principals to non-empty strings")
        TOKENS = [(principal, token.encode()) for principal, token in tokens.items()]
        if not TOKENS:
            host.log(types.LogLevel.WARN, "no tokens configured: nobody is admitted", [])

    def authenticate(self, head: types.RequestHead) -> Outcome:
        # An exception escaping here traps the plugin: the host answers 503 for the request,
        # and a client could provoke that with any input the code does not expect. Whatever
        # goes wrong with a request's input is that request's invalid credential.
        try:
            return check(head)
        except Exception as error:  # noqa: BLE001 - every failure is the request's
            host.log(
                types.LogLevel.WARN,
                "request refused: its credential could not be checked",
                [("error", type(error).__name__)],
            )
            return Outcome_InvalidCredential()


def check(head: types.RequestHead) -> Outcome:
    """The answer for one request head."""
    presented = next((v for n, v in head.headers if n == HEADER), None)
    if presented is None:
        # Not ours to judge: the next provider in the chain is asked.
        return Outcome_NoCredentials()
    # Compared as bytes: hmac.compare_digest refuses str arguments that are not ASCII.
    presented = presented.strip().encode("utf-8", "surrogatepass")
    found = None
    for principal, token in TOKENS:
        # Constant-time comparison: timing reveals nothing about the tokens.
        if hmac.compare_digest(token, presented):
            found = principal
    if found is None:
        return Outcome_InvalidCredential()
    return Outcome_Allow(Grant(principal=found, metadata=[("source", HEADER)]))
