//! The durable-disk model of one process: a key-value store whose writes are
//! buffered (visible to reads at once, like a page cache) and become durable
//! only when an fsync issued after them completes.
//!
//! Faults injected here: a crash loses every write not yet covered by a
//! completed fsync; fsync takes time (the scenario's `storage.fsync`
//! latency), and fsyncs complete in issue order, like one disk queue.
//! Keys iterate in order (BTreeMap), so nothing here depends on hash order.

use std::collections::BTreeMap;

/// One process's disk.
#[derive(Debug, Default, Clone)]
pub struct Disk {
    /// What survives a crash.
    durable: BTreeMap<String, Vec<u8>>,
    /// Writes not yet durable, oldest first: (write number, key, value or
    /// delete). Reads look here first, so no second full map is kept: a
    /// write costs one map insert (when it becomes durable) and a crash
    /// just forgets this list.
    pending: Vec<(u64, String, Option<Vec<u8>>)>,
    /// Number of writes issued so far.
    written: u64,
    /// Write numbers covered by fsyncs in flight, oldest first.
    inflight: std::collections::VecDeque<u64>,
    /// Highest write number known durable.
    durable_upto: u64,
    /// Completion time of the most recently issued fsync (they complete in order).
    pub(crate) last_fsync_done_ns: u64,
}

impl Disk {
    /// Reads a key as the process sees it now (unsynced writes included).
    pub fn get(&self, key: &str) -> Option<&[u8]> {
        match self.pending.iter().rev().find(|(_, k, _)| k == key) {
            Some((_, _, value)) => value.as_deref(),
            None => self.durable.get(key).map(|v| v.as_slice()),
        }
    }

    /// Buffers a write.
    pub fn put(&mut self, key: &str, value: Vec<u8>) {
        self.written += 1;
        self.pending.push((self.written, key.to_string(), Some(value)));
    }

    /// Buffers a delete.
    pub fn delete(&mut self, key: &str) {
        self.written += 1;
        self.pending.push((self.written, key.to_string(), None));
    }

    /// Keys (in order) starting with `prefix`, as the process sees them now.
    pub fn keys_with_prefix(&self, prefix: &str) -> Vec<String> {
        let mut keys: std::collections::BTreeSet<&str> = self
            .durable
            .range(prefix.to_string()..)
            .take_while(|(k, _)| k.starts_with(prefix))
            .map(|(k, _)| k.as_str())
            .collect();
        for (_, key, value) in self.pending.iter().filter(|(_, k, _)| k.starts_with(prefix)) {
            match value {
                Some(_) => keys.insert(key),
                None => keys.remove(key.as_str()),
            };
        }
        keys.into_iter().map(str::to_string).collect()
    }

    /// Starts an fsync covering every write issued so far; returns the write
    /// number the caller must wait for.
    pub(crate) fn begin_fsync(&mut self) -> u64 {
        self.inflight.push_back(self.written);
        self.written
    }

    /// Completes the oldest fsync in flight.
    pub(crate) fn complete_fsync(&mut self) {
        let upto = self.inflight.pop_front().expect("fsync completion without fsync");
        let done = self.pending.partition_point(|(n, _, _)| *n <= upto);
        for (_, key, value) in self.pending.drain(..done) {
            match value {
                Some(v) => self.durable.insert(key, v),
                None => self.durable.remove(&key),
            };
        }
        self.durable_upto = self.durable_upto.max(upto);
    }

    /// Whether every write up to number `upto` is durable.
    pub(crate) fn is_durable(&self, upto: u64) -> bool {
        self.durable_upto >= upto
    }

    /// A crash: unsynced writes and fsyncs in flight are lost.
    pub(crate) fn crash(&mut self) {
        self.pending.clear();
        self.inflight.clear();
        self.written = self.durable_upto;
        self.last_fsync_done_ns = 0;
    }

    /// Number of writes that a crash now would lose.
    #[cfg(test)]
    pub fn unsynced_writes(&self) -> usize {
        self.pending.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crash_keeps_synced_and_loses_unsynced() {
        let mut d = Disk::default();
        d.put("a", b"1".to_vec());
        let upto = d.begin_fsync();
        d.put("b", b"2".to_vec());
        d.complete_fsync();
        assert!(d.is_durable(upto));
        d.delete("a");
        assert_eq!(d.get("a"), None);
        assert_eq!(d.get("b"), Some(&b"2"[..]));
        d.crash();
        assert_eq!(d.get("a"), Some(&b"1"[..]));
        assert_eq!(d.get("b"), None);
        assert_eq!(d.unsynced_writes(), 0);
    }

    #[test]
    fn reads_and_listings_see_unsynced_writes_and_deletes() {
        let mut d = Disk::default();
        d.put("log/1", b"a".to_vec());
        d.put("log/2", b"b".to_vec());
        d.begin_fsync();
        d.complete_fsync();
        d.delete("log/1");
        d.put("log/2", b"c".to_vec());
        d.put("log/3", b"d".to_vec());
        assert_eq!(d.get("log/1"), None);
        assert_eq!(d.get("log/2"), Some(&b"c"[..]));
        assert_eq!(d.keys_with_prefix("log/"), vec!["log/2", "log/3"]);
        d.crash();
        assert_eq!(d.get("log/1"), Some(&b"a"[..]));
        assert_eq!(d.get("log/2"), Some(&b"b"[..]));
        assert_eq!(d.keys_with_prefix("log/"), vec!["log/1", "log/2"]);
    }

    #[test]
    fn prefix_listing_is_ordered() {
        let mut d = Disk::default();
        for k in ["log/2", "log/1", "meta", "log/10"] {
            d.put(k, vec![]);
        }
        assert_eq!(d.keys_with_prefix("log/"), vec!["log/1", "log/10", "log/2"]);
    }
}
