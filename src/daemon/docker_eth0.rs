//! conlink's own Docker-provided `eth0` is renamed `DOCKER-ETH0` (keeping
//! its addresses and routes) so links named eth0 never collide with it, and
//! so port forwards have a fixed name to match incoming traffic on.

use super::DockerEth0;
use crate::net;

pub const NAME: &str = "DOCKER-ETH0";

/// Rename eth0 if conlink's namespace has one; `None` when it has not
/// (e.g. `network_mode: none`, or running outside a container).
pub async fn adopt(net: &net::Engine) -> anyhow::Result<Option<DockerEth0>> {
    let name: net::addr::IfName = NAME.parse().expect("constant interface name is valid");
    let addr = match net.rename_keeping_routes("eth0", &name).await? {
        Some(addr) => addr,
        None => match net.ipv4_of(&name).await? {
            // An earlier run already renamed it.
            Some(addr) => addr,
            None => return Ok(None),
        },
    };
    // Docker gives conlink an IPv6 address on networks with IPv6 on;
    // forwards to IPv6 link addresses are published on it.
    let addr6 = net.ipv6_of(&name).await?;
    tracing::info!("Renamed conlink's eth0 to {NAME} ({addr})");
    if let Some(a6) = addr6 {
        tracing::info!("{NAME} has IPv6 address {a6}: forwards to IPv6 link addresses use it");
    }
    Ok(Some(DockerEth0 { name, addr, addr6 }))
}
