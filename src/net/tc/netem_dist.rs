//! netem delay distribution tables (`distribution normal|pareto|paretonormal`).
//!
//! `tc` reads these from iproute2's `/usr/lib/tc/*.dist` files, which a
//! FROM-scratch image does not have, so conlink computes the same tables
//! the way iproute2's generators (`netem/normal.c`, `pareto.c`,
//! `paretonormal.c`, public-domain NISTnet code) produce them: 4096 values
//! of the scaled inverse CDF, i.e. sorted quantiles in units of
//! 1/NETEM_DIST_SCALE of the jitter. The kernel picks a random entry and
//! adds `entry * jitter / NETEM_DIST_SCALE` to the latency.
//!
//! Exactness matters (the tests compare against the installed .dist files
//! value for value), so the arithmetic below follows the generators' order
//! of floating-point operations and uses the pure-Rust `libm` for erf/pow:
//! the result is then the same on glibc and musl builds.

use std::sync::OnceLock;

use crate::net::netem::Distribution;

/// NETEM_DIST_SCALE from linux/pkt_sched.h: table values are jitter
/// multiples in units of 1/8192.
pub const DIST_SCALE: f64 = 8192.0;
/// Entries in each table iproute2 ships.
pub const TABLE_LEN: usize = 4096;
/// The generators sample a CDF of this resolution and keep every 4th
/// point (16384 / 4 = [`TABLE_LEN`]).
const CDF_STEPS: usize = 16384;
/// Pareto shape parameter used by the generators.
const PARETO_ALPHA: f64 = 3.0;

/// The table the kernel gets for `d`, or `None` for `uniform`: without a
/// table netem already draws jitter uniformly from ±jitter.
pub fn table(d: Distribution) -> Option<&'static [i16]> {
    static NORMAL: OnceLock<Vec<i16>> = OnceLock::new();
    static PARETO: OnceLock<Vec<i16>> = OnceLock::new();
    static PARETONORMAL: OnceLock<Vec<i16>> = OnceLock::new();
    match d {
        Distribution::Uniform => None,
        Distribution::Normal => Some(NORMAL.get_or_init(normal)),
        Distribution::Pareto => Some(PARETO.get_or_init(pareto)),
        Distribution::Paretonormal => Some(PARETONORMAL.get_or_init(paretonormal)),
    }
}

/// The table as the attribute payload: `__s16` values in host byte order.
pub fn payload(table: &[i16]) -> Vec<u8> {
    table.iter().flat_map(|v| v.to_ne_bytes()).collect()
}

/// C's `rint` in the default rounding mode, then `(int)`.
fn rint(x: f64) -> i32 {
    x.round_ties_even() as i32
}

fn to_i16(v: i32) -> i16 {
    v.clamp(i32::from(i16::MIN), i32::from(i16::MAX)) as i16
}

/// The standard normal quantile at every 4th of 16384 CDF steps, scaled.
///
/// Found the generators' way: walk x from -10 to 10.05 in steps of 5e-5
/// (accumulated, as they do), and for each x record it under the CDF step
/// rint(16384 * Φ(x)) — the last (largest) x that lands on a step wins.
fn normal_quantiles() -> Vec<f64> {
    let mut at_step = vec![0.0f64; CDF_STEPS + 1];
    let mut x = -10.0f64;
    while x < 10.05 {
        let cdf = 0.5 + 0.5 * libm::erf(x / std::f64::consts::SQRT_2);
        // Φ ∈ [0, 1], so the step is within 0..=CDF_STEPS.
        let step = rint(CDF_STEPS as f64 * cdf) as usize;
        at_step[step] = x;
        x += 0.00005;
    }
    (0..CDF_STEPS).step_by(4).map(|i| at_step[i]).collect()
}

fn normal_value(quantile: f64) -> i32 {
    rint(quantile * DIST_SCALE)
}

/// Pareto (alpha 3) quantile for CDF step `k` of [`TABLE_LEN`], shifted by
/// 1.5 (so the mean is 0) and scaled by 4/3; saturated at i16::MAX.
fn pareto_value(k: usize) -> i32 {
    // 65536 - 16k: the generators count down over 65536 in steps of 16.
    let u = (65536 - 16 * k) as f64 / 65536.0;
    let mut v = 1.0 / libm::pow(u, 1.0 / PARETO_ALPHA);
    v -= 1.5;
    v *= (4.0 / 3.0) * DIST_SCALE;
    rint(v.min(32767.0))
}

fn normal() -> Vec<i16> {
    normal_quantiles()
        .into_iter()
        .map(|q| to_i16(normal_value(q)))
        .collect()
}

fn pareto() -> Vec<i16> {
    (0..TABLE_LEN).map(|k| to_i16(pareto_value(k))).collect()
}

/// A quarter normal plus three quarters pareto, entry by entry (integer
/// division truncating toward zero, as C does).
fn paretonormal() -> Vec<i16> {
    normal_quantiles()
        .into_iter()
        .enumerate()
        .map(|(k, q)| to_i16((normal_value(q) + 3 * pareto_value(k)) / 4))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The .dist file iproute2 installed (tools/test installs iproute2):
    /// upstream's /usr/lib/tc, or Debian's multiarch /usr/lib/<triplet>/tc.
    fn installed(name: &str) -> Vec<i16> {
        let file = format!("{name}.dist");
        let multiarch = std::fs::read_dir("/usr/lib")
            .into_iter()
            .flatten()
            .flatten()
            .map(|e| e.path().join("tc"));
        let path = ["/usr/lib/tc", "/usr/lib64/tc"]
            .into_iter()
            .map(std::path::PathBuf::from)
            .chain(multiarch)
            .map(|d| d.join(&file))
            .find(|p| p.is_file())
            .unwrap_or_else(|| panic!("no {file} under /usr/lib: is iproute2 installed?"));
        let text = std::fs::read_to_string(&path).unwrap();
        text.lines()
            .filter(|l| !l.starts_with('#'))
            .flat_map(str::split_whitespace)
            .map(|w| w.parse().unwrap_or_else(|e| panic!("{path:?}: {w}: {e}")))
            .collect()
    }

    fn same_as_installed(d: Distribution, name: &str) {
        let ours = table(d).unwrap();
        let theirs = installed(name);
        assert_eq!(ours.len(), TABLE_LEN);
        assert_eq!(theirs.len(), TABLE_LEN, "{name}.dist");
        let diffs: Vec<_> = (0..TABLE_LEN)
            .filter(|&i| ours[i] != theirs[i])
            .map(|i| (i, ours[i], theirs[i]))
            .collect();
        assert!(
            diffs.is_empty(),
            "{name}: (index, ours, iproute2) {diffs:?}"
        );
    }

    #[test]
    fn normal_matches_iproute2() {
        same_as_installed(Distribution::Normal, "normal");
    }

    #[test]
    fn pareto_matches_iproute2() {
        same_as_installed(Distribution::Pareto, "pareto");
    }

    #[test]
    fn paretonormal_matches_iproute2() {
        same_as_installed(Distribution::Paretonormal, "paretonormal");
    }

    #[test]
    fn uniform_has_no_table() {
        assert!(table(Distribution::Uniform).is_none());
    }

    #[test]
    fn tables_are_sorted_quantiles() {
        for d in [
            Distribution::Normal,
            Distribution::Pareto,
            Distribution::Paretonormal,
        ] {
            let t = table(d).unwrap();
            assert!(t.windows(2).all(|w| w[0] <= w[1]), "{d:?} not sorted");
        }
        // Symmetric around 0: the median entry of the normal table is ~0
        // and its ends saturate at the i16 range (Φ⁻¹ beyond ±4σ).
        let n = table(Distribution::Normal).unwrap();
        assert_eq!(n[0], i16::MIN);
        assert!(n[TABLE_LEN / 2].abs() <= 2, "{}", n[TABLE_LEN / 2]);
    }

    #[test]
    fn payload_is_host_order_s16() {
        assert_eq!(
            payload(&[1, -2]),
            [1i16.to_ne_bytes(), (-2i16).to_ne_bytes()].concat()
        );
    }
}
