"""hmac-auth: a switchyard access provider that admits requests signed with a shared secret.

A client signs each request with HMAC-SHA256 over
``METHOD \\n PATH \\n QUERY \\n TIMESTAMP \\n CONTENT-SHA256`` using its secret, and sends four
headers:

- ``x-hmac-key-id``: which key signed (a name from the ``keys`` setting),
- ``x-hmac-timestamp``: when, in Unix seconds,
- ``x-hmac-content-sha256``: the SHA-256 of the request body, lowercase hex (of the empty
  string for a request without a body),
- ``x-hmac-signature``: the signature, lowercase hex.

An access provider sees the request head only, never the body: the body hash is the client's
claim, signed (so it cannot be changed in transit without the secret) but checked against the
body by nothing in switchyard. A signed request can be replayed as it is until its timestamp is
``max-skew-seconds`` old (default 60): that window is the only replay protection.

Settings (the instance's ``config`` in ``config.yaml``, handed to ``configure`` as JSON)::

    {"keys": {"alice": "secret-1"},       # key id -> shared secret
     "max-skew-seconds": 60,              # how far the timestamp may be from the arrival time
     "paths": {"alice": ["/v1/"]}}        # optional: path prefixes a key may call

The freshness check uses the request's ``arrival_time_ms`` (not the guest's clock), so an
answer depends only on the request and the settings.

This module is the component's entry point: componentize-py looks for the class ``Access``
(the exported interface) here. The signature logic lives in ``signature.py``.
"""

import json

import wit_world
from componentize_py_types import Err
from wit_world.exports.access import (
    Denial,
    Grant,
    Outcome,
    Outcome_Allow,
    Outcome_Deny,
    Outcome_InvalidCredential,
    Outcome_NoCredentials,
    ProviderInfo,
)
from wit_world.imports import host, types

from signature import Check, Settings, SettingsError, check

NAME = "hmac-auth"
VERSION = "1.0.0"

# The headers this provider reads: the host copies only these into the guest on each call.
KEY_ID, TIMESTAMP, SIGNATURE = "x-hmac-key-id", "x-hmac-timestamp", "x-hmac-signature"
CONTENT_SHA256 = "x-hmac-content-sha256"

# The settings of this live instance; `configure` runs once before any `authenticate`.
SETTINGS = Settings()


class Access(wit_world.exports.Access):
    """The exported `access` interface."""

    def describe(self) -> ProviderInfo:
        return ProviderInfo(
            name=NAME,
            version=VERSION,
            header_names=[KEY_ID, TIMESTAMP, SIGNATURE, CONTENT_SHA256],
        )

    def configure(self, settings_json: str) -> None:
        global SETTINGS
        try:
            SETTINGS = Settings.parse(json.loads(settings_json))
        except (ValueError, SettingsError) as error:
            # Raising Err rejects the settings: the configuration naming them is not applied.
            raise Err(f"{NAME}: {error}")
        if not SETTINGS.keys:
            host.log(types.LogLevel.WARN, "no keys configured: every request is refused", [])

    def authenticate(self, head: types.RequestHead) -> Outcome:
        # An exception escaping here would trap the guest: a fault the host answers with 503,
        # and that a client could provoke at will. Whatever goes wrong with a request's input
        # is that request's invalid credential, nothing more.
        try:
            return outcome(head)
        except Exception as error:  # noqa: BLE001 - every failure is the request's
            host.log(
                types.LogLevel.WARN,
                "request refused: its signature headers could not be checked",
                [("error", type(error).__name__)],
            )
            return Outcome_InvalidCredential()


def outcome(head: types.RequestHead) -> Outcome:
    """The answer for one request head."""
    headers = {name: value for name, value in head.headers}
    result = check(
        SETTINGS,
        head.method,
        head.path,
        head.query,
        headers.get(KEY_ID),
        headers.get(TIMESTAMP),
        headers.get(SIGNATURE),
        headers.get(CONTENT_SHA256),
        head.arrival_time_ms,
    )
    if result.kind is Check.ALLOW:
        return Outcome_Allow(Grant(principal=result.key_id, metadata=[("scheme", "hmac-sha256")]))
    if result.kind is Check.MISSING:
        return Outcome_NoCredentials()
    if result.kind is Check.INVALID:
        return Outcome_InvalidCredential()
    return Outcome_Deny(Denial(status=result.status, message=result.message))
