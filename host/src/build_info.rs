//! What this build of switchyard is: its version, the commit it was built from and that
//! commit's date. The management API sends them as `X-CPA-VERSION`, `X-CPA-COMMIT` and
//! `X-CPA-BUILD-DATE`.
//!
//! The commit comes from the `switchyard` binary, which reads its checkout's `HEAD` reflog at
//! compile time ([`HeadEntry::from_reflog`], see `host/build/build_info.rs`) and
//! [`record`]s it at start; the library alone (tests, an embedding program that records
//! nothing) says `unknown`.

use std::sync::OnceLock;
use std::time::{Duration, SystemTime};

/// The crate version (`0.1.0`).
pub(crate) const VERSION: &str = env!("CARGO_PKG_VERSION");

/// The commit and date when nothing was recorded.
pub(crate) const UNKNOWN: &str = "unknown";

/// Where a checkout's `HEAD` stood: the last entry of its reflog.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HeadEntry {
    hash: [u8; 64],
    len: usize,
    seconds: u64,
}

impl HeadEntry {
    /// The last line of a reflog — `<old> <new> <name> <<email>> <unix seconds> <zone>\t<message>`
    /// — as the commit `HEAD` moved to (40 or 64 hex digits) and when; `None` for an empty
    /// reflog or a line that does not parse. A `const fn`, so the binary keeps only the result,
    /// never the reflog.
    pub const fn from_reflog(reflog: &[u8]) -> Option<HeadEntry> {
        let mut end = reflog.len();
        while end > 0 && reflog[end - 1] == b'\n' {
            end -= 1;
        }
        let mut start = end;
        while start > 0 && reflog[start - 1] != b'\n' {
            start -= 1;
        }
        // `<old> `: skip it.
        let mut at = start;
        while at < end && reflog[at] != b' ' {
            at += 1;
        }
        at += 1;
        // `<new>`.
        let mut hash = [0u8; 64];
        let mut len = 0;
        while at < end && reflog[at] != b' ' {
            if len == 64 || !reflog[at].is_ascii_hexdigit() {
                return None;
            }
            hash[len] = reflog[at].to_ascii_lowercase();
            len += 1;
            at += 1;
        }
        if len != 40 && len != 64 {
            return None;
        }
        // `… <seconds> <zone>` ends where the message begins.
        let mut tab = at;
        while tab < end && reflog[tab] != b'\t' {
            tab += 1;
        }
        let mut zone = tab;
        while zone > at && reflog[zone - 1] != b' ' {
            zone -= 1;
        }
        if zone == at {
            return None;
        }
        let mut digits = zone - 1;
        while digits > at && reflog[digits - 1].is_ascii_digit() {
            digits -= 1;
        }
        if digits == zone - 1 {
            return None;
        }
        let mut seconds: u64 = 0;
        while digits < zone - 1 {
            seconds = seconds
                .saturating_mul(10)
                .saturating_add((reflog[digits] - b'0') as u64);
            digits += 1;
        }
        Some(HeadEntry { hash, len, seconds })
    }

    /// The commit's full hash.
    pub fn commit(&self) -> &str {
        std::str::from_utf8(&self.hash[..self.len]).unwrap_or(UNKNOWN)
    }

    /// When `HEAD` moved there (for a commit, the commit's time), UTC, as
    /// `2026-12-01T09:30:00Z`.
    pub fn date(&self) -> String {
        let time = SystemTime::UNIX_EPOCH + Duration::from_secs(self.seconds);
        let text = crate::usage::record::rfc3339(time);
        // Whole seconds: drop `.000`.
        match text.split_once('.') {
            Some((seconds, _)) => format!("{seconds}Z"),
            None => text,
        }
    }
}

/// The commit and date recorded at start.
static BUILT_FROM: OnceLock<(String, String)> = OnceLock::new();

/// Records where the build's checkout stood (`None`: outside a git checkout). The first call
/// wins.
pub fn record(head: Option<HeadEntry>) {
    let _ = BUILT_FROM.get_or_init(|| match head {
        Some(head) => (head.commit().to_owned(), head.date()),
        None => (UNKNOWN.to_owned(), UNKNOWN.to_owned()),
    });
}

/// The full hash of the commit built, or `unknown`.
pub(crate) fn commit() -> &'static str {
    BUILT_FROM.get().map_or(UNKNOWN, |(commit, _)| commit)
}

/// The date of that commit, UTC (`2026-12-01T09:30:00Z`), or `unknown`.
pub(crate) fn date() -> &'static str {
    BUILT_FROM.get().map_or(UNKNOWN, |(_, date)| date)
}

#[cfg(test)]
mod tests {
    use super::*;

    const SHA1: &str = "0123456789abcdef0123456789abcdef01234567";

    #[test]
    fn the_last_reflog_line_names_the_commit_and_its_time() {
        let reflog = format!(
            "{zero} {older} A <a@x> 1700000000 +0100\tclone: from x\n\
             {older} {SHA1} A U Thor <a@x> 1796529234 -0700\tcommit: a message with 12 34\n",
            zero = "0".repeat(40),
            older = "f".repeat(40),
        );
        let head = HeadEntry::from_reflog(reflog.as_bytes()).unwrap();
        assert_eq!(head.commit(), SHA1);
        assert_eq!(head.date(), "2026-12-06T03:53:54Z");
        let sha256 = format!("{} {} B <b@x> 0 +0000\tx", "0".repeat(64), "A".repeat(64));
        let head = HeadEntry::from_reflog(sha256.as_bytes()).unwrap();
        assert_eq!(head.commit(), "a".repeat(64));
        assert_eq!(head.date(), "1970-01-01T00:00:00Z");
        for broken in [
            "",
            "\n\n",
            "abc",
            &format!("{} xyz A <a@x> 1 +0000\tm", "0".repeat(40)),
            &format!("{} {SHA1} A <a@x> +0000\tm", "0".repeat(40)),
            &format!("{} {SHA1}", "0".repeat(40)),
        ] {
            assert_eq!(
                HeadEntry::from_reflog(broken.as_bytes()),
                None,
                "{broken:?}"
            );
        }
    }

    #[test]
    fn nothing_recorded_is_unknown() {
        // The library's tests never record: the binary does.
        assert_eq!(commit(), UNKNOWN);
        assert_eq!(date(), UNKNOWN);
    }
}
