//! Runtime control of a running sidecar over a local Unix socket
//! (HTTP/1.1 with JSON bodies, paths under `/v1`; docs/control.md): the
//! API's types and the trait the sidecar implements ([`api`]), the server
//! ([`server`]) with its socket file and packet capture, and the client
//! side of the `conlink` subcommands ([`client`], [`commands`], [`show`]).

pub mod api;
pub mod capture;
pub mod client;
pub mod commands;
pub(crate) mod http;
mod packet_socket;
pub mod pcap;
pub mod server;
pub mod show;
pub mod socket_file;
pub(crate) mod streams;
