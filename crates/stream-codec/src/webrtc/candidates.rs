//! ICE host candidates: which local addresses the answer offers to the browser.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

/// The host candidate IPs for a server listening on `listen`: the address itself when it is
/// specific (`192.168.1.10`, `127.0.0.1`), else every up, non-loopback, non-link-local address
/// of the machine in the same family, plus loopback (for a browser on the same machine).
///
/// ```
/// use std::net::IpAddr;
/// use stream_codec::webrtc::default_candidate_ips;
///
/// let local: IpAddr = "127.0.0.1".parse().expect("ip");
/// assert_eq!(default_candidate_ips(local), vec![local]);
/// let any: IpAddr = "0.0.0.0".parse().expect("ip");
/// assert!(default_candidate_ips(any).contains(&"127.0.0.1".parse::<IpAddr>().expect("ip")));
/// ```
pub fn default_candidate_ips(listen: IpAddr) -> Vec<IpAddr> {
    if !listen.is_unspecified() {
        return vec![listen];
    }
    let want_v4 = listen.is_ipv4();
    let mut ips: Vec<IpAddr> = if_addrs::get_if_addrs()
        .unwrap_or_default()
        .into_iter()
        .filter(|i| i.is_oper_up() || i.oper_status == if_addrs::IfOperStatus::Unknown)
        .map(|i| i.ip())
        .filter(|ip| ip.is_ipv4() == want_v4 && !ip.is_loopback() && !is_link_local(ip))
        .collect();
    ips.sort();
    ips.dedup();
    ips.push(if want_v4 {
        IpAddr::V4(Ipv4Addr::LOCALHOST)
    } else {
        IpAddr::V6(Ipv6Addr::LOCALHOST)
    });
    ips
}

fn is_link_local(ip: &IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => v4.is_link_local(),
        IpAddr::V6(v6) => (v6.segments()[0] & 0xffc0) == 0xfe80,
    }
}

/// The local address a datagram from `source` arrived on, for a socket bound to `bound`.
///
/// A socket bound to a specific address knows it. A socket bound to the unspecified address
/// (`0.0.0.0`) cannot tell without `IP_PKTINFO`; loopback senders reach the loopback candidate,
/// others the first non-loopback candidate of their family (exact for a machine with one
/// address; on a multi-homed machine give `candidate_ips` one address or bind a specific one).
pub(crate) fn arrival_address(
    bound: SocketAddr,
    source: SocketAddr,
    candidates: &[IpAddr],
) -> SocketAddr {
    if !bound.ip().is_unspecified() {
        return bound;
    }
    let port = bound.port();
    let family: Vec<&IpAddr> = candidates
        .iter()
        .filter(|ip| ip.is_ipv4() == source.ip().is_ipv4())
        .collect();
    let pick = match family.as_slice() {
        [] => None,
        [only] => Some(*only),
        many => {
            let want_loopback = source.ip().is_loopback();
            many.iter()
                .find(|ip| ip.is_loopback() == want_loopback)
                .or(many.first())
                .copied()
        }
    };
    match pick {
        Some(ip) => SocketAddr::new(*ip, port),
        None => SocketAddr::new(source.ip(), port),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arrival_on_unspecified_socket() {
        let bound: SocketAddr = "0.0.0.0:5000".parse().expect("addr");
        let cands: Vec<IpAddr> = vec![
            "192.0.2.2".parse().expect("ip"),
            "127.0.0.1".parse().expect("ip"),
        ];
        let lo: SocketAddr = "127.0.0.1:40000".parse().expect("addr");
        let lan: SocketAddr = "192.0.2.9:40000".parse().expect("addr");
        assert_eq!(
            arrival_address(bound, lo, &cands),
            "127.0.0.1:5000".parse().expect("addr")
        );
        assert_eq!(
            arrival_address(bound, lan, &cands),
            "192.0.2.2:5000".parse().expect("addr")
        );
        let specific: SocketAddr = "127.0.0.1:6000".parse().expect("addr");
        assert_eq!(arrival_address(specific, lan, &cands), specific);
    }
}
