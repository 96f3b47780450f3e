//! Records that know when they are torn: [`seal`] appends a checksum to a
//! value before it is written to storage, [`unseal`] gives the value back
//! only if the checksum still matches.
//!
//! Why a protocol needs this: with `storage.torn_writes` on, a crash may
//! leave any unsynced write cut short or with a bit flipped (see
//! `src/storage.rs`), as a real page cache can. A protocol that decodes what
//! it reads back without a checksum can take a corrupt record for a good
//! one. The checksum is FNV-1a's multiply-xor step taken over 64-bit
//! words instead of bytes (eight times fewer steps: Raft seals every log
//! record, so this is on the hot path), seeded with the length. Every
//! single-bit flip changes it: each step is a bijection of the state for a
//! fixed input word, so one changed word can never be undone by the words
//! after it. It is not a defence against an adversary, only against the
//! disk faults the simulator injects.

/// Bytes [`seal`] adds after the value.
pub const SEAL_LEN: usize = 8;

/// FNV-1a's 64-bit prime and offset basis.
const PRIME: u64 = 0x0000_0100_0000_01b3;
const BASIS: u64 = 0xcbf2_9ce4_8422_2325;

/// The checksum of `bytes`: FNV-1a steps over little-endian 64-bit words
/// (the last one zero-padded), starting from the basis mixed with the length.
#[inline]
pub fn checksum(bytes: &[u8]) -> u64 {
    let step = |h: u64, word: u64| (h ^ word).wrapping_mul(PRIME);
    let mut h = step(BASIS, bytes.len() as u64);
    let mut words = bytes.chunks_exact(8);
    for word in &mut words {
        h = step(h, u64::from_le_bytes(word.try_into().expect("8 bytes")));
    }
    let rest = words.remainder();
    if !rest.is_empty() {
        let mut last = [0u8; 8];
        last[..rest.len()].copy_from_slice(rest);
        h = step(h, u64::from_le_bytes(last));
    }
    h
}

/// `value` followed by its checksum (little-endian), ready to write.
pub fn seal(mut value: Vec<u8>) -> Vec<u8> {
    seal_in_place(&mut value);
    value
}

/// [`seal`] for a buffer the caller reuses: appends the checksum of what
/// `value` holds.
pub fn seal_in_place(value: &mut Vec<u8>) {
    let sum = checksum(value);
    value.extend_from_slice(&sum.to_le_bytes());
}

/// The value [`seal`] wrapped, or `None` if the record is too short or its
/// checksum does not match (a torn or corrupted write).
pub fn unseal(record: &[u8]) -> Option<&[u8]> {
    let split = record.len().checked_sub(SEAL_LEN)?;
    let (value, sum) = record.split_at(split);
    (checksum(value).to_le_bytes() == sum).then_some(value)
}

/// The value part of a sealed record without checking it: what a reader
/// that trusts its disk sees (planted bugs use this).
pub fn unseal_unchecked(record: &[u8]) -> Option<&[u8]> {
    record.len().checked_sub(SEAL_LEN).map(|split| &record[..split])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sealed_record_opens_and_every_bit_flip_or_cut_is_caught() {
        let record = seal(b"term 7, vote 2".to_vec());
        assert_eq!(unseal(&record), Some(&b"term 7, vote 2"[..]));
        for i in 0..record.len() {
            for bit in 0..8 {
                let mut torn = record.clone();
                torn[i] ^= 1 << bit;
                assert_eq!(unseal(&torn), None, "flip of bit {bit} of byte {i}");
            }
        }
        for len in 0..record.len() {
            assert_eq!(unseal(&record[..len]), None, "cut to {len} bytes");
        }
        assert_eq!(unseal_unchecked(&record), Some(&b"term 7, vote 2"[..]));
    }

    #[test]
    fn zero_padding_and_length_do_not_collide() {
        // The padded last word of "ab" equals that of "ab\0": the length tells them apart.
        assert_ne!(checksum(b"ab"), checksum(b"ab\0"));
        assert_ne!(checksum(b""), checksum(&[0; 8]));
    }
}
