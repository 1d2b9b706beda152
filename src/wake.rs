//! The wake-up: how `close()` stops a loop blocked in `accept` or
//! `recv_from`, which `std` cannot interrupt.
//!
//! A TCP server's [`Closer::close`](crate::tcp::Closer::close) sets a flag
//! and connects to its own listener; a UDP socket's
//! [`SocketHandle::close`](crate::udp::SocketHandle::close) sets a flag and
//! sends it an empty datagram. Either way the blocked call returns, and the
//! loop sees the flag. Both send to the address this module works out.

use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr, SocketAddrV4, SocketAddrV6};

/// Where `close()` connects to wake the accept loop: the server's own
/// address, with a wildcard (`0.0.0.0`, `::`) replaced by loopback, since
/// one cannot connect to "any address". An IPv6 address keeps its scope id
/// (which interface a link-local `fe80::` address is on) and flow info:
/// without the scope id, a link-local address cannot be reached at all. The
/// `udp` module sends its wake-up datagram to the same place, for the same
/// reason.
pub(crate) fn wake_up_addr(addr: SocketAddr) -> SocketAddr {
    match addr {
        SocketAddr::V4(v4) if v4.ip().is_unspecified() => {
            SocketAddr::V4(SocketAddrV4::new(Ipv4Addr::LOCALHOST, v4.port()))
        }
        // A wildcard's scope id names no interface that ::1 is on.
        SocketAddr::V6(v6) if v6.ip().is_unspecified() => SocketAddr::V6(SocketAddrV6::new(
            Ipv6Addr::LOCALHOST,
            v6.port(),
            v6.flowinfo(),
            0,
        )),
        addr => addr,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_wake_up_address_keeps_an_ipv6_scope_id_and_flow_info() {
        // A link-local address means nothing without its interface: the
        // scope id (3 here) must survive, and so must the flow label. No
        // packet is sent: this only builds the address.
        let link_local: SocketAddr =
            SocketAddrV6::new("fe80::1".parse().unwrap(), 8124, 7, 3).into();
        assert_eq!(wake_up_addr(link_local), link_local);
        // A wildcard becomes loopback, of the same family, same port.
        let any_v6: SocketAddr = SocketAddrV6::new(Ipv6Addr::UNSPECIFIED, 8124, 7, 0).into();
        assert_eq!(
            wake_up_addr(any_v6),
            SocketAddr::V6(SocketAddrV6::new(Ipv6Addr::LOCALHOST, 8124, 7, 0))
        );
        assert_eq!(
            wake_up_addr("0.0.0.0:8124".parse().unwrap()),
            "127.0.0.1:8124".parse::<SocketAddr>().unwrap()
        );
        let v4: SocketAddr = "127.0.0.2:80".parse().unwrap();
        assert_eq!(wake_up_addr(v4), v4);
    }
}
