//! Config snippets the test modules share: credential lists on the mock upstream.

use switchyard_mock::MockUpstream;

/// `list` (e.g. `claude-api-key`) with one entry per key, each on the mock.
pub(crate) fn keys(list: &str, mock: &MockUpstream, keys: &[&str]) -> String {
    super::provider_keys(list, &mock.base_url(), keys)
}

/// `claude-api-key` with one entry per key, each on the mock.
pub(crate) fn claude(mock: &MockUpstream, claude_keys: &[&str]) -> String {
    keys("claude-api-key", mock, claude_keys)
}
