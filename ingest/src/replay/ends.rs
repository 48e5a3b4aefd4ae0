//! Where a replay's reading of each partition stands, and when it is done,
//! without trusting the broker's high watermark as the log's end (see
//! [`super::reader`]).

use std::collections::BTreeMap;

/// Why a partition's reading stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Stop {
    /// A record past the starting watermark is later than the range.
    RangeEnd,
    /// Nothing more arrived once the watermark was reached.
    LogEnd,
}

#[derive(Debug)]
struct Partition {
    /// The high watermark the broker reported at the start.
    high: i64,
    /// The next offset to read.
    next: i64,
    stop: Option<Stop>,
}

/// Every assigned partition's progress.
#[derive(Debug, Default)]
pub struct Ends {
    partitions: BTreeMap<i32, Partition>,
}

impl Ends {
    /// Reading `partition` starts at `start`; the broker reported `high`.
    pub fn start(&mut self, partition: i32, start: i64, high: i64) {
        self.partitions.insert(
            partition,
            Partition {
                high,
                next: start,
                stop: None,
            },
        );
    }

    /// A record was read; `after_range`: its time is past the range's end.
    pub fn record(&mut self, partition: i32, offset: i64, after_range: bool) {
        let Some(p) = self.partitions.get_mut(&partition) else {
            return;
        };
        p.next = p.next.max(offset + 1);
        if after_range && offset >= p.high && p.stop.is_none() {
            p.stop = Some(Stop::RangeEnd);
        }
    }

    /// Nothing arrived for a while: partitions read to their watermark have ended.
    pub fn idle(&mut self) {
        for p in self.partitions.values_mut() {
            if p.stop.is_none() && p.next >= p.high {
                p.stop = Some(Stop::LogEnd);
            }
        }
    }

    /// Whether a partition is still being read.
    pub fn open(&self) -> bool {
        self.partitions.values().any(|p| p.stop.is_none())
    }

    /// Per partition: where reading stands and why it stopped (or that it has
    /// not).
    pub fn describe(&self) -> Vec<String> {
        self.partitions
            .iter()
            .map(|(id, p)| {
                let why = match p.stop {
                    Some(Stop::RangeEnd) => "a record after the range".to_owned(),
                    Some(Stop::LogEnd) => "the end of the log".to_owned(),
                    None if p.next < p.high => format!(
                        "not finished: the broker served nothing from here, its high watermark is {}",
                        p.high
                    ),
                    None => "not finished".to_owned(),
                };
                format!("partition {id}: read to offset {} ({why})", p.next)
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_watermark_inside_the_last_batch_does_not_end_the_reading() {
        // tansu 0.6: a 2-record batch at offsets 0 and 1, high watermark 1.
        let mut ends = Ends::default();
        ends.start(0, 0, 1);
        ends.record(0, 0, false);
        assert!(ends.open(), "offset 1 is still to come");
        ends.record(0, 1, false);
        assert!(ends.open(), "only silence ends a partition");
        ends.idle();
        assert!(!ends.open());
        assert_eq!(
            ends.describe(),
            ["partition 0: read to offset 2 (the end of the log)"]
        );
    }

    #[test]
    fn a_partition_ends_at_a_later_record_past_the_watermark_or_says_where_it_stuck() {
        let mut ends = Ends::default();
        ends.start(0, 0, 3);
        ends.start(1, 5, 9);
        ends.record(0, 1, true);
        assert!(
            ends.open(),
            "a late record before the watermark does not end it"
        );
        ends.record(0, 3, true);
        ends.idle();
        assert!(ends.open(), "partition 1 has not reached its watermark");
        let described = ends.describe();
        assert_eq!(
            described[0],
            "partition 0: read to offset 4 (a record after the range)"
        );
        assert!(described[1].contains("offset 5") && described[1].contains("high watermark is 9"));
    }
}
