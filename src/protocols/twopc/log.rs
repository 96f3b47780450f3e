//! The records the coordinator and participants keep on their disks, and
//! their byte encoding. Compact little-endian fields rather than JSON:
//! every transaction writes several records, and the bench's hot path
//! should not format and parse text for each.
//!
//! Keys: the coordinator's `epoch` and one `d/<tx>` per decision; a
//! participant's one `p/<tx>` per transaction, holding the PREPARED record
//! until the outcome overwrites it. Outcomes are kept: a late duplicate
//! PREPARE of a finished transaction must never be prepared again, and a
//! commit's record carries its after-images and a commit sequence number,
//! so a participant's balances are the latest after-image of each account
//! (no balances record is rewritten on every commit).

use super::{Account, Parts, TxId};
use crate::sim::NodeId;

/// Appends fixed-width little-endian fields to a buffer.
#[derive(Default)]
pub(super) struct Writer(pub Vec<u8>);

impl Writer {
    pub fn u8(&mut self, v: u8) -> &mut Self {
        self.0.push(v);
        self
    }
    pub fn u32(&mut self, v: u32) -> &mut Self {
        self.0.extend_from_slice(&v.to_le_bytes());
        self
    }
    pub fn u64(&mut self, v: u64) -> &mut Self {
        self.0.extend_from_slice(&v.to_le_bytes());
        self
    }
    pub fn i64(&mut self, v: i64) -> &mut Self {
        self.0.extend_from_slice(&v.to_le_bytes());
        self
    }
    pub fn tx(&mut self, tx: TxId) -> &mut Self {
        self.u32(tx.epoch).u32(tx.n)
    }
}

/// Reads what a [`Writer`] wrote. A record that does not decode is a
/// simulator bug (only this file writes them), so reads panic.
pub(super) struct Reader<'a>(pub &'a [u8]);

impl Reader<'_> {
    fn take<const N: usize>(&mut self) -> [u8; N] {
        let (head, rest) = self.0.split_at(N);
        self.0 = rest;
        head.try_into().expect("split at N")
    }
    pub fn u8(&mut self) -> u8 {
        self.take::<1>()[0]
    }
    pub fn u32(&mut self) -> u32 {
        u32::from_le_bytes(self.take())
    }
    pub fn u64(&mut self) -> u64 {
        u64::from_le_bytes(self.take())
    }
    pub fn i64(&mut self) -> i64 {
        i64::from_le_bytes(self.take())
    }
    pub fn tx(&mut self) -> TxId {
        TxId { epoch: self.u32(), n: self.u32() }
    }
}

/// The key `d/<tx>` or `p/<tx>`, built on the stack (this runs for every
/// write; `format!` showed up in the bench's profile). The transaction is
/// in hex, lowest digit first, so keys of one map differ early and compare
/// fast; their order is only iteration order on recovery.
pub(super) struct Key([u8; 18]);

impl Key {
    pub fn new(prefix: u8, tx: TxId) -> Key {
        const HEX: &[u8; 16] = b"0123456789abcdef";
        let mut k = [0u8; 18];
        k[0] = prefix;
        k[1] = b'/';
        let v = (u64::from(tx.epoch) << 32) | u64::from(tx.n);
        for (i, byte) in k[2..].iter_mut().enumerate() {
            *byte = HEX[((v >> (4 * i)) & 0xf) as usize];
        }
        Key(k)
    }

    pub fn as_str(&self) -> &str {
        std::str::from_utf8(&self.0).expect("keys are ASCII")
    }
}

/// A coordinator's logged decision.
#[derive(Clone, Debug, PartialEq)]
pub(super) struct Decision {
    pub tx: TxId,
    pub commit: bool,
    /// Every participant has acknowledged it: written lazily, unsynced,
    /// and only for decisions a restarted coordinator re-sent.
    pub done: bool,
    /// When it was written, every decision of its epoch numbered below
    /// this had been acknowledged by all (so a restart re-sends none of them).
    pub done_below: u32,
    pub parts: Parts,
    /// The client request it answers.
    pub client: NodeId,
    pub seq: u64,
    /// For a committed read-balances: what the client is told.
    pub balances: Option<Vec<i64>>,
}

impl Decision {
    pub fn encode(&self) -> Vec<u8> {
        let mut w = Writer(Vec::with_capacity(48 + 8 * self.balances.as_ref().map_or(0, |b| b.len())));
        w.tx(self.tx).u8(u8::from(self.commit)).u8(u8::from(self.done)).u32(self.done_below).u64(self.parts.0);
        w.u64(self.client as u64).u64(self.seq);
        match &self.balances {
            None => {
                w.u32(u32::MAX);
            }
            Some(b) => {
                w.u32(b.len() as u32);
                b.iter().for_each(|&v| {
                    w.i64(v);
                });
            }
        }
        w.0
    }

    pub fn decode(bytes: &[u8]) -> Decision {
        let mut r = Reader(bytes);
        let tx = r.tx();
        let (commit, done, done_below, parts) = (r.u8() == 1, r.u8() == 1, r.u32(), Parts(r.u64()));
        let (client, seq) = (r.u64() as NodeId, r.u64());
        let n = r.u32();
        let balances = (n != u32::MAX).then(|| (0..n).map(|_| r.i64()).collect());
        Decision { tx, commit, done, done_below, parts, client, seq, balances }
    }
}

/// A participant's record of one transaction, under `p/<tx>`: prepared
/// (what it needs to finish the transaction after a crash), then
/// overwritten by the outcome once applied.
#[derive(Clone, Debug, PartialEq)]
pub(super) enum TxRecord {
    Prepared(PreparedRecord),
    /// The outcome applied. A commit carries `seq`, this participant's
    /// commit number (from 1), and the after-images it installed.
    Outcome {
        tx: TxId,
        commit: bool,
        seq: u64,
        writes: Vec<(Account, i64)>,
    },
}

const TAG_PREPARED: u8 = 1;
const TAG_OUTCOME: u8 = 2;

/// A participant's PREPARED record: what it needs to finish the
/// transaction after a crash (its locks follow from it: every account of
/// the participant for a read, the written accounts otherwise).
#[derive(Clone, Debug, PartialEq)]
pub(super) struct PreparedRecord {
    pub tx: TxId,
    pub parts: Parts,
    /// A read-balances (it votes with its balances).
    pub read: bool,
    /// After-images: `(account, balance after commit)`.
    pub writes: Vec<(Account, i64)>,
}

fn write_images(w: &mut Writer, writes: &[(Account, i64)]) {
    w.u32(writes.len() as u32);
    for &(a, v) in writes {
        w.u32(a).i64(v);
    }
}

fn read_images(r: &mut Reader<'_>) -> Vec<(Account, i64)> {
    (0..r.u32()).map(|_| (r.u32(), r.i64())).collect()
}

impl TxRecord {
    pub fn encode_prepared(tx: TxId, parts: Parts, read: bool, writes: &[(Account, i64)]) -> Vec<u8> {
        let mut w = Writer(Vec::with_capacity(26 + 12 * writes.len()));
        w.u8(TAG_PREPARED).tx(tx).u64(parts.0).u8(u8::from(read));
        write_images(&mut w, writes);
        w.0
    }

    pub fn encode_outcome(tx: TxId, commit: bool, seq: u64, writes: &[(Account, i64)]) -> Vec<u8> {
        let mut w = Writer(Vec::with_capacity(22 + 12 * writes.len()));
        w.u8(TAG_OUTCOME).tx(tx).u8(u8::from(commit)).u64(seq);
        write_images(&mut w, writes);
        w.0
    }

    #[cfg(test)]
    pub fn encode(&self) -> Vec<u8> {
        match self {
            TxRecord::Prepared(p) => TxRecord::encode_prepared(p.tx, p.parts, p.read, &p.writes),
            TxRecord::Outcome { tx, commit, seq, writes } => TxRecord::encode_outcome(*tx, *commit, *seq, writes),
        }
    }

    pub fn decode(bytes: &[u8]) -> TxRecord {
        let mut r = Reader(&bytes[1..]);
        match bytes[0] {
            TAG_PREPARED => {
                let (tx, parts, read) = (r.tx(), Parts(r.u64()), r.u8() == 1);
                TxRecord::Prepared(PreparedRecord { tx, parts, read, writes: read_images(&mut r) })
            }
            TAG_OUTCOME => {
                let (tx, commit, seq) = (r.tx(), r.u8() == 1, r.u64());
                TxRecord::Outcome { tx, commit, seq, writes: read_images(&mut r) }
            }
            tag => panic!("unknown transaction record tag {tag}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_survive_their_encoding() {
        let tx = TxId { epoch: 3, n: 70_000 };
        let mut parts = Parts::default();
        parts.insert(1);
        parts.insert(4);
        for balances in [None, Some(vec![1, -2, 3])] {
            let d = Decision { tx, commit: true, done: false, done_below: 5, parts, client: 9, seq: 12, balances };
            assert_eq!(Decision::decode(&d.encode()), d);
        }
        let records = [
            TxRecord::Prepared(PreparedRecord { tx, parts, read: false, writes: vec![(2, 90), (13, -1)] }),
            TxRecord::Prepared(PreparedRecord { tx, parts, read: true, writes: vec![] }),
            TxRecord::Outcome { tx, commit: true, seq: 7, writes: vec![(2, 90)] },
            TxRecord::Outcome { tx, commit: false, seq: 0, writes: vec![] },
        ];
        for r in records {
            assert_eq!(TxRecord::decode(&r.encode()), r);
        }
        assert_eq!(Key::new(b'd', tx).as_str(), "d/0711100030000000");
        assert_ne!(Key::new(b'p', TxId { epoch: 1, n: 16 }).as_str(), Key::new(b'p', TxId { epoch: 1, n: 1 }).as_str());
    }
}
