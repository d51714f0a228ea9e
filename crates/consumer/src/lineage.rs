//! Shard lineage: which shards of a stream may be read now.
//!
//! DynamoDB Streams split and roll shards over; a child shard's records come
//! after its parent's, so a child is read only once its parent is finished
//! (closed and drained). A parent that is no longer listed has been trimmed
//! away (24-hour retention) and no longer holds anything back.

use std::collections::{BTreeMap, HashSet};

/// What the reader knows about one shard from DescribeStream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShardInfo {
    /// `ShardId`.
    pub id: String,
    /// `ParentShardId`, when the shard has one.
    pub parent: Option<String>,
    /// Whether `SequenceNumberRange.EndingSequenceNumber` is set: the shard
    /// is closed and will get no new records.
    pub closed: bool,
}

/// The shards known so far, in discovery order, and which are finished.
#[derive(Debug, Default, Clone)]
pub struct Lineage {
    shards: BTreeMap<String, ShardInfo>,
    order: Vec<String>,
    finished: HashSet<String>,
}

impl Lineage {
    /// Adds or updates shards from a DescribeStream answer.
    pub fn learn(&mut self, shards: impl IntoIterator<Item = ShardInfo>) {
        for shard in shards {
            if !self.shards.contains_key(&shard.id) {
                self.order.push(shard.id.clone());
            }
            self.shards.insert(shard.id.clone(), shard);
        }
    }

    /// Marks a shard as finished: closed and drained.
    pub fn finish(&mut self, shard_id: &str) {
        self.finished.insert(shard_id.to_owned());
    }

    /// Whether a shard is finished.
    pub fn is_finished(&self, shard_id: &str) -> bool {
        self.finished.contains(shard_id)
    }

    /// A shard's info, if known.
    pub fn get(&self, shard_id: &str) -> Option<&ShardInfo> {
        self.shards.get(shard_id)
    }

    /// The shards that may be read now: not finished, and whose parent is
    /// finished or no longer listed. In discovery order.
    pub fn readable(&self) -> Vec<&ShardInfo> {
        self.order
            .iter()
            .filter_map(|id| self.shards.get(id))
            .filter(|s| !self.finished.contains(&s.id))
            .filter(|s| match &s.parent {
                None => true,
                Some(parent) => self.finished.contains(parent) || !self.shards.contains_key(parent),
            })
            .collect()
    }

    /// Whether no shard is known yet.
    pub fn is_empty(&self) -> bool {
        self.shards.is_empty()
    }

    /// Whether at least one shard is known and every known shard is
    /// finished. No shard known is not the end: a stream that is still
    /// being enabled lists none yet.
    pub fn all_finished(&self) -> bool {
        !self.shards.is_empty() && self.shards.keys().all(|id| self.finished.contains(id))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use expect_test::{Expect, expect};

    fn shard(id: &str, parent: Option<&str>, closed: bool) -> ShardInfo {
        ShardInfo {
            id: id.into(),
            parent: parent.map(Into::into),
            closed,
        }
    }

    /// Learns `shards`, finishes `finished`, prints what is readable.
    fn check(shards: &[(&str, Option<&str>, bool)], finished: &[&str], expected: Expect) {
        let mut lineage = Lineage::default();
        lineage.learn(shards.iter().map(|(id, p, c)| shard(id, *p, *c)));
        for id in finished {
            lineage.finish(id);
        }
        let readable: Vec<&str> = lineage.readable().iter().map(|s| s.id.as_str()).collect();
        expected.assert_eq(&format!(
            "readable: {} | all finished: {}",
            readable.join(" "),
            lineage.all_finished()
        ));
    }

    #[test]
    fn a_child_waits_for_its_parent() {
        check(
            &[
                ("p", None, true),
                ("c1", Some("p"), false),
                ("c2", Some("p"), false),
            ],
            &[],
            expect!["readable: p | all finished: false"],
        );
        check(
            &[
                ("p", None, true),
                ("c1", Some("p"), false),
                ("c2", Some("p"), false),
            ],
            &["p"],
            expect!["readable: c1 c2 | all finished: false"],
        );
    }

    #[test]
    fn no_shard_known_is_not_the_end() {
        check(&[], &[], expect!["readable:  | all finished: false"]);
    }

    #[test]
    fn a_trimmed_parent_holds_nothing_back() {
        check(
            &[("c", Some("gone"), false), ("g", Some("c"), false)],
            &[],
            expect!["readable: c | all finished: false"],
        );
    }

    #[test]
    fn a_chain_of_rollovers_is_read_in_order() {
        let chain = [
            ("a", None, true),
            ("b", Some("a"), true),
            ("c", Some("b"), false),
        ];
        check(&chain, &["a"], expect!["readable: b | all finished: false"]);
        check(
            &chain,
            &["a", "b"],
            expect!["readable: c | all finished: false"],
        );
        check(
            &chain,
            &["a", "b", "c"],
            expect!["readable:  | all finished: true"],
        );
    }
}
