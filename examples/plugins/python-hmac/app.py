"""hmac-auth: a switchyard access provider that admits requests signed with a shared secret.

A client signs each request with HMAC-SHA256 over ``METHOD \\n PATH \\n TIMESTAMP`` using its
secret, and sends three headers:

- ``x-hmac-key-id``: which key signed (a name from the ``keys`` setting),
- ``x-hmac-timestamp``: when, in Unix seconds,
- ``x-hmac-signature``: the signature, lowercase hex.

Settings (the instance's ``config`` in ``config.yaml``, handed to ``configure`` as JSON)::

    {"keys": {"alice": "secret-1"},       # key id -> shared secret
     "max-skew-seconds": 300,             # how far the timestamp may be from the arrival time
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

# The settings of this live instance; `configure` runs once before any `authenticate`.
SETTINGS = Settings()


class Access(wit_world.exports.Access):
    """The exported `access` interface."""

    def describe(self) -> ProviderInfo:
        return ProviderInfo(
            name=NAME, version=VERSION, header_names=[KEY_ID, TIMESTAMP, SIGNATURE]
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
        headers = {name: value for name, value in head.headers}
        result = check(
            SETTINGS,
            head.method,
            head.path,
            headers.get(KEY_ID),
            headers.get(TIMESTAMP),
            headers.get(SIGNATURE),
            head.arrival_time_ms,
        )
        if result.kind is Check.ALLOW:
            return Outcome_Allow(
                Grant(principal=result.key_id, metadata=[("scheme", "hmac-sha256")])
            )
        if result.kind is Check.MISSING:
            return Outcome_NoCredentials()
        if result.kind is Check.INVALID:
            return Outcome_InvalidCredential()
        return Outcome_Deny(Denial(status=result.status, message=result.message))
