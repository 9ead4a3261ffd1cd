//! What the checks compare a person with: their facts from the directory
//! (peer group, contract end, shift, calendar) and their peer group's norms.

use std::collections::BTreeMap;

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use crate::calendar::Window;
use crate::stats::percentile;

/// What the organisation knows about a person, from the directory.
#[derive(Clone, Debug, Default)]
pub struct Facts {
    /// Whom the person is compared with; by default their role.
    pub peer_group: Option<String>,
    pub contract_end: Option<NaiveDate>,
    /// A named shift of the rules file; by default `off_hours.default_shift`.
    pub shift: Option<String>,
    /// An imported shift calendar: the working windows of given days.
    pub calendar: BTreeMap<NaiveDate, Vec<Window>>,
}

/// The peer group's norms, recomputed when a day ends.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct PeerStats {
    /// People in the group with any activity in the last 30 days.
    pub members: u32,
    /// Percentile of records viewed in a busy hour.
    pub hour_p: Option<f64>,
    /// Median distinct customers in an active day.
    pub distinct_median: Option<f64>,
    /// Percentile of distinct customers in an active day.
    pub distinct_p: Option<f64>,
    /// Every member's 30-day distinct customers as of midnight, ascending:
    /// a person is compared with the others, never with themselves (in a
    /// small team the 99th percentile is the top person — possibly the thief).
    pub cumulative: Vec<f64>,
}

impl PeerStats {
    /// The percentile of the others' 30-day counts, leaving out one `own`.
    pub fn cumulative_without(&self, own: f64, p: f64) -> Option<f64> {
        let all = &self.cumulative;
        let skip = all.partition_point(|v| *v < own);
        if all.get(skip) != Some(&own) {
            return percentile(&mut all.clone(), p);
        }
        let n = all.len() - 1;
        if n == 0 {
            return None;
        }
        // Nearest rank among the others, read around the skipped element.
        let rank = (((p / 100.0) * n as f64).ceil() as usize).clamp(1, n) - 1;
        Some(if rank < skip {
            all[rank]
        } else {
            all[rank + 1]
        })
    }
}

#[cfg(test)]
mod tests {
    use super::PeerStats;

    #[test]
    fn a_person_is_compared_with_the_others() {
        let p = PeerStats {
            cumulative: vec![10.0, 20.0, 30.0, 40.0, 1000.0],
            ..PeerStats::default()
        };
        // The top person against the others: the others' top, not themselves.
        assert_eq!(p.cumulative_without(1000.0, 99.0), Some(40.0));
        assert_eq!(p.cumulative_without(10.0, 99.0), Some(1000.0));
        assert_eq!(p.cumulative_without(30.0, 50.0), Some(20.0));
        assert_eq!(p.cumulative_without(10.0, 50.0), Some(30.0));
        // Someone new (not in the figures) is compared with everyone.
        assert_eq!(p.cumulative_without(5.0, 99.0), Some(1000.0));
        let alone = PeerStats {
            cumulative: vec![7.0],
            ..PeerStats::default()
        };
        assert_eq!(alone.cumulative_without(7.0, 99.0), None);
    }
}
