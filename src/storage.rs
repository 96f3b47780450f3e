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
    /// What reads see: `durable` plus every write since.
    current: BTreeMap<String, Vec<u8>>,
    /// Writes not yet durable: (write number, key, value or delete).
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
    /// Reads a key as the process sees it now.
    pub fn get(&self, key: &str) -> Option<&[u8]> {
        self.current.get(key).map(|v| v.as_slice())
    }

    /// Buffers a write.
    pub fn put(&mut self, key: &str, value: Vec<u8>) {
        self.written += 1;
        self.current.insert(key.to_string(), value.clone());
        self.pending.push((self.written, key.to_string(), Some(value)));
    }

    /// Buffers a delete.
    pub fn delete(&mut self, key: &str) {
        self.written += 1;
        self.current.remove(key);
        self.pending.push((self.written, key.to_string(), None));
    }

    /// Keys (in order) starting with `prefix`, as the process sees them now.
    pub fn keys_with_prefix(&self, prefix: &str) -> Vec<String> {
        self.current
            .range(prefix.to_string()..)
            .take_while(|(k, _)| k.starts_with(prefix))
            .map(|(k, _)| k.clone())
            .collect()
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
        let keep_from = self.pending.partition_point(|(n, _, _)| *n <= upto);
        for (_, key, value) in self.pending.drain(..keep_from) {
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
        self.current = self.durable.clone();
        self.pending.clear();
        self.inflight.clear();
        self.written = self.durable_upto;
        self.last_fsync_done_ns = 0;
    }

    /// Number of writes that a crash now would lose.
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
    fn prefix_listing_is_ordered() {
        let mut d = Disk::default();
        for k in ["log/2", "log/1", "meta", "log/10"] {
            d.put(k, vec![]);
        }
        assert_eq!(d.keys_with_prefix("log/"), vec!["log/1", "log/10", "log/2"]);
    }
}
