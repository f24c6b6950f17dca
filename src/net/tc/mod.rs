//! Traffic control pieces rtnetlink has no builder for.

pub mod netem;
pub mod netem_dist;
