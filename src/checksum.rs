//! Records that know when they are torn: [`seal`] appends a checksum to a
//! value before it is written to storage, [`unseal`] gives the value back
//! only if the checksum still matches.
//!
//! Why a protocol needs this: with `storage.torn_writes` on, a crash may
//! leave any unsynced write cut short or with a bit flipped (see
//! `src/storage.rs`), as a real page cache can. A protocol that decodes what
//! it reads back without a checksum can take a corrupt record for a good
//! one. The checksum is 64-bit FNV-1a: a few lines, no dependency, and every
//! single-bit flip changes it (each step of FNV-1a is a bijection of the
//! state for a fixed input byte, so one changed byte can never be undone by
//! the bytes after it). It is not a defence against an adversary, only
//! against the disk faults the simulator injects.

/// Bytes [`seal`] adds after the value.
pub const SEAL_LEN: usize = 8;

/// 64-bit FNV-1a of `bytes`.
pub fn checksum(bytes: &[u8]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for &b in bytes {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    h
}

/// `value` followed by its checksum (little-endian), ready to write.
pub fn seal(mut value: Vec<u8>) -> Vec<u8> {
    let sum = checksum(&value);
    value.extend_from_slice(&sum.to_le_bytes());
    value
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
    fn the_checksum_is_fnv1a() {
        // Published FNV-1a 64 test vectors.
        assert_eq!(checksum(b""), 0xcbf2_9ce4_8422_2325);
        assert_eq!(checksum(b"a"), 0xaf63_dc4c_8601_ec8c);
        assert_eq!(checksum(b"foobar"), 0x8594_4171_f739_67e8);
    }
}
