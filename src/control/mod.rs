//! Runtime control of a running sidecar over a local Unix socket
//! (HTTP/1.1 with JSON bodies, paths under `/v1`): the API's types and the
//! trait the sidecar implements ([`api`]).

pub mod api;
