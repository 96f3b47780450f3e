//! The durable-disk model of one process: a key-value store whose writes are
//! buffered (visible to reads at once, like a page cache) and become durable
//! only when an fsync issued after them completes.
//!
//! Faults injected here: a crash loses every write not yet covered by a
//! completed fsync, or, with torn writes on ([`Disk::crash_torn`]), loses,
//! keeps or tears each one independently, as a real disk's page cache may
//! have written any of them, or half of one; fsync takes time (the
//! scenario's `storage.fsync` latency, plus any slow-disk fault), and
//! fsyncs complete in issue order, like one disk queue.
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

    /// A crash that tears: each unsynced write, oldest first, is lost,
    /// kept, or torn (its value cut short, or one byte of it flipped), a
    /// third of the time each; a delete is lost or kept. What is kept or
    /// torn becomes durable. Returns (lost, kept, torn).
    pub(crate) fn crash_torn(&mut self, rng: &mut crate::sim::rng::Prng) -> (usize, usize, usize) {
        let (mut lost, mut kept, mut torn) = (0, 0, 0);
        for (_, key, value) in std::mem::take(&mut self.pending) {
            match (rng.index(3), value) {
                (0, _) => lost += 1,
                (_, None) => {
                    kept += 1;
                    self.durable.remove(&key);
                }
                (1, Some(v)) => {
                    kept += 1;
                    self.durable.insert(key, v);
                }
                (_, Some(mut v)) => {
                    torn += 1;
                    if !v.is_empty() && rng.index(2) == 0 {
                        let i = rng.index(v.len());
                        v[i] ^= 1 << rng.index(8);
                    } else {
                        v.truncate(rng.index(v.len().max(1)));
                    }
                    self.durable.insert(key, v);
                }
            }
        }
        self.crash();
        (lost, kept, torn)
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
    fn a_torn_crash_loses_keeps_or_tears_each_unsynced_write() {
        let mut rng = crate::sim::rng::Prng::stream(1, "disk");
        let (mut lost, mut kept, mut torn) = (0, 0, 0);
        for round in 0..50 {
            let mut d = Disk::default();
            d.put("synced", b"safe".to_vec());
            d.begin_fsync();
            d.complete_fsync();
            for i in 0..4 {
                d.put(&format!("k{i}"), format!("value-{round}-{i}").into_bytes());
            }
            let (l, k, t) = d.crash_torn(&mut rng);
            assert_eq!(l + k + t, 4);
            assert_eq!(d.get("synced"), Some(&b"safe"[..]), "synced writes are never torn");
            for i in 0..4 {
                let want = format!("value-{round}-{i}").into_bytes();
                match d.get(&format!("k{i}")) {
                    None => lost += 1,
                    Some(v) if v == want.as_slice() => kept += 1,
                    Some(v) => {
                        assert!(v.len() < want.len() || v.len() == want.len(), "a torn value is cut or flipped");
                        torn += 1;
                    }
                }
            }
            assert_eq!(d.unsynced_writes(), 0);
        }
        assert!(lost > 20 && kept > 20 && torn > 20, "{lost} lost, {kept} kept, {torn} torn");
    }

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
