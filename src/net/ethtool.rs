//! Offload settings (`ethtool:` in config, e.g. `"--offload tx off"`). The
//! config parser builds these; the link engine applies them with the
//! SIOCETHTOOL ioctl.

use serde::Serialize;

/// The offload features conlink can switch, with ethtool's short names
/// (`tx`) and long names (`tx-checksumming`) both accepted by the parser.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum OffloadFeature {
    /// rx-checksumming
    Rx,
    /// tx-checksumming
    Tx,
    /// scatter-gather
    Sg,
    /// tcp-segmentation-offload
    Tso,
    /// generic-segmentation-offload
    Gso,
    /// generic-receive-offload
    Gro,
}

/// One `feature on|off` setting.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Offload {
    pub feature: OffloadFeature,
    pub enabled: bool,
}
