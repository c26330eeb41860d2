//! How per-address rules count a client: IPv4 addresses one by one, IPv6 addresses per /64 (one
//! host usually owns a whole /64, so counting single IPv6 addresses would let it count as
//! billions of clients), and an IPv4-mapped IPv6 address as its IPv4 address.
//!
//! Every per-address rule uses this one grouping: the per-IP connection cap, and the bans and
//! fault counts that come with the control-plane rules.
//!
//! Which address that is comes from [`resolve`]: the TCP peer, or, for a peer listed in
//! `trusted-proxies`, the hop it names in `X-Forwarded-For`.

use std::net::{IpAddr, Ipv4Addr};

use http::HeaderMap;

/// What a per-address rule counts a client address as.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum AddressGroup {
    /// One IPv4 address.
    V4(Ipv4Addr),
    /// The first 64 bits of an IPv6 address.
    V6Prefix(u64),
}

impl AddressGroup {
    /// The group of `ip`.
    pub(crate) fn of(ip: IpAddr) -> Self {
        match ip.to_canonical() {
            IpAddr::V4(v4) => AddressGroup::V4(v4),
            IpAddr::V6(v6) => AddressGroup::V6Prefix((u128::from(v6) >> 64) as u64),
        }
    }
}

/// The proxies whose `X-Forwarded-For` is believed (`trusted-proxies`): address blocks, each an
/// address and a prefix length. Empty by default: no header is believed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TrustedProxies {
    blocks: Vec<(IpAddr, u8)>,
}

/// Why a `trusted-proxies` entry is not an address block.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{0}` is not an IP address or CIDR block (such as 10.0.0.0/8 or ::1/128)")]
pub struct InvalidBlock(pub String);

impl TrustedProxies {
    /// Parses entries such as `10.0.0.0/8`, `::1/128` or a single address.
    pub fn parse<'a>(entries: impl IntoIterator<Item = &'a str>) -> Result<Self, InvalidBlock> {
        let blocks = entries
            .into_iter()
            .map(parse_block)
            .collect::<Result<_, _>>()?;
        Ok(TrustedProxies { blocks })
    }

    /// Whether the list is empty.
    pub fn is_empty(&self) -> bool {
        self.blocks.is_empty()
    }

    /// Whether `ip` lies in one of the blocks (an IPv4-mapped IPv6 address as its IPv4 address).
    pub fn contains(&self, ip: IpAddr) -> bool {
        let ip = ip.to_canonical();
        self.blocks
            .iter()
            .any(|&(network, prefix)| match (network, ip) {
                (IpAddr::V4(n), IpAddr::V4(a)) => {
                    masked(u128::from(u32::from(n)), 32, prefix)
                        == masked(u128::from(u32::from(a)), 32, prefix)
                }
                (IpAddr::V6(n), IpAddr::V6(a)) => {
                    masked(u128::from(n), 128, prefix) == masked(u128::from(a), 128, prefix)
                }
                _ => false,
            })
    }
}

/// The top `prefix` bits of a `width`-bit value.
fn masked(value: u128, width: u32, prefix: u8) -> u128 {
    let drop = width - u32::from(prefix);
    value.checked_shr(drop).unwrap_or(0)
}

fn parse_block(text: &str) -> Result<(IpAddr, u8), InvalidBlock> {
    let invalid = || InvalidBlock(text.to_owned());
    let trimmed = text.trim();
    let (address, prefix) = match trimmed.split_once('/') {
        Some((address, prefix)) => (address, Some(prefix)),
        None => (trimmed, None),
    };
    let ip = address
        .parse::<IpAddr>()
        .map_err(|_| invalid())?
        .to_canonical();
    let width = if ip.is_ipv4() { 32 } else { 128 };
    let prefix = match prefix {
        None => width,
        Some(digits) if !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()) => {
            digits.parse::<u8>().map_err(|_| invalid())?
        }
        Some(_) => return Err(invalid()),
    };
    if prefix > width {
        return Err(invalid());
    }
    Ok((ip, prefix))
}

/// Who a request comes from, for every per-address rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct ClientAddress {
    /// The client's address: the TCP peer, or for a trusted proxy the hop it forwarded for.
    pub ip: IpAddr,
    /// This machine, talking to us directly: a loopback peer (`127.0.0.1`, `::1`,
    /// `::ffff:127.0.0.1`) that is not a trusted proxy.
    pub local: bool,
}

impl ClientAddress {
    /// A connection without headers (the RESP port): the peer itself, local only when it is
    /// loopback and not a trusted proxy.
    pub(crate) fn of_peer(peer: IpAddr, trusted: &TrustedProxies) -> Self {
        ClientAddress {
            ip: peer,
            local: is_loopback_peer(peer) && !trusted.contains(peer),
        }
    }
}

/// Whether the TCP peer is this machine: `127.0.0.1`, `::1` or `::ffff:127.0.0.1` exactly.
pub(crate) fn is_loopback_peer(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => v4 == Ipv4Addr::LOCALHOST,
        IpAddr::V6(v6) => {
            v6 == std::net::Ipv6Addr::LOCALHOST || v6.to_ipv4_mapped() == Some(Ipv4Addr::LOCALHOST)
        }
    }
}

/// THE resolver. For a peer that is not a trusted proxy, the peer (headers are ignored). For a
/// trusted proxy, the rightmost `X-Forwarded-For` hop (over every such header, in order) that is
/// not itself trusted; when every hop is trusted, the leftmost one; with no hop, the peer. A hop
/// that is not an address ends the walk: the client is then the nearest trusted hop to its
/// right (or the peer). A trusted proxy, and any address it forwards for, is never local.
pub(crate) fn resolve(
    peer: IpAddr,
    headers: &HeaderMap,
    trusted: &TrustedProxies,
) -> ClientAddress {
    if !trusted.contains(peer) {
        return ClientAddress::of_peer(peer, trusted);
    }
    let hops: Vec<&str> = headers
        .get_all("x-forwarded-for")
        .iter()
        .flat_map(|value| value.to_str().unwrap_or("").split(','))
        .map(str::trim)
        .collect();
    let mut client = peer;
    for hop in hops.iter().rev() {
        let Some(ip) = parse_hop(hop) else { break };
        client = ip;
        if !trusted.contains(ip) {
            break;
        }
    }
    ClientAddress {
        ip: client,
        local: false,
    }
}

/// One `X-Forwarded-For` hop: an address, or an address with a port (`1.2.3.4:5`, `[::1]:5`).
fn parse_hop(hop: &str) -> Option<IpAddr> {
    hop.parse::<IpAddr>()
        .ok()
        .or_else(|| hop.parse::<std::net::SocketAddr>().ok().map(|s| s.ip()))
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

    fn trusted(entries: &[&str]) -> TrustedProxies {
        TrustedProxies::parse(entries.iter().copied()).unwrap()
    }

    fn forwarded(values: &[&str]) -> HeaderMap {
        let mut headers = HeaderMap::new();
        for value in values {
            headers.append("x-forwarded-for", value.parse().unwrap());
        }
        headers
    }

    fn ip(text: &str) -> IpAddr {
        text.parse().unwrap()
    }

    #[test]
    fn blocks_parse_and_match() {
        let list = trusted(&["10.0.0.0/8", "::1/128", "192.0.2.7", "2001:db8::/32"]);
        for inside in [
            "10.1.2.3",
            "::1",
            "192.0.2.7",
            "::ffff:10.0.0.1",
            "2001:db8:1::9",
        ] {
            assert!(list.contains(ip(inside)), "{inside}");
        }
        for outside in ["11.0.0.1", "127.0.0.1", "192.0.2.8", "2001:db9::1"] {
            assert!(!list.contains(ip(outside)), "{outside}");
        }
        assert!(trusted(&["0.0.0.0/0"]).contains(ip("203.0.113.9")));
        for bad in [
            "10.0.0.0/33",
            "::/129",
            "10.0.0/8",
            "nope",
            "10.0.0.0/",
            "10.0.0.0/+8",
        ] {
            assert!(TrustedProxies::parse([bad]).is_err(), "{bad}");
        }
    }

    #[test]
    fn a_trusted_proxy_names_the_rightmost_untrusted_hop() {
        let list = trusted(&["127.0.0.1/32", "10.0.0.0/8"]);
        let peer = ip("127.0.0.1");
        let resolved = resolve(
            peer,
            &forwarded(&["198.51.100.1, 203.0.113.9, 10.0.0.2"]),
            &list,
        );
        assert_eq!(
            resolved,
            ClientAddress {
                ip: ip("203.0.113.9"),
                local: false
            }
        );
        // Several header lines are one list, in order.
        let split = resolve(peer, &forwarded(&["198.51.100.1", "203.0.113.9"]), &list);
        assert_eq!(split.ip, ip("203.0.113.9"));
        // Every hop trusted: the leftmost.
        let all = resolve(peer, &forwarded(&["10.0.0.3, 10.0.0.2"]), &list);
        assert_eq!(all.ip, ip("10.0.0.3"));
        // No header: the proxy itself, and it is not local.
        assert_eq!(
            resolve(peer, &HeaderMap::new(), &list),
            ClientAddress {
                ip: peer,
                local: false
            }
        );
        // Garbage ends the walk at the nearest trusted hop.
        let garbage = resolve(peer, &forwarded(&["203.0.113.9, unknown, 10.0.0.2"]), &list);
        assert_eq!(
            garbage,
            ClientAddress {
                ip: ip("10.0.0.2"),
                local: false
            }
        );
        let with_port = resolve(peer, &forwarded(&["[2001:db8::5]:443"]), &list);
        assert_eq!(with_port.ip, ip("2001:db8::5"));
    }

    #[test]
    fn an_untrusted_peer_is_itself_whatever_it_forwards() {
        let none = TrustedProxies::default();
        let header = forwarded(&["203.0.113.9"]);
        assert_eq!(
            resolve(ip("127.0.0.1"), &header, &none),
            ClientAddress {
                ip: ip("127.0.0.1"),
                local: true
            }
        );
        assert_eq!(
            resolve(ip("198.51.100.4"), &header, &trusted(&["10.0.0.0/8"])),
            ClientAddress {
                ip: ip("198.51.100.4"),
                local: false
            }
        );
        assert!(!resolve(ip("127.0.0.2"), &header, &none).local);
        assert!(ClientAddress::of_peer(ip("::1"), &none).local);
        assert!(!ClientAddress::of_peer(ip("::1"), &trusted(&["::1"])).local);
    }
}
