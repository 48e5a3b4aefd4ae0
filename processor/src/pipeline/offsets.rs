//! Where each assigned partition's records should continue, and what to do when
//! the broker serves a record past offsets it never served.
//!
//! After an assignment the position is the group's committed offset; after a
//! seek it is the offset sought; after a record it is that record's offset + 1.
//! A record further on is a gap: the records in between are in the log but were
//! not served (tansu 0.6.0 answers a fetch that starts inside a record batch
//! with the next batch). The processor then re-reads the partition from the
//! position, and, where the broker again answers past it, from further back,
//! stepping back up to a bound: what it re-reads below the position was applied
//! already and is skipped by the event-id claims. A gap that the bound does not
//! reach is given up, counted and logged: the records are lost to this consumer
//! and must be replayed.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

/// The first step back of a re-read that the broker answered past the position;
/// each further step is eight times the last.
const FIRST_STEP: i64 = 8;

/// What to do with a received record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Apply it.
    Take,
    /// A gap: drop it, and re-read the partition from `seek_to` (the first time
    /// from the position; then from further back).
    Reread {
        /// Where the gap starts (the position records should have continued at).
        from: i64,
        /// How many offsets were not served before this record (on the first
        /// sight of the gap; 0 on later steps of the same re-read).
        skipped: i64,
        /// The offset to seek to.
        seek_to: i64,
    },
    /// The re-read reached the records before the gap: it is healed; apply this
    /// record (and what follows, already applied records being skipped).
    Healed {
        /// Where the gap started.
        from: i64,
    },
    /// The re-read went back `reread_max` offsets and the broker still answers
    /// past the gap: the records from `from` up to this record are given up.
    GivenUp {
        /// Where the gap started.
        from: i64,
    },
}

#[derive(Debug, Clone, Copy)]
struct Partition {
    /// Where records should continue.
    next: Option<i64>,
    /// A re-read under way: the gap's start and the last step back.
    rereading: Option<(i64, i64)>,
}

/// The watch over every assigned partition. Cheap to clone (shared with the
/// consumer's rebalance callbacks).
#[derive(Debug, Clone)]
pub struct OffsetWatch {
    partitions: Arc<Mutex<HashMap<(String, i32), Partition>>>,
    reread_max: i64,
}

impl Default for OffsetWatch {
    fn default() -> Self {
        OffsetWatch::new(10_000)
    }
}

impl OffsetWatch {
    /// A watch that re-reads at most `reread_max` offsets before a gap.
    pub fn new(reread_max: u64) -> Self {
        OffsetWatch {
            partitions: Arc::default(),
            reread_max: i64::try_from(reread_max).unwrap_or(i64::MAX),
        }
    }

    /// Consumption of a partition starts (again) at `offset`: an assignment at
    /// the committed offset, or a seek.
    pub fn start(&self, topic: &str, partition: i32, offset: i64) {
        if let Ok(mut partitions) = self.partitions.lock() {
            let entry = partitions
                .entry((topic.to_owned(), partition))
                .or_insert(Partition {
                    next: None,
                    rereading: None,
                });
            entry.next = Some(offset);
        }
    }

    /// Forgets every partition (a rebalance: the next assignment says where
    /// each starts).
    pub fn reset(&self) {
        if let Ok(mut partitions) = self.partitions.lock() {
            partitions.clear();
        }
    }

    /// Judges a received record.
    pub fn receive(&self, topic: &str, partition: i32, offset: i64) -> Verdict {
        let Ok(mut partitions) = self.partitions.lock() else {
            return Verdict::Take;
        };
        let state = partitions
            .entry((topic.to_owned(), partition))
            .or_insert(Partition {
                next: None,
                rereading: None,
            });
        if let Some((from, step)) = state.rereading {
            if offset <= from {
                state.rereading = None;
                state.next = Some(offset + 1);
                return Verdict::Healed { from };
            }
            let back = if step == 0 { FIRST_STEP } else { step * 8 };
            if step >= self.reread_max || from == 0 {
                state.rereading = None;
                state.next = Some(offset + 1);
                return Verdict::GivenUp { from };
            }
            let back = back.min(self.reread_max);
            state.rereading = Some((from, back));
            return Verdict::Reread {
                from,
                skipped: 0,
                seek_to: (from - back).max(0),
            };
        }
        match state.next {
            Some(next) if offset > next => {
                state.rereading = Some((next, 0));
                Verdict::Reread {
                    from: next,
                    skipped: offset - next,
                    seek_to: next,
                }
            }
            Some(next) => {
                state.next = Some(next.max(offset + 1));
                Verdict::Take
            }
            None => {
                state.next = Some(offset + 1);
                Verdict::Take
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_in_order_are_taken_and_a_redelivery_is_not_a_gap() {
        let watch = OffsetWatch::default();
        watch.start("t", 1, 700);
        assert_eq!(watch.receive("t", 1, 700), Verdict::Take);
        assert_eq!(watch.receive("t", 1, 701), Verdict::Take);
        assert_eq!(watch.receive("t", 1, 690), Verdict::Take, "redelivered");
        assert_eq!(watch.receive("t", 1, 702), Verdict::Take);
        assert_eq!(watch.receive("t", 2, 5), Verdict::Take, "partitions apart");
    }

    #[test]
    fn the_first_record_after_an_assignment_is_compared_with_the_committed_offset() {
        // Committed 1470 inside batch 1464-1473; tansu serves 1474 first.
        let watch = OffsetWatch::default();
        watch.start("t", 0, 1470);
        assert_eq!(
            watch.receive("t", 0, 1474),
            Verdict::Reread {
                from: 1470,
                skipped: 4,
                seek_to: 1470
            }
        );
        // Sought 1470, the broker answers with the next batch again: step back.
        assert_eq!(
            watch.receive("t", 0, 1474),
            Verdict::Reread {
                from: 1470,
                skipped: 0,
                seek_to: 1462
            }
        );
        // 1462 lies in the batch before; the broker answers with 1464.
        assert_eq!(watch.receive("t", 0, 1464), Verdict::Healed { from: 1470 });
        for offset in 1465..1480 {
            assert_eq!(watch.receive("t", 0, offset), Verdict::Take);
        }
    }

    #[test]
    fn a_gap_within_an_assignment_is_reread_from_where_it_starts() {
        let watch = OffsetWatch::default();
        assert_eq!(watch.receive("t", 1, 700), Verdict::Take, "no start known");
        assert_eq!(watch.receive("t", 1, 701), Verdict::Take);
        assert_eq!(
            watch.receive("t", 1, 713),
            Verdict::Reread {
                from: 702,
                skipped: 11,
                seek_to: 702
            }
        );
        assert_eq!(watch.receive("t", 1, 702), Verdict::Healed { from: 702 });
    }

    #[test]
    fn a_reread_steps_back_eightfold_up_to_its_bound_then_gives_up() {
        let watch = OffsetWatch::new(600);
        watch.start("t", 0, 10_000);
        let mut seeks = Vec::new();
        loop {
            match watch.receive("t", 0, 10_050) {
                Verdict::Reread { seek_to, .. } => seeks.push(seek_to),
                Verdict::GivenUp { from } => {
                    assert_eq!(from, 10_000);
                    break;
                }
                other => panic!("{other:?}"),
            }
        }
        assert_eq!(seeks, [10_000, 9_992, 9_936, 9_488, 9_400]);
        assert_eq!(watch.receive("t", 0, 10_051), Verdict::Take, "goes on");
    }

    #[test]
    fn a_rebalance_forgets_every_partition() {
        let watch = OffsetWatch::default();
        watch.start("t", 1, 5);
        watch.reset();
        assert_eq!(watch.receive("t", 1, 900), Verdict::Take);
    }
}
