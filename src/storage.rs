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
//!
//! A write is a put, a delete, or an append. An append is a put of the
//! key's value as the process sees it now with the bytes added at its end:
//! the same write in every respect (a crash loses, keeps or tears the whole
//! value it writes), stored as its new bytes only, so a store that grows a
//! value record by record (a log segment) copies each record once instead
//! of the whole value on every write.
//!
//! Keys are interned: each gets an id on its first write, and writes and
//! the durable values are kept by id, so buffering a write or making it
//! durable neither copies nor compares a key (one hash per write, to find
//! its id, under a fixed hasher). The names live end to end in one string
//! and the table maps a key's 64-bit hash to its id (keys that share a
//! hash are chained and told apart by name), so a new key costs no
//! allocation of its own: a Raft log writes a new key per entry. Nothing
//! iterates the id table in hash order: the one listing,
//! [`Disk::keys_with_prefix`], sorts what it finds.
//! A pending put's or append's bytes wait in one buffer shared by the
//! pending writes (a write copies its value once, with no allocation), and
//! the durable values live end to end in one byte arena ([`Durable`]), as
//! a disk keeps its data in one file: a run that leaves many values (a
//! Raft log of a key per entry) holds one allocation for them, not one
//! each, so neither making a write durable nor freeing the disk at the end
//! of the run walks the allocator's free lists value by value (which, with
//! the values scattered over the heap, cost a cache miss each).

use std::borrow::Cow;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::hash::{BuildHasherDefault, Hasher};
use std::ops::Range;

/// FxHash's word-at-a-time step, then splitmix64's finaliser: fixed (no
/// random seed), a few instructions per eight bytes of key. The finaliser
/// matters: keys such as `log/000000001234` differ only in their last
/// bytes, which a multiply carries only upwards, so without it the low
/// bits of many keys would collide. [`key_hash`] builds on it.
#[derive(Default, Clone, Copy)]
struct KeyHasher(u64);

impl Hasher for KeyHasher {
    fn write(&mut self, bytes: &[u8]) {
        let mut chunks = bytes.chunks_exact(8);
        for c in &mut chunks {
            self.add(u64::from_le_bytes(c.try_into().expect("8 bytes")));
        }
        let rest = chunks.remainder();
        if !rest.is_empty() {
            let mut tail = [0u8; 8];
            tail[..rest.len()].copy_from_slice(rest);
            self.add(u64::from_le_bytes(tail));
        }
    }
    fn write_u8(&mut self, i: u8) {
        self.add(i as u64);
    }
    fn finish(&self) -> u64 {
        mix64(self.0)
    }
}

/// splitmix64's finaliser: a full-avalanche bijection on u64.
#[inline]
fn mix64(z: u64) -> u64 {
    let z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    let z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

impl KeyHasher {
    #[inline]
    fn add(&mut self, word: u64) {
        self.0 = (self.0.rotate_left(5) ^ word).wrapping_mul(0x51_7c_c1_b7_27_22_0a_95);
    }
}

/// The bits of a [`key_hash`] that count a numbered key's number: the
/// table's bucket comes from the low bits, its 7-bit tag from the top ones.
const NUMBER_BITS: u64 = u64::MAX >> 7;

/// The hash of a key for the id table. A key that ends in a number
/// (`log/000000001234`) hashes as its stem (the text before its last
/// eight digits, or before all of them if it has fewer, and how many
/// they are) plus the number they spell, in the low bits, with the top
/// seven bits drawn from both: the keys of one log are adjacent in a hash
/// table (whose bucket is the hash's low bits, as in `std`'s), so a log
/// that writes a key per entry fills the table in order, where a
/// scattering hash would make each new key a cache miss in a table of
/// tens of thousands; the top bits (the table's per-slot tag) still
/// differ, so a lookup does not compare the names of a key's neighbours.
/// Two keys of one stem never share a hash; others may, told apart by
/// name. Eight trailing digits are read at once ([`eight_digits`]).
#[inline]
fn key_hash(key: &str) -> u64 {
    let bytes = key.as_bytes();
    let (digits, n) = match bytes.len().checked_sub(8).map(|i| eight_digits(&bytes[i..])) {
        Some(Some(n)) => (8, n),
        _ => {
            // Fewer than eight trailing digits: read them one by one.
            let (mut n, mut scale, mut digits) = (0u64, 1u64, 0usize);
            for &d in bytes.iter().rev() {
                if !d.is_ascii_digit() {
                    break;
                }
                n += u64::from(d - b'0') * scale;
                scale *= 10;
                digits += 1;
            }
            (digits, n)
        }
    };
    let mut h = KeyHasher::default();
    h.write(&bytes[..bytes.len() - digits]);
    h.write_u8(digits as u8);
    let base = h.finish();
    if digits == 0 {
        return base;
    }
    (base.wrapping_add(n) & NUMBER_BITS) | (mix64(base ^ n) & !NUMBER_BITS)
}

/// The number eight ASCII digits spell, or `None` if one is not a digit:
/// all eight at once in one word (each byte's high nibble must be 3 and its
/// low nibble at most 9; then pairs, fours and eights of digits combine).
#[inline]
fn eight_digits(bytes: &[u8]) -> Option<u64> {
    const ONES: u64 = 0x0101_0101_0101_0101;
    let w = u64::from_le_bytes(bytes.try_into().ok()?);
    let high = 0xF0 * ONES;
    if w & high != 0x30 * ONES || w.wrapping_add(0x06 * ONES) & high != 0x30 * ONES {
        return None;
    }
    // The first digit is the lowest byte.
    let v = w - 0x30 * ONES;
    let v = v.wrapping_mul(10).wrapping_add(v >> 8);
    let v = (v & 0x0000_00FF_0000_00FF)
        .wrapping_mul(100 + (1_000_000 << 32))
        .wrapping_add(((v >> 16) & 0x0000_00FF_0000_00FF).wrapping_mul(1 + (10_000 << 32)));
    Some(v >> 32)
}

/// The hasher of a table whose keys are already [`KeyHasher`] hashes.
#[derive(Default, Clone, Copy)]
struct Prehashed(u64);

impl Hasher for Prehashed {
    fn write(&mut self, _bytes: &[u8]) {
        unreachable!("the table is keyed by u64 hashes only")
    }
    fn write_u64(&mut self, h: u64) {
        self.0 = h;
    }
    fn finish(&self) -> u64 {
        self.0
    }
}

/// No next key with the same hash.
const NO_KEY: u32 = u32::MAX;

/// What a buffered write does to its key.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Write {
    /// Sets the value to these bytes of [`Disk::bytes`].
    Put(Range<usize>),
    /// Sets the value to the one before it with these bytes of
    /// [`Disk::bytes`] added.
    Append(Range<usize>),
    /// Removes the key.
    Delete,
}

/// A buffered write: its number, its key's id, and what it does.
#[derive(Debug, Clone)]
struct Pending {
    n: u64,
    key: u32,
    write: Write,
}

/// The durable values by key id, end to end in one byte arena. A value
/// written anew goes to the arena's end (an append to the value at the end
/// grows it in place); the bytes it replaces stay as garbage until garbage
/// is over half the arena (and at least [`ARENA_COMPACT_BYTES`]), when the
/// live values are packed in id order.
#[derive(Debug, Default, Clone)]
struct Durable {
    bytes: Vec<u8>,
    /// Per key id: where its value lies in `bytes`, if it has one.
    spans: Vec<Option<Range<usize>>>,
    /// Bytes of `bytes` no span covers.
    garbage: usize,
}

/// The least garbage worth packing the arena for.
const ARENA_COMPACT_BYTES: usize = 64 * 1024;

impl Durable {
    /// Makes room for the next key id, with no value.
    fn add_key(&mut self) {
        self.spans.push(None);
    }

    /// The value of key `id`, if it has one.
    #[inline]
    fn get(&self, id: u32) -> Option<&[u8]> {
        self.spans[id as usize].clone().map(|r| &self.bytes[r])
    }

    /// Sets (or, with `None`, removes) the value of key `id`.
    fn set(&mut self, id: u32, value: Option<&[u8]>) {
        if let Some(old) = self.spans[id as usize].take() {
            self.garbage += old.len();
        }
        if let Some(v) = value {
            let start = self.bytes.len();
            self.bytes.extend_from_slice(v);
            self.spans[id as usize] = Some(start..self.bytes.len());
        }
        self.compact_if_worth_it();
    }

    /// Adds `more` at the end of key `id`'s value (an absent value is empty).
    fn append(&mut self, id: u32, more: &[u8]) {
        match self.spans[id as usize].clone() {
            Some(r) if r.end == self.bytes.len() => {
                self.bytes.extend_from_slice(more);
                self.spans[id as usize] = Some(r.start..self.bytes.len());
            }
            Some(r) => {
                let start = self.bytes.len();
                self.garbage += r.len();
                self.bytes.extend_from_within(r);
                self.bytes.extend_from_slice(more);
                self.spans[id as usize] = Some(start..self.bytes.len());
                self.compact_if_worth_it();
            }
            None => self.set(id, Some(more)),
        }
    }

    fn compact_if_worth_it(&mut self) {
        if self.garbage < ARENA_COMPACT_BYTES || self.garbage * 2 <= self.bytes.len() {
            return;
        }
        let mut packed = Vec::with_capacity(self.bytes.len() - self.garbage);
        for span in self.spans.iter_mut().flatten() {
            let start = packed.len();
            packed.extend_from_slice(&self.bytes[span.clone()]);
            *span = start..packed.len();
        }
        self.bytes = packed;
        self.garbage = 0;
    }
}

/// Once this many bytes of [`Disk::bytes`] are durable while later
/// writes are still pending, the durable ones are dropped from its front.
const BYTES_COMPACT_AT: usize = 64 * 1024;

/// One process's disk.
#[derive(Debug, Default, Clone)]
pub struct Disk {
    /// Every key ever written, end to end, in id order: a write names its
    /// key by id, so neither buffering it nor making it durable copies or
    /// hashes the key.
    names: String,
    /// Where each key's name ends in `names` (it starts where the one
    /// before it ends).
    name_ends: Vec<u32>,
    /// Per key hash: the newest id with that hash.
    ids: HashMap<u64, u32, BuildHasherDefault<Prehashed>>,
    /// Per id: the next older id with the same hash, or [`NO_KEY`].
    same_hash: Vec<u32>,
    /// What survives a crash, by key id.
    durable: Durable,
    /// Writes not yet durable, oldest first. Reads look here first, so no
    /// second full map is kept: a write costs one update (when it becomes
    /// durable) and a crash just forgets this list.
    pending: Vec<Pending>,
    /// The bytes of the pending puts and appends, one range each, in
    /// write order: a write copies its value once, here, instead of
    /// arriving in an allocation of its own.
    bytes: Vec<u8>,
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
    /// Borrowed unless unsynced appends must be joined to what they extend.
    pub fn get(&self, key: &str) -> Option<Cow<'_, [u8]>> {
        let id = self.find(key, key_hash(key))?;
        // The newest put or delete of `key` among the unsynced writes, and
        // whether any append follows it.
        let mut base = None;
        let mut appended = false;
        for (i, p) in self.pending.iter().enumerate().rev() {
            if p.key == id {
                match p.write {
                    Write::Append(_) => appended = true,
                    Write::Put(_) | Write::Delete => {
                        base = Some(i);
                        break;
                    }
                }
            }
        }
        let (value, after) = match base {
            Some(i) => match &self.pending[i].write {
                Write::Put(r) => (Some(&self.bytes[r.clone()]), i + 1),
                _ => (None, i + 1),
            },
            None => (self.durable.get(id), 0),
        };
        if !appended {
            return value.map(Cow::Borrowed);
        }
        let mut joined = value.unwrap_or_default().to_vec();
        for p in &self.pending[after..] {
            if let (true, Write::Append(r)) = (p.key == id, &p.write) {
                joined.extend_from_slice(&self.bytes[r.clone()]);
            }
        }
        Some(Cow::Owned(joined))
    }

    /// Buffers a write.
    pub fn put(&mut self, key: &str, value: impl AsRef<[u8]>) {
        let range = self.buffer(value.as_ref());
        self.push(key, Write::Put(range));
    }

    /// Copies a pending write's bytes to the end of [`Disk::bytes`].
    fn buffer(&mut self, value: &[u8]) -> Range<usize> {
        let start = self.bytes.len();
        self.bytes.extend_from_slice(value);
        start..self.bytes.len()
    }

    /// Buffers a write of `key`'s current value (empty if absent) with
    /// `bytes` added at its end.
    pub fn append(&mut self, key: &str, bytes: &[u8]) {
        let range = self.buffer(bytes);
        self.push(key, Write::Append(range));
    }

    /// Buffers a delete.
    pub fn delete(&mut self, key: &str) {
        self.push(key, Write::Delete);
    }

    fn push(&mut self, key: &str, write: Write) {
        self.written += 1;
        let key = self.id(key);
        self.pending.push(Pending { n: self.written, key, write });
    }

    /// The name of key `id`.
    fn name(&self, id: u32) -> &str {
        let id = id as usize;
        let start = if id == 0 { 0 } else { self.name_ends[id - 1] as usize };
        &self.names[start..self.name_ends[id] as usize]
    }

    /// The id of `key`, whose hash is `hash`, if it was ever written.
    fn find(&self, key: &str, hash: u64) -> Option<u32> {
        let mut id = *self.ids.get(&hash)?;
        while self.name(id) != key {
            id = self.same_hash[id as usize];
            if id == NO_KEY {
                return None;
            }
        }
        Some(id)
    }

    /// `key`'s id, given it on first use.
    fn id(&mut self, key: &str) -> u32 {
        self.intern(key, key_hash(key))
    }

    /// [`Disk::id`] of `key`, whose hash is `hash`.
    fn intern(&mut self, key: &str, hash: u64) -> u32 {
        if let Some(id) = self.find(key, hash) {
            return id;
        }
        let id = u32::try_from(self.name_ends.len()).expect("under 2^32 keys");
        self.names.push_str(key);
        self.name_ends.push(u32::try_from(self.names.len()).expect("under 4 GiB of key names"));
        let older = self.ids.insert(hash, id).unwrap_or(NO_KEY);
        self.same_hash.push(older);
        self.durable.add_key();
        id
    }

    /// Keys (in order) starting with `prefix`, as the process sees them now.
    pub fn keys_with_prefix(&self, prefix: &str) -> Vec<String> {
        let mut keys: BTreeSet<u32> = (0..self.name_ends.len() as u32)
            .filter(|&id| self.durable.get(id).is_some() && self.name(id).starts_with(prefix))
            .collect();
        for p in self.pending.iter().filter(|p| self.name(p.key).starts_with(prefix)) {
            match p.write {
                Write::Put(_) | Write::Append(_) => keys.insert(p.key),
                Write::Delete => keys.remove(&p.key),
            };
        }
        let mut names: Vec<String> = keys.into_iter().map(|id| self.name(id).to_string()).collect();
        names.sort_unstable();
        names
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
        let done = self.pending.partition_point(|p| p.n <= upto);
        let Disk { durable, pending, bytes, .. } = self;
        for p in pending.drain(..done) {
            match p.write {
                Write::Put(r) => durable.set(p.key, Some(&bytes[r])),
                Write::Append(r) => durable.append(p.key, &bytes[r]),
                Write::Delete => durable.set(p.key, None),
            }
        }
        self.compact_bytes();
        self.durable_upto = self.durable_upto.max(upto);
    }

    /// Drops the bytes of writes no longer pending.
    fn compact_bytes(&mut self) {
        if self.pending.is_empty() {
            self.bytes.clear();
            return;
        }
        // Ranges are handed out in write order, so the first pending
        // write with bytes holds the earliest still needed.
        let first = self.pending.iter().find_map(|p| match &p.write {
            Write::Put(r) | Write::Append(r) => Some(r.start),
            Write::Delete => None,
        });
        let first = first.unwrap_or(self.bytes.len());
        if first >= BYTES_COMPACT_AT {
            self.bytes.drain(..first);
            for p in &mut self.pending {
                if let Write::Put(r) | Write::Append(r) = &mut p.write {
                    *r = r.start - first..r.end - first;
                }
            }
        }
    }

    /// Whether every write up to number `upto` is durable.
    pub(crate) fn is_durable(&self, upto: u64) -> bool {
        self.durable_upto >= upto
    }

    /// A crash: unsynced writes and fsyncs in flight are lost.
    pub(crate) fn crash(&mut self) {
        self.pending.clear();
        self.bytes.clear();
        self.inflight.clear();
        self.written = self.durable_upto;
        self.last_fsync_done_ns = 0;
    }

    /// A crash that tears: each unsynced write, oldest first, is lost,
    /// kept, or torn (its value cut short, or one byte of it flipped), a
    /// third of the time each; a delete is lost or kept. What is kept or
    /// torn becomes durable. An append is judged as the whole value it
    /// writes. Returns (lost, kept, torn).
    pub(crate) fn crash_torn(&mut self, rng: &mut crate::sim::rng::Prng) -> (usize, usize, usize) {
        let (mut lost, mut kept, mut torn) = (0, 0, 0);
        for (key, value) in self.unsynced_values() {
            match (rng.index(3), value) {
                (0, _) => lost += 1,
                (_, None) => {
                    kept += 1;
                    self.durable.set(key, None);
                }
                (1, Some(v)) => {
                    kept += 1;
                    self.durable.set(key, Some(&v));
                }
                (_, Some(mut v)) => {
                    torn += 1;
                    if !v.is_empty() && rng.index(2) == 0 {
                        let i = rng.index(v.len());
                        v[i] ^= 1 << rng.index(8);
                    } else {
                        v.truncate(rng.index(v.len().max(1)));
                    }
                    self.durable.set(key, Some(&v));
                }
            }
        }
        self.crash();
        (lost, kept, torn)
    }

    /// Takes the unsynced writes, oldest first, each as its key's id and
    /// the whole value it writes (`None`: a delete): an append becomes the
    /// value the process saw then, with its bytes added.
    fn unsynced_values(&mut self) -> Vec<(u32, Option<Vec<u8>>)> {
        let pending = std::mem::take(&mut self.pending);
        // The process's view of each key written so far among them.
        let mut view: BTreeMap<u32, Option<Vec<u8>>> = BTreeMap::new();
        let any_append = pending.iter().any(|p| matches!(p.write, Write::Append(_)));
        let mut out = Vec::with_capacity(pending.len());
        for p in pending {
            let value = match p.write {
                Write::Put(r) => Some(self.bytes[r].to_vec()),
                Write::Delete => None,
                Write::Append(r) => {
                    let seen = match view.get(&p.key) {
                        Some(seen) => seen.as_deref(),
                        None => self.durable.get(p.key),
                    };
                    let mut v = seen.unwrap_or_default().to_vec();
                    v.extend_from_slice(&self.bytes[r]);
                    Some(v)
                }
            };
            if any_append {
                view.insert(p.key, value.clone());
            }
            out.push((p.key, value));
        }
        out
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
    fn the_arena_matches_a_map_through_overwrites_appends_deletes_and_packing() {
        // Enough overwritten bytes that the arena packs itself many times.
        let mut rng = crate::sim::rng::Prng::stream(7, "arena-test");
        let mut arena = Durable::default();
        let mut reference: BTreeMap<u32, Vec<u8>> = BTreeMap::new();
        (0..40).for_each(|_| arena.add_key());
        let mut packed = 0;
        for round in 0..20_000u32 {
            let garbage_before = arena.garbage;
            let id = rng.index(40) as u32;
            let value: Vec<u8> = (0..rng.index(300)).map(|i| (round as usize + i) as u8).collect();
            match rng.index(4) {
                0 => {
                    arena.set(id, None);
                    reference.remove(&id);
                }
                1 => {
                    arena.append(id, &value);
                    reference.entry(id).or_default().extend_from_slice(&value);
                }
                _ => {
                    arena.set(id, Some(&value));
                    reference.insert(id, value);
                }
            }
            if arena.garbage < garbage_before {
                packed += 1; // only packing lowers the garbage
            }
            let live: usize = reference.values().map(Vec::len).sum();
            assert_eq!(arena.bytes.len(), live + arena.garbage, "round {round}: every byte is live or garbage");
        }
        assert!(packed > 10, "the arena packed itself only {packed} times");
        for id in 0..40 {
            assert_eq!(arena.get(id), reference.get(&id).map(Vec::as_slice), "key {id}");
        }
    }

    #[test]
    fn a_torn_crash_loses_keeps_or_tears_each_unsynced_write() {
        let mut rng = crate::sim::rng::Prng::stream(1, "disk");
        let (mut lost, mut kept, mut torn) = (0, 0, 0);
        for round in 0..50 {
            let mut d = Disk::default();
            d.put("synced", b"safe");
            d.begin_fsync();
            d.complete_fsync();
            for i in 0..4 {
                d.put(&format!("k{i}"), format!("value-{round}-{i}").into_bytes());
            }
            let (l, k, t) = d.crash_torn(&mut rng);
            assert_eq!(l + k + t, 4);
            assert_eq!(d.get("synced").as_deref(), Some(&b"safe"[..]), "synced writes are never torn");
            for i in 0..4 {
                let want = format!("value-{round}-{i}").into_bytes();
                match d.get(&format!("k{i}")).as_deref() {
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
        d.put("a", b"1");
        let upto = d.begin_fsync();
        d.put("b", b"2");
        d.complete_fsync();
        assert!(d.is_durable(upto));
        d.delete("a");
        assert_eq!(d.get("a").as_deref(), None);
        assert_eq!(d.get("b").as_deref(), Some(&b"2"[..]));
        d.crash();
        assert_eq!(d.get("a").as_deref(), Some(&b"1"[..]));
        assert_eq!(d.get("b").as_deref(), None);
        assert_eq!(d.unsynced_writes(), 0);
    }

    #[test]
    fn reads_and_listings_see_unsynced_writes_and_deletes() {
        let mut d = Disk::default();
        d.put("log/1", b"a");
        d.put("log/2", b"b");
        d.begin_fsync();
        d.complete_fsync();
        d.delete("log/1");
        d.put("log/2", b"c");
        d.put("log/3", b"d");
        assert_eq!(d.get("log/1").as_deref(), None);
        assert_eq!(d.get("log/2").as_deref(), Some(&b"c"[..]));
        assert_eq!(d.keys_with_prefix("log/"), vec!["log/2", "log/3"]);
        d.crash();
        assert_eq!(d.get("log/1").as_deref(), Some(&b"a"[..]));
        assert_eq!(d.get("log/2").as_deref(), Some(&b"b"[..]));
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

    #[test]
    fn an_append_is_a_put_of_the_joined_value_even_when_torn() {
        // Two disks see the same writes, one as appends and one as puts of
        // the values those appends make; they must agree on every read and
        // after every torn crash, draw for draw.
        let mut ops = crate::sim::rng::Prng::stream(7, "ops");
        for round in 0..200 {
            let (mut by_append, mut by_put) = (Disk::default(), Disk::default());
            for step in 0..12 {
                let key = ["s/0", "s/1", "meta"][ops.index(3)];
                let bytes = format!("r{round}.{step};").into_bytes();
                match ops.index(6) {
                    0 => {
                        by_append.delete(key);
                        by_put.delete(key);
                    }
                    1 => {
                        by_append.put(key, bytes.clone());
                        by_put.put(key, bytes);
                    }
                    2 => {
                        by_append.begin_fsync();
                        by_put.begin_fsync();
                    }
                    3 if !by_append.inflight.is_empty() => {
                        by_append.complete_fsync();
                        by_put.complete_fsync();
                    }
                    _ => {
                        let mut joined = by_put.get(key).map(Cow::into_owned).unwrap_or_default();
                        joined.extend_from_slice(&bytes);
                        by_append.append(key, &bytes);
                        by_put.put(key, joined);
                    }
                }
                for k in ["s/0", "s/1", "meta"] {
                    assert_eq!(by_append.get(k), by_put.get(k), "round {round} step {step} key {k}");
                }
                assert_eq!(by_append.keys_with_prefix("s/"), by_put.keys_with_prefix("s/"));
            }
            let (mut a, mut b) =
                (crate::sim::rng::Prng::stream(round, "disk"), crate::sim::rng::Prng::stream(round, "disk"));
            assert_eq!(by_append.crash_torn(&mut a), by_put.crash_torn(&mut b), "round {round}");
            for k in ["s/0", "s/1", "meta"] {
                assert_eq!(by_append.get(k), by_put.get(k), "round {round} after the crash, key {k}");
            }
        }
    }

    #[test]
    fn appends_become_durable_in_order_and_a_crash_loses_the_unsynced_ones() {
        let mut d = Disk::default();
        d.append("seg", b"ab");
        d.append("seg", b"cd");
        assert_eq!(d.get("seg").as_deref(), Some(&b"abcd"[..]));
        d.begin_fsync();
        d.append("seg", b"ef");
        d.complete_fsync();
        assert_eq!(d.get("seg").as_deref(), Some(&b"abcdef"[..]));
        d.crash();
        assert_eq!(d.get("seg").as_deref(), Some(&b"abcd"[..]));
        d.delete("seg");
        d.append("seg", b"gh");
        assert_eq!(d.get("seg").as_deref(), Some(&b"gh"[..]), "an append after a delete starts afresh");
        assert_eq!(d.keys_with_prefix("se"), vec!["seg"]);
    }

    #[test]
    fn pending_bytes_are_dropped_as_writes_become_durable_while_others_wait() {
        // Two fsyncs always in flight, so some write is always pending and
        // the shared byte buffer can only shrink by compaction.
        let mut d = Disk::default();
        let mut rng = crate::sim::rng::Prng::stream(3, "bytes-test");
        let mut model: BTreeMap<String, Vec<u8>> = BTreeMap::new();
        let (mut written, mut largest) = (0, 0);
        for round in 0..2_000u64 {
            let key = format!("k{}", rng.index(20));
            let value: Vec<u8> = (0..rng.index(600) as u64).map(|i| (i + round) as u8).collect();
            written += value.len();
            if rng.index(4) == 0 {
                d.append(&key, &value);
                model.entry(key.clone()).or_default().extend_from_slice(&value);
            } else {
                d.put(&key, &value);
                model.insert(key.clone(), value);
            }
            d.begin_fsync();
            if round >= 2 {
                d.complete_fsync();
            }
            largest = largest.max(d.bytes.len());
            assert_eq!(d.get(&key).as_deref(), model.get(&key).map(Vec::as_slice), "round {round}");
        }
        d.complete_fsync();
        d.complete_fsync();
        d.crash();
        for (key, value) in &model {
            assert_eq!(d.get(key).as_deref(), Some(value.as_slice()), "{key} after the last fsync");
        }
        assert!(written > 8 * BYTES_COMPACT_AT, "the test writes enough to need compaction");
        assert!(largest < 3 * BYTES_COMPACT_AT, "the pending bytes grew to {largest} of {written} written");
    }

    #[test]
    fn keys_that_share_a_hash_keep_their_own_ids() {
        let mut d = Disk::default();
        let (a, b) = (d.intern("a", 7), d.intern("bb", 7));
        assert_ne!(a, b);
        assert_eq!((d.intern("a", 7), d.intern("bb", 7)), (a, b), "interned once");
        assert_eq!((d.find("a", 7), d.find("bb", 7), d.find("c", 7), d.find("a", 8)), (Some(a), Some(b), None, None));
        assert_eq!((d.name(a), d.name(b)), ("a", "bb"));
    }

    #[test]
    fn numbered_keys_are_adjacent_and_tagged_apart() {
        // A log's keys hash to consecutive low bits (a table's buckets) ...
        let base = key_hash("log/000000000000");
        for i in 1..4096u64 {
            let h = key_hash(&format!("log/{i:012}"));
            assert_eq!(h & NUMBER_BITS, base.wrapping_add(i) & NUMBER_BITS, "key {i}");
        }
        // Fewer than eight digits are read one by one, to the same effect.
        let base = key_hash("seg/100");
        for i in 101..1000u64 {
            let h = key_hash(&format!("seg/{i}"));
            assert_eq!(h & NUMBER_BITS, base.wrapping_add(i - 100) & NUMBER_BITS, "key seg/{i}");
        }
        // ... with top bits (a table's tags) spread out ...
        let tags: BTreeSet<u64> = (0..4096u64).map(|i| key_hash(&format!("log/{i:012}")) >> 57).collect();
        assert!(tags.len() > 100, "{} of 128 tags used", tags.len());
        // ... and the stem, the digits' count and non-numbered keys all count.
        let names = ["log/1", "log/01", "log1", "seg/1", "log/", "hard", "hard/0", "hard/1", "a1b", "a1c"];
        let hashes: BTreeSet<u64> = names.iter().map(|k| key_hash(k)).collect();
        assert_eq!(hashes.len(), names.len(), "distinct keys, distinct hashes here");
        // Digits before the last eight belong to the stem.
        assert_ne!(key_hash("k12345678901234567890"), key_hash("k22345678901234567890"));
    }

    #[test]
    fn eight_digits_are_read_at_once_and_checked() {
        for n in [0u64, 1, 9, 10, 1234, 99_999_999, 12_345_678, 90_000_001] {
            assert_eq!(eight_digits(format!("{n:08}").as_bytes()), Some(n));
        }
        for bad in ["1234567a", "/0000000", "0000000:", "0000 000", "1234567"] {
            assert_eq!(eight_digits(bad.as_bytes()), None, "{bad:?}");
        }
    }

    #[test]
    fn keys_that_differ_in_their_last_bytes_spread_over_the_buckets() {
        // The low bits pick a hash table's bucket: keys that are not
        // numbered alike must not crowd into a few of them.
        let mut low: BTreeSet<u64> = BTreeSet::new();
        for i in 0..4096u64 {
            low.insert(key_hash(&format!("{i:x}-x")) & 4095);
        }
        assert!(low.len() > 2400, "{} of 4096 buckets used", low.len());
    }
}
