"""Unit tests of the signature check, under a plain Python: `python3 -m unittest` here."""

import unittest

from signature import Check, Settings, SettingsError, check, sign

SECRET = "s3cret"
NOW_MS = 1_750_000_000_000
NOW = str(NOW_MS // 1000)
SETTINGS = Settings.parse(
    {"keys": {"alice": SECRET, "bob": "other"}, "paths": {"bob": ["/v1/models"]}}
)


def run(key_id="alice", timestamp=NOW, signature=None, path="/v1/messages", secret=SECRET):
    if signature is None:
        signature = sign(secret.encode(), "POST", path, timestamp)
    return check(SETTINGS, "POST", path, key_id, timestamp, signature, NOW_MS)


class SignatureTest(unittest.TestCase):
    def test_a_good_signature_is_allowed(self):
        result = run()
        self.assertEqual((result.kind, result.key_id), (Check.ALLOW, "alice"))

    def test_no_headers_is_no_credentials(self):
        result = check(SETTINGS, "POST", "/v1/messages", None, None, None, NOW_MS)
        self.assertEqual(result.kind, Check.MISSING)

    def test_wrong_secret_unknown_key_or_garbage_is_invalid(self):
        self.assertEqual(run(secret="wrong").kind, Check.INVALID)
        self.assertEqual(run(key_id="mallory").kind, Check.INVALID)
        self.assertEqual(run(timestamp="soon").kind, Check.INVALID)
        self.assertEqual(run(signature="00").kind, Check.INVALID)

    def test_the_signature_covers_the_path(self):
        good = sign(SECRET.encode(), "POST", "/v1/messages", NOW)
        result = check(SETTINGS, "POST", "/v1/other", "alice", NOW, good, NOW_MS)
        self.assertEqual(result.kind, Check.INVALID)

    def test_a_stale_timestamp_is_denied(self):
        stale = str(NOW_MS // 1000 - 301)
        result = run(timestamp=stale)
        self.assertEqual((result.kind, result.status), (Check.DENY, 401))
        self.assertIn("301 s", result.message)
        self.assertEqual(run(timestamp=str(NOW_MS // 1000 - 300)).kind, Check.ALLOW)

    def test_path_prefixes_limit_a_key(self):
        self.assertEqual(run(key_id="bob", secret="other", path="/v1/models").kind, Check.ALLOW)
        result = run(key_id="bob", secret="other", path="/v1/messages")
        self.assertEqual((result.kind, result.status), (Check.DENY, 403))

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


if __name__ == "__main__":
    unittest.main()
