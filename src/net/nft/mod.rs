//! nftables over NETLINK_NETFILTER, built with netlink-packet-netfilter:
//! stateless NAT inside a target namespace ([`nat`]) and port forwards in
//! conlink's namespace ([`forward`]). Expressions the crate has no type for
//! (`nat`, `masq`) are encoded in [`expr`].

pub mod batch;
pub mod expr;
pub mod forward;
pub mod nat;
