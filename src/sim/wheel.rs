//! The timer wheel in front of the event queue's radix heap: near events
//! (within about 537 ms of the queue's front) are filed once, in the slot
//! of their time, in (time, seq) order, and pop straight from their slot.
//!
//! Most events a simulation schedules are near: message latencies,
//! fsyncs, heartbeats and election timeouts. A radix heap files an event
//! relative to its front and refiles it each time the front reaches its
//! bucket, so an event 50 ms ahead among thousands moves two or three
//! times before it is due; here it is written once and read once. A slot
//! spans 2^[`SLOT_BITS`] ns (8.2 µs), so it holds a handful of events.
//! Each slot is a circular list of slab nodes kept sorted by (time, seq):
//! the slot remembers its last node, whose link is the first, so a pop
//! takes the first node and a push for the slot's latest time (same-time
//! events, which come in `seq` order) appends in O(1); an earlier one
//! walks the few nodes the slot holds. No sort, no copy into a run, no
//! allocation per event once the slab has grown; a two-level bitmap finds
//! the next non-empty slot.
//!
//! The wheel holds the slots `cursor .. cursor + SLOTS` (absolute slot
//! numbers, time >> SLOT_BITS), where `cursor` is the slot of the last
//! event popped (so no push can fall before it); the queue keeps anything
//! later in its radix heap and moves it in as the cursor advances, before
//! anything is popped from the slots that opened.

use super::queue::{Entry, Event};

/// A slot spans 2^13 ns.
pub(crate) const SLOT_BITS: u32 = 13;
/// 2^16 slots: about 537 ms of virtual time.
const WHEEL_BITS: u32 = 16;
const SLOTS: u64 = 1 << WHEEL_BITS;
const MASK: u64 = SLOTS - 1;
const WORDS: usize = (SLOTS / 64) as usize;
const SUMMARY: usize = WORDS.div_ceil(64);

/// An event and its link, flat (not an [`Entry`] and a link) so that the
/// 12-byte event and the link share the 8-byte alignment's padding: 32
/// bytes, two nodes to a cache line, none split across two.
#[derive(Clone, Copy)]
struct Node {
    time: u64,
    seq: u64,
    event: Event,
    /// The next node of the slot's ring (the last node links to the first),
    /// or of the free list (0 ends it).
    next: u32,
}

const _: () = assert!(std::mem::size_of::<Node>() == 32);

impl Node {
    #[inline(always)]
    fn key(&self) -> (u64, u64) {
        (self.time, self.seq)
    }

    #[inline(always)]
    fn entry(&self) -> Entry {
        Entry { time: self.time, seq: self.seq, event: self.event }
    }
}

/// Near events by slot.
pub(crate) struct Wheel {
    /// Last node of each slot's ring (0: empty), by `slot & MASK`.
    tails: Box<[u32; SLOTS as usize]>,
    /// Which slots are non-empty, and which words of that are non-zero.
    bits: Box<[u64; WORDS]>,
    summary: [u64; SUMMARY],
    nodes: Vec<Node>,
    /// Free nodes, linked through `next`.
    free: u32,
    /// The slot of the last event popped (or where the wheel started):
    /// every event held is in `cursor .. cursor + SLOTS`.
    cursor: u64,
    /// The earliest non-empty slot, while any event is held.
    front: u64,
    len: usize,
}

impl Default for Wheel {
    fn default() -> Self {
        Wheel {
            // Zeroed memory: the allocator hands it out lazily, so a short run
            // pays only for the slots it touches.
            // (Fixed-size arrays: an index masked to the wheel needs no bounds check.)
            tails: vec![0; SLOTS as usize].into_boxed_slice().try_into().expect("SLOTS entries"),
            bits: vec![0; WORDS].into_boxed_slice().try_into().expect("WORDS entries"),
            summary: [0; SUMMARY],
            // Node 0 is never used, so index 0 can mean "none".
            nodes: vec![Node { time: 0, seq: 0, event: Event::Converge, next: 0 }],
            free: 0,
            cursor: 0,
            front: 0,
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

    /// Whether absolute slot `slot` (not before the cursor) is in the wheel.
    #[inline(always)]
    pub fn covers(&self, slot: u64) -> bool {
        slot - self.cursor < SLOTS
    }

    /// Moves an empty wheel's cursor forward to `slot`.
    pub fn jump_to(&mut self, slot: u64) {
        assert!(self.len == 0 && slot >= self.cursor, "wheel jump with events held or backwards");
        self.cursor = slot;
    }

    #[inline(always)]
    fn node(&self, i: u32) -> &Node {
        &self.nodes[i as usize]
    }

    #[inline(always)]
    fn node_mut(&mut self, i: u32) -> &mut Node {
        &mut self.nodes[i as usize]
    }

    /// Files `entry`, whose slot the wheel covers, in (time, seq) order.
    #[inline(always)]
    pub fn put(&mut self, entry: Entry) {
        let slot = entry.time >> SLOT_BITS;
        debug_assert!(self.covers(slot));
        let pos = (slot & MASK) as usize;
        if self.len == 0 || slot < self.front {
            self.front = slot;
        }
        let index = match self.free {
            0 => {
                self.nodes.push(Node { time: entry.time, seq: entry.seq, event: entry.event, next: 0 });
                u32::try_from(self.nodes.len() - 1).expect("too many pending events")
            }
            i => {
                let node = self.node_mut(i);
                let free = node.next;
                (node.time, node.seq, node.event) = (entry.time, entry.seq, entry.event);
                self.free = free;
                i
            }
        };
        self.len += 1;
        let tail = self.tails[pos];
        if tail == 0 {
            self.node_mut(index).next = index;
            self.tails[pos] = index;
            let w = pos / 64;
            if self.bits[w] == 0 {
                self.summary[w / 64] |= 1 << (w % 64);
            }
            self.bits[w] |= 1 << (pos % 64);
            return;
        }
        let last = self.node(tail);
        let mut prev = tail;
        let key = (entry.time, entry.seq);
        if last.key() < key {
            // The slot's latest: append, and the new node is the tail.
            self.tails[pos] = index;
        } else {
            // Walk from the first node to the last one not after `entry`
            // (the tail is after it, so the walk ends).
            loop {
                let next = self.node(prev).next;
                if self.node(next).key() > key {
                    break;
                }
                prev = next;
            }
        }
        let after = self.node(prev).next;
        self.node_mut(index).next = after;
        self.node_mut(prev).next = index;
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

    /// The earliest non-empty slot after `slot`, which has just emptied;
    /// the wheel must not be empty.
    #[inline]
    fn next_after(&self, slot: u64) -> u64 {
        let p = (slot & MASK) as usize;
        let pos = match self.find_from(p) {
            Some(pos) => pos,
            None => self.find_from(0).expect("the wheel's length says an event is held"),
        };
        slot + ((pos as u64).wrapping_sub(p as u64) & MASK)
    }

    /// The earliest node held; the wheel must not be empty.
    #[inline(always)]
    fn peek_node(&self) -> &Node {
        let tail = self.tails[(self.front & MASK) as usize];
        self.node(self.node(tail).next)
    }

    /// The earliest event held; the wheel must not be empty.
    #[inline(always)]
    pub fn peek_event(&self) -> Event {
        self.peek_node().event
    }

    /// The time of the earliest event held; the wheel must not be empty.
    #[inline(always)]
    pub fn peek_time(&self) -> u64 {
        self.peek_node().time
    }

    /// Removes and returns the earliest event, moving the cursor to its
    /// slot; the wheel must not be empty. Returns whether the cursor moved
    /// (the caller then moves in what the wheel now covers).
    #[inline(always)]
    pub fn pop(&mut self) -> (Entry, bool) {
        assert!(self.len > 0, "pop from an empty wheel");
        let slot = self.front;
        let moved = slot != self.cursor;
        self.cursor = slot;
        let pos = (slot & MASK) as usize;
        let tail = self.tails[pos];
        let first = self.node(tail).next;
        let node = *self.node(first);
        let (entry, next) = (node.entry(), node.next);
        let free = self.free;
        self.node_mut(first).next = free;
        self.free = first;
        self.len -= 1;
        if first != tail {
            self.node_mut(tail).next = next;
            return (entry, moved);
        }
        self.tails[pos] = 0;
        let w = pos / 64;
        self.bits[w] &= !(1 << (pos % 64));
        if self.bits[w] == 0 {
            self.summary[w / 64] &= !(1 << (w % 64));
        }
        if self.len > 0 {
            self.front = self.next_after(slot);
        }
        (entry, moved)
    }
}
