//! A token a cell holds: the set the server gave, and the header it is sent as.

use std::time::SystemTime;

use http::HeaderValue;
use switchyard_oauth::TokenSet;

/// One token set in use. `Debug` never prints a token.
pub(crate) struct Issued {
    /// `Bearer <access token>`, marked sensitive.
    pub header: HeaderValue,
    /// The set (with the refresh token, for rotating credentials).
    pub set: TokenSet,
    /// When it was obtained (or learned); with the expiry, it decides the renewal time.
    pub issued_at: SystemTime,
    /// Increases with every set the cell installs: a 401 revokes the sets up to its own.
    pub serial: u64,
}

impl std::fmt::Debug for Issued {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Issued")
            .field("set", &self.set)
            .field("serial", &self.serial)
            .finish_non_exhaustive()
    }
}

impl Issued {
    /// The set as a bearer header; `None` when its access token cannot be a header value
    /// (or is empty).
    pub(crate) fn new(set: TokenSet, issued_at: SystemTime, serial: u64) -> Option<Issued> {
        if set.access_token.is_empty() {
            return None;
        }
        let mut header = HeaderValue::from_str(&format!("Bearer {}", set.access_token)).ok()?;
        header.set_sensitive(true);
        Some(Issued {
            header,
            set,
            issued_at,
            serial,
        })
    }
}
