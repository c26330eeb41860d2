//! How per-address rules count a client: IPv4 addresses one by one, IPv6 addresses per /64 (one
//! host usually owns a whole /64, so counting single IPv6 addresses would let it count as
//! billions of clients), and an IPv4-mapped IPv6 address as its IPv4 address.
//!
//! Every per-address rule uses this one grouping: the per-IP connection cap, and the bans and
//! fault counts that come with the control-plane rules.

use std::net::{IpAddr, Ipv4Addr};

/// What a per-address rule counts a client address as.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AddressGroup {
    /// One IPv4 address.
    V4(Ipv4Addr),
    /// The first 64 bits of an IPv6 address.
    V6Prefix(u64),
}

impl AddressGroup {
    /// The group of `ip`.
    pub fn of(ip: IpAddr) -> Self {
        match ip.to_canonical() {
            IpAddr::V4(v4) => AddressGroup::V4(v4),
            IpAddr::V6(v6) => AddressGroup::V6Prefix((u128::from(v6) >> 64) as u64),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn group(text: &str) -> AddressGroup {
        AddressGroup::of(text.parse().unwrap())
    }

    #[test]
    fn ipv6_groups_per_64_and_mapped_ipv4_as_ipv4() {
        assert_eq!(group("2001:db8::1"), group("2001:db8::ffff:1"));
        assert_ne!(group("2001:db8::1"), group("2001:db8:0:1::1"));
        assert_eq!(group("::ffff:192.0.2.1"), group("192.0.2.1"));
        assert_ne!(group("192.0.2.1"), group("192.0.2.2"));
    }
}
