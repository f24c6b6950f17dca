//! Offload switches (`ethtool:` in config, and tx-checksum off on veths)
//! through the SIOCETHTOOL ioctl, as `ethtool -K DEV FEATURE on|off` does:
//!
//! - the six classic features with a per-feature command (rx, tx, sg, tso,
//!   gso, gro) use it: one ioctl, the same feature masks as ethtool;
//! - every other name is one of the kernel's feature strings (ETH_SS_FEATURES):
//!   conlink reads the device's strings and features (ETHTOOL_GSSET_INFO,
//!   ETHTOOL_GSTRINGS, ETHTOOL_GFEATURES) and sets the bit with
//!   ETHTOOL_SFEATURES. A name the device's kernel does not list, or a
//!   feature fixed in the other state, is an error naming both.

use std::os::fd::RawFd;

use super::errors::{NetError, Result};
use super::ethtool::{Offload, OffloadFeature};

const SIOCETHTOOL: libc::c_ulong = 0x8946;

const ETHTOOL_GSTRINGS: u32 = 0x1b;
const ETHTOOL_GSSET_INFO: u32 = 0x37;
const ETHTOOL_GFEATURES: u32 = 0x3a;
const ETHTOOL_SFEATURES: u32 = 0x3b;
const ETH_SS_FEATURES: u32 = 4;
const ETH_GSTRING_LEN: usize = 32;
/// ETHTOOL_SFEATURES' answer: some requested change did not happen (the
/// kernel's feature dependencies won).
const ETHTOOL_F_WISH: i32 = 1 << 1;

/// (get, set) command numbers from linux/ethtool.h, for the features that
/// have them.
fn commands(f: OffloadFeature) -> Option<(u32, u32)> {
    Some(match f {
        OffloadFeature::Rx => (0x14, 0x15),  // ETHTOOL_GRXCSUM / SRXCSUM
        OffloadFeature::Tx => (0x16, 0x17),  // ETHTOOL_GTXCSUM / STXCSUM
        OffloadFeature::Sg => (0x18, 0x19),  // ETHTOOL_GSG / SSG
        OffloadFeature::Tso => (0x1e, 0x1f), // ETHTOOL_GTSO / STSO
        OffloadFeature::Gso => (0x23, 0x24), // ETHTOOL_GGSO / SGSO
        OffloadFeature::Gro => (0x2b, 0x2c), // ETHTOOL_GGRO / SGRO
        _ => return None,
    })
}

/// struct ifreq with the ifr_data member
#[repr(C)]
struct IfreqData {
    name: [libc::c_char; libc::IFNAMSIZ],
    data: *mut libc::c_void,
    _pad: [u8; 16],
}

/// SIOCETHTOOL on `dev` with the command structure at `data`; the ioctl's
/// non-negative return value.
///
/// # Safety
/// `data` must point to a live, writable ethtool command structure whose
/// size matches what its `cmd` (and size fields) tell the kernel.
unsafe fn ethtool_ioctl(sock: RawFd, dev: &str, data: *mut libc::c_void) -> std::io::Result<i32> {
    if dev.len() >= libc::IFNAMSIZ {
        return Err(std::io::Error::from_raw_os_error(libc::ENODEV));
    }
    let mut ifr = IfreqData {
        name: [0; libc::IFNAMSIZ],
        data,
        _pad: [0; 16],
    };
    for (d, s) in ifr.name.iter_mut().zip(dev.bytes()) {
        *d = s as libc::c_char;
    }
    // SAFETY: ifr lives across the call; the caller vouches for `data`.
    let rc = unsafe { libc::ioctl(sock, SIOCETHTOOL as _, &mut ifr as *mut IfreqData) };
    if rc < 0 {
        return Err(std::io::Error::last_os_error());
    }
    Ok(rc)
}

/// struct ethtool_value
#[repr(C)]
struct EthtoolValue {
    cmd: u32,
    data: u32,
}

fn ethtool_value(sock: RawFd, dev: &str, cmd: u32, data: u32) -> std::io::Result<u32> {
    let mut value = EthtoolValue { cmd, data };
    // SAFETY: struct ethtool_value is what the per-feature commands read
    // and write.
    unsafe { ethtool_ioctl(sock, dev, (&mut value as *mut EthtoolValue).cast())? };
    Ok(value.data)
}

/// struct ethtool_sset_info, with room for one count.
#[repr(C)]
struct SsetInfo {
    cmd: u32,
    reserved: u32,
    sset_mask: u64,
    data: [u32; 2],
}

/// A device's offload features as the kernel lists them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Features {
    /// The feature strings, in bit order.
    pub names: Vec<String>,
    /// Per bit: may be changed (hw_features).
    pub changeable: Vec<bool>,
    /// Per bit: on now.
    pub active: Vec<bool>,
}

impl Features {
    pub fn index(&self, name: &str) -> Option<usize> {
        self.names.iter().position(|n| n == name)
    }
    /// Whether feature `name` is on, if the device lists it.
    pub fn is_on(&self, name: &str) -> Option<bool> {
        self.index(name).map(|i| self.active[i])
    }
    fn words(&self) -> usize {
        self.names.len().div_ceil(32)
    }
}

fn io_err(op: String) -> impl FnOnce(std::io::Error) -> NetError {
    move |e| NetError::io(op, e)
}

/// Read `dev`'s feature strings and states.
pub fn features(sock: RawFd, dev: &str) -> Result<Features> {
    let mut info = SsetInfo {
        cmd: ETHTOOL_GSSET_INFO,
        reserved: 0,
        sset_mask: 1 << ETH_SS_FEATURES,
        data: [0; 2],
    };
    // SAFETY: GSSET_INFO writes one u32 per requested set after the
    // header; one set is asked for and two fit.
    unsafe { ethtool_ioctl(sock, dev, (&mut info as *mut SsetInfo).cast()) }
        .map_err(io_err(format!("read the offload feature count of {dev}")))?;
    if info.sset_mask & (1 << ETH_SS_FEATURES) == 0 {
        return Err(NetError::Invalid(format!(
            "{dev}: the kernel lists no offload features for this device"
        )));
    }
    let count = info.data[0] as usize;
    if count == 0 || count > 4096 {
        return Err(NetError::Invalid(format!(
            "{dev}: the kernel reports {count} offload features"
        )));
    }

    // struct ethtool_gstrings { u32 cmd; u32 string_set; u32 len; u8 data[]; }
    let mut strings = vec![0u32; 3 + count * ETH_GSTRING_LEN / 4];
    strings[0] = ETHTOOL_GSTRINGS;
    strings[1] = ETH_SS_FEATURES;
    strings[2] = count as u32;
    // SAFETY: the buffer holds `len` strings of ETH_GSTRING_LEN bytes.
    unsafe { ethtool_ioctl(sock, dev, strings.as_mut_ptr().cast()) }
        .map_err(io_err(format!("read the offload feature names of {dev}")))?;
    let bytes: Vec<u8> = strings[3..].iter().flat_map(|w| w.to_ne_bytes()).collect();
    let names: Vec<String> = bytes
        .chunks(ETH_GSTRING_LEN)
        .map(|c| {
            let end = c.iter().position(|b| *b == 0).unwrap_or(c.len());
            String::from_utf8_lossy(&c[..end]).into_owned()
        })
        .collect();

    // struct ethtool_gfeatures { u32 cmd; u32 size; blocks[size] of
    // { available, requested, active, never_changed } }
    let words = count.div_ceil(32);
    let mut g = vec![0u32; 2 + 4 * words];
    g[0] = ETHTOOL_GFEATURES;
    g[1] = words as u32;
    // SAFETY: `size` blocks of four u32 follow the header.
    unsafe { ethtool_ioctl(sock, dev, g.as_mut_ptr().cast()) }
        .map_err(io_err(format!("read the offload features of {dev}")))?;
    let bit = |field: usize, i: usize| g[2 + 4 * (i / 32) + field] & (1 << (i % 32)) != 0;
    Ok(Features {
        changeable: (0..count).map(|i| bit(0, i)).collect(),
        active: (0..count).map(|i| bit(2, i)).collect(),
        names,
    })
}

fn on_off(b: bool) -> &'static str {
    if b { "on" } else { "off" }
}

/// Set one kernel feature string of `dev`, as `ethtool -K DEV NAME on|off`.
fn set_named(sock: RawFd, dev: &str, written: &str, name: &str, enabled: bool) -> Result<()> {
    let f = features(sock, dev)?;
    let Some(i) = f.index(name) else {
        let alias = if written == name {
            String::new()
        } else {
            format!(" (`{written}` is the kernel's `{name}`)")
        };
        return Err(NetError::Invalid(format!(
            "{dev} has no offload feature `{written}`{alias}: the kernel does not list it \
             for this device (`ethtool -k {dev}` shows the names it has)"
        )));
    };
    if f.active[i] == enabled {
        return Ok(());
    }
    if !f.changeable[i] {
        return Err(NetError::Invalid(format!(
            "offload feature `{written}` of {dev} is fixed {} and cannot be turned {}",
            on_off(f.active[i]),
            on_off(enabled)
        )));
    }
    // struct ethtool_sfeatures { u32 cmd; u32 size; blocks[size] of
    // { valid, requested } }
    let words = f.words();
    let mut s = vec![0u32; 2 + 2 * words];
    s[0] = ETHTOOL_SFEATURES;
    s[1] = words as u32;
    s[2 + 2 * (i / 32)] = 1 << (i % 32);
    if enabled {
        s[3 + 2 * (i / 32)] = 1 << (i % 32);
    }
    let op = format!("set offload {written} {} on {dev}", on_off(enabled));
    // SAFETY: `size` blocks of two u32 follow the header, as many as the
    // kernel's feature words (it refuses any other size).
    let rc = unsafe { ethtool_ioctl(sock, dev, s.as_mut_ptr().cast()) }.map_err(io_err(op))?;
    if rc & ETHTOOL_F_WISH != 0 {
        let now = features(sock, dev)?;
        if now.active.get(i) != Some(&enabled) {
            return Err(NetError::Invalid(format!(
                "offload feature `{written}` of {dev} stays {}: the kernel keeps it so \
                 while features it depends on are {} (see `ethtool -k {dev}`)",
                on_off(!enabled),
                if enabled { "off" } else { "on" }
            )));
        }
    }
    Ok(())
}

/// Switch one offload feature of `dev` (in the namespace of `sock`).
pub fn set(sock: RawFd, dev: &str, o: Offload) -> Result<()> {
    match (commands(o.feature), o.feature.kernel_name()) {
        (Some((_, set)), _) => {
            ethtool_value(sock, dev, set, u32::from(o.enabled)).map_err(|e| {
                NetError::io(
                    format!(
                        "set offload {} {} on {dev}",
                        o.feature.name(),
                        on_off(o.enabled)
                    ),
                    e,
                )
            })?;
            Ok(())
        }
        (None, Some(name)) => set_named(sock, dev, o.feature.name(), name, o.enabled),
        (None, None) => Err(NetError::Invalid(format!(
            "offload feature {} has no kernel name",
            o.feature.name()
        ))),
    }
}

/// Read one offload feature of `dev` (in the namespace of `sock`).
pub fn get(sock: RawFd, dev: &str, f: OffloadFeature) -> Result<bool> {
    match (commands(f), f.kernel_name()) {
        (Some((get, _)), _) => ethtool_value(sock, dev, get, 0)
            .map(|v| v != 0)
            .map_err(|e| NetError::io(format!("get offload {} of {dev}", f.name()), e)),
        (None, Some(name)) => features(sock, dev)?.is_on(name).ok_or_else(|| {
            NetError::Invalid(format!("{dev} has no offload feature `{}`", f.name()))
        }),
        (None, None) => Err(NetError::Invalid(format!(
            "offload feature {} has no kernel name",
            f.name()
        ))),
    }
}

/// [`get`] in the namespace `ns` (handy for checks and tests).
pub fn get_in(ns: &super::netns::Netns, dev: &str, f: OffloadFeature) -> Result<bool> {
    get(ns.ioctl_fd(), dev, f)
}

/// [`features`] in the namespace `ns`.
pub fn features_in(ns: &super::netns::Netns, dev: &str) -> Result<Features> {
    features(ns.ioctl_fd(), dev)
}

/// [`set`] in the namespace `ns`.
pub fn set_in(ns: &super::netns::Netns, dev: &str, o: Offload) -> Result<()> {
    set(ns.ioctl_fd(), dev, o)
}
