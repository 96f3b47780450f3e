//! The timer wheel in front of the event queue's radix heap: near events
//! (within about 537 ms of the queue's front) are filed once, in the slot
//! of their time, and come out slot by slot.
//!
//! Most events a simulation schedules are near: message latencies,
//! fsyncs, heartbeats and election timeouts. A radix heap files an event
//! relative to its front and refiles it each time the front reaches its
//! bucket, so an event 50 ms ahead among thousands moves two or three
//! times before it is due; here it is written once and read once. A slot
//! spans 2^[`SLOT_BITS`] ns (8.2 µs), so it holds a handful of events,
//! which the queue sorts by (time, seq) as it takes them. Events are nodes
//! of a slab linked per slot (no allocation per event once the slab has
//! grown); a two-level bitmap finds the next non-empty slot.
//!
//! The wheel holds the slots `cursor .. cursor + SLOTS` (absolute slot
//! numbers, time >> SLOT_BITS); the queue keeps anything later in its
//! radix heap and moves it in as the cursor advances, before any event can
//! be filed directly into the slots that open, so a slot never mixes old
//! and new order in a way the sort could not mend.

use super::queue::Entry;

/// A slot spans 2^13 ns.
pub(crate) const SLOT_BITS: u32 = 13;
/// 2^16 slots: about 537 ms of virtual time.
const WHEEL_BITS: u32 = 16;
const SLOTS: u64 = 1 << WHEEL_BITS;
const MASK: u64 = SLOTS - 1;
const WORDS: usize = (SLOTS / 64) as usize;
const SUMMARY: usize = WORDS.div_ceil(64);

#[derive(Clone, Copy)]
struct Node {
    entry: Entry,
    /// The next node of the slot (or of the free list), as index + 1; 0 ends it.
    next: u32,
}

/// Near events by slot.
pub(crate) struct Wheel {
    /// First node of each slot, as index + 1 (0: empty), by `slot & MASK`.
    heads: Vec<u32>,
    /// Which slots are non-empty, and which words of that are non-zero.
    bits: Vec<u64>,
    summary: [u64; SUMMARY],
    nodes: Vec<Node>,
    /// Free nodes, linked through `next`, as index + 1.
    free: u32,
    /// The earliest slot not yet taken out: every event held is in
    /// `cursor .. cursor + SLOTS`.
    cursor: u64,
    len: usize,
}

impl Default for Wheel {
    fn default() -> Self {
        Wheel {
            // Zeroed memory: the allocator hands it out lazily, so a short run
            // pays only for the slots it touches.
            heads: vec![0; SLOTS as usize],
            bits: vec![0; WORDS],
            summary: [0; SUMMARY],
            nodes: Vec::new(),
            free: 0,
            cursor: 0,
            len: 0,
        }
    }
}

impl Wheel {
    /// Events held.
    #[inline]
    pub fn len(&self) -> usize {
        self.len
    }

    /// The earliest slot not yet taken out.
    #[inline]
    pub fn cursor(&self) -> u64 {
        self.cursor
    }

    /// Whether absolute slot `slot` (not before the cursor) is in the wheel.
    #[inline]
    pub fn covers(&self, slot: u64) -> bool {
        slot - self.cursor < SLOTS
    }

    /// Moves an empty wheel's cursor forward to `slot`.
    pub fn jump_to(&mut self, slot: u64) {
        assert!(self.len == 0 && slot >= self.cursor, "wheel jump with events held or backwards");
        self.cursor = slot;
    }

    /// Files `entry`, whose slot the wheel covers.
    #[inline]
    pub fn put(&mut self, entry: Entry) {
        debug_assert!(self.covers(entry.time >> SLOT_BITS));
        let pos = ((entry.time >> SLOT_BITS) & MASK) as usize;
        let head = self.heads[pos];
        let node = Node { entry, next: head };
        let index = match self.free {
            0 => {
                self.nodes.push(node);
                u32::try_from(self.nodes.len()).expect("too many pending events")
            }
            i => {
                let slot = &mut self.nodes[i as usize - 1];
                self.free = slot.next;
                *slot = node;
                i
            }
        };
        self.heads[pos] = index;
        if head == 0 {
            let w = pos / 64;
            if self.bits[w] == 0 {
                self.summary[w / 64] |= 1 << (w % 64);
            }
            self.bits[w] |= 1 << (pos % 64);
        }
        self.len += 1;
    }

    /// The first non-empty slot position at or after `pos` (no wrap).
    #[inline]
    fn find_from(&self, pos: usize) -> Option<usize> {
        let w = pos / 64;
        let m = self.bits[w] & (!0u64 << (pos % 64));
        if m != 0 {
            return Some(w * 64 + m.trailing_zeros() as usize);
        }
        let w1 = w + 1;
        if w1 >= WORDS {
            return None;
        }
        let mut s = w1 / 64;
        let mut sm = self.summary[s] & (!0u64 << (w1 % 64));
        loop {
            if sm != 0 {
                let word = s * 64 + sm.trailing_zeros() as usize;
                return Some(word * 64 + self.bits[word].trailing_zeros() as usize);
            }
            s += 1;
            if s == SUMMARY {
                return None;
            }
            sm = self.summary[s];
        }
    }

    /// Appends the earliest non-empty slot's events to `out` (in no
    /// particular order) and moves the cursor past that slot.
    #[inline]
    pub fn take_next(&mut self, out: &mut Vec<Entry>) {
        assert!(self.len > 0, "take from an empty wheel");
        let p = (self.cursor & MASK) as usize;
        let pos = match self.find_from(p) {
            Some(pos) => pos,
            None => self.find_from(0).expect("the wheel's length says an event is held"),
        };
        let slot = self.cursor + ((pos as u64).wrapping_sub(p as u64) & MASK);
        let mut i = std::mem::replace(&mut self.heads[pos], 0);
        let w = pos / 64;
        self.bits[w] &= !(1 << (pos % 64));
        if self.bits[w] == 0 {
            self.summary[w / 64] &= !(1 << (w % 64));
        }
        while i != 0 {
            let node = &mut self.nodes[i as usize - 1];
            out.push(node.entry);
            let next = node.next;
            node.next = self.free;
            self.free = i;
            i = next;
            self.len -= 1;
        }
        self.cursor = slot + 1;
    }
}
