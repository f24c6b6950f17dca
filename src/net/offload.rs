//! Offload switches (`ethtool:` in config, and tx-checksum off on veths)
//! through the SIOCETHTOOL ioctl, with the legacy per-feature commands that
//! `ethtool --offload DEV FEATURE on|off` maps to.

use std::os::fd::RawFd;

use super::errors::{NetError, Result};
use super::ethtool::{Offload, OffloadFeature};

const SIOCETHTOOL: libc::c_ulong = 0x8946;

/// (get, set) command numbers from linux/ethtool.h.
fn commands(f: OffloadFeature) -> (u32, u32) {
    match f {
        OffloadFeature::Rx => (0x14, 0x15),  // ETHTOOL_GRXCSUM / SRXCSUM
        OffloadFeature::Tx => (0x16, 0x17),  // ETHTOOL_GTXCSUM / STXCSUM
        OffloadFeature::Sg => (0x18, 0x19),  // ETHTOOL_GSG / SSG
        OffloadFeature::Tso => (0x1e, 0x1f), // ETHTOOL_GTSO / STSO
        OffloadFeature::Gso => (0x23, 0x24), // ETHTOOL_GGSO / SGSO
        OffloadFeature::Gro => (0x2b, 0x2c), // ETHTOOL_GGRO / SGRO
    }
}

pub fn feature_name(f: OffloadFeature) -> &'static str {
    match f {
        OffloadFeature::Rx => "rx",
        OffloadFeature::Tx => "tx",
        OffloadFeature::Sg => "sg",
        OffloadFeature::Tso => "tso",
        OffloadFeature::Gso => "gso",
        OffloadFeature::Gro => "gro",
    }
}

/// struct ethtool_value
#[repr(C)]
struct EthtoolValue {
    cmd: u32,
    data: u32,
}

/// struct ifreq with the ifr_data member
#[repr(C)]
struct IfreqData {
    name: [libc::c_char; libc::IFNAMSIZ],
    data: *mut libc::c_void,
    _pad: [u8; 16],
}

fn ethtool_value(sock: RawFd, dev: &str, cmd: u32, data: u32) -> std::io::Result<u32> {
    if dev.len() >= libc::IFNAMSIZ {
        return Err(std::io::Error::from_raw_os_error(libc::ENODEV));
    }
    let mut value = EthtoolValue { cmd, data };
    let mut ifr = IfreqData {
        name: [0; libc::IFNAMSIZ],
        data: (&mut value as *mut EthtoolValue).cast(),
        _pad: [0; 16],
    };
    for (d, s) in ifr.name.iter_mut().zip(dev.bytes()) {
        *d = s as libc::c_char;
    }
    // SAFETY: ifr and value live across the call; the kernel reads/writes
    // exactly struct ifreq and struct ethtool_value.
    let rc = unsafe { libc::ioctl(sock, SIOCETHTOOL as _, &mut ifr as *mut IfreqData) };
    if rc < 0 {
        return Err(std::io::Error::last_os_error());
    }
    Ok(value.data)
}

/// Switch one offload feature of `dev` (in the namespace of `sock`).
pub fn set(sock: RawFd, dev: &str, o: Offload) -> Result<()> {
    let (_, set) = commands(o.feature);
    ethtool_value(sock, dev, set, u32::from(o.enabled)).map_err(|e| {
        NetError::io(
            format!(
                "set offload {} {} on {dev}",
                feature_name(o.feature),
                if o.enabled { "on" } else { "off" }
            ),
            e,
        )
    })?;
    Ok(())
}

/// Read one offload feature of `dev` (in the namespace of `sock`).
pub fn get(sock: RawFd, dev: &str, f: OffloadFeature) -> Result<bool> {
    let (get, _) = commands(f);
    ethtool_value(sock, dev, get, 0)
        .map(|v| v != 0)
        .map_err(|e| NetError::io(format!("get offload {} of {dev}", feature_name(f)), e))
}

/// [`get`] in the namespace `ns` (handy for checks and tests).
pub fn get_in(ns: &super::netns::Netns, dev: &str, f: OffloadFeature) -> Result<bool> {
    get(ns.ioctl_fd(), dev, f)
}
