"""Unit tests of the signature check, under a plain Python: `python3 -m unittest` here."""

import hashlib
import unittest

from signature import Check, Settings, SettingsError, canonical, check, sign

SECRET = "s3cret"
NOW_MS = 1_750_000_000_000
NOW = str(NOW_MS // 1000)
BODY_SHA = hashlib.sha256(b'{"model": "m"}').hexdigest()
SETTINGS = Settings.parse(
    {"keys": {"alice": SECRET, "bob": "other"}, "paths": {"bob": ["/v1/models"]}}
)


def run(
    key_id="alice",
    timestamp=NOW,
    signature=None,
    path="/v1/messages",
    query="",
    content=BODY_SHA,
    secret=SECRET,
):
    if signature is None:
        signature = sign(secret.encode(), "POST", path, query, timestamp, content)
    return check(SETTINGS, "POST", path, query, key_id, timestamp, signature, content, NOW_MS)


class SignatureTest(unittest.TestCase):
    def test_a_good_signature_is_allowed(self):
        result = run()
        self.assertEqual((result.kind, result.key_id), (Check.ALLOW, "alice"))
        self.assertEqual(run(query="beta=true&x=1").kind, Check.ALLOW)

    def test_what_is_signed(self):
        self.assertEqual(
            canonical("POST", "/v1/messages", "a=1", NOW, BODY_SHA),
            f"POST\n/v1/messages\na=1\n{NOW}\n{BODY_SHA}".encode(),
        )

    def test_no_headers_is_no_credentials(self):
        result = check(SETTINGS, "POST", "/v1/messages", "", None, None, None, None, NOW_MS)
        self.assertEqual(result.kind, Check.MISSING)

    def test_wrong_secret_unknown_key_or_garbage_is_invalid(self):
        self.assertEqual(run(secret="wrong").kind, Check.INVALID)
        self.assertEqual(run(key_id="mallory").kind, Check.INVALID)
        self.assertEqual(run(timestamp="soon").kind, Check.INVALID)
        self.assertEqual(run(signature="00").kind, Check.INVALID)

    def test_malformed_or_non_ascii_input_is_invalid_never_an_exception(self):
        # The host turns header bytes that are not UTF-8 into U+FFFD.
        for signature in ["\xe9", "\ufffd", "é" * 64, "\ud800", "", " "]:
            self.assertEqual(run(signature=signature).kind, Check.INVALID, repr(signature))
        for timestamp in ["²", "١٧٥٠٠٠٠٠٠٠", "1" * 400, "-1", "\ufffd"]:
            self.assertEqual(run(timestamp=timestamp).kind, Check.INVALID, repr(timestamp))
        for content in ["\ufffd" * 64, BODY_SHA.upper(), BODY_SHA[:-1], ""]:
            result = check(
                SETTINGS,
                "POST",
                "/v1/messages",
                "",
                "alice",
                NOW,
                sign(SECRET.encode(), "POST", "/v1/messages", "", NOW, BODY_SHA),
                content,
                NOW_MS,
            )
            self.assertEqual(result.kind, Check.INVALID, repr(content))
        self.assertEqual(run(key_id="\ufffd").kind, Check.INVALID)
        # A non-ASCII path or query is signed like any other.
        self.assertEqual(run(path="/v1/é", query="q=\ufffd").kind, Check.ALLOW)

    def test_the_signature_covers_path_query_and_body_hash(self):
        good = sign(SECRET.encode(), "POST", "/v1/messages", "a=1", NOW, BODY_SHA)
        for path, query, content in [
            ("/v1/other", "a=1", BODY_SHA),
            ("/v1/messages", "a=2", BODY_SHA),
            ("/v1/messages", "", BODY_SHA),
            ("/v1/messages", "a=1", hashlib.sha256(b"other").hexdigest()),
        ]:
            result = check(
                SETTINGS, "POST", path, query, "alice", NOW, good, content, NOW_MS
            )
            self.assertEqual(result.kind, Check.INVALID, (path, query))
        result = check(
            SETTINGS, "POST", "/v1/messages", "", "alice", NOW, good, BODY_SHA, NOW_MS
        )
        self.assertEqual(result.kind, Check.INVALID)

    def test_the_body_hash_header_is_required(self):
        result = check(
            SETTINGS,
            "POST",
            "/v1/messages",
            "",
            "alice",
            NOW,
            sign(SECRET.encode(), "POST", "/v1/messages", "", NOW, ""),
            None,
            NOW_MS,
        )
        self.assertEqual(result.kind, Check.INVALID)

    def test_a_timestamp_outside_the_replay_window_is_denied(self):
        stale = str(NOW_MS // 1000 - 61)
        result = run(timestamp=stale)
        self.assertEqual((result.kind, result.status), (Check.DENY, 401))
        self.assertIn("61 s", result.message)
        self.assertEqual(run(timestamp=str(NOW_MS // 1000 - 60)).kind, Check.ALLOW)
        future = str(NOW_MS // 1000 + 61)
        self.assertEqual(run(timestamp=future).kind, Check.DENY)

    def test_path_prefixes_limit_a_key(self):
        self.assertEqual(run(key_id="bob", secret="other", path="/v1/models").kind, Check.ALLOW)
        result = run(key_id="bob", secret="other", path="/v1/messages")
        self.assertEqual((result.kind, result.status), (Check.DENY, 403))
        # Dot segments and encoded separators cannot walk out of a prefix.
        for path in ["/v1/models/../messages", "/v1/models/%2e%2e/messages", "/v1/models%2F.."]:
            result = run(key_id="bob", secret="other", path=path)
            self.assertEqual((result.kind, result.status), (Check.DENY, 403), path)

    def test_bad_settings_are_rejected(self):
        for raw in [
            [],
            {"keys": {"a": ""}},
            {"keys": {"a": "x"}, "paths": {"b": ["/"]}},
            {"max-skew-seconds": 0},
            {"max-skew-seconds": True},
            {"unknown": 1},
        ]:
            with self.assertRaises(SettingsError, msg=repr(raw)):
                Settings.parse(raw)
        self.assertEqual(Settings.parse({}).keys, {})
        self.assertEqual(Settings.parse({}).max_skew_ms, 60_000)


if __name__ == "__main__":
    unittest.main()
