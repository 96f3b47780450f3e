//! The event queue, ordered by (time, seq).
//!
//! `seq` is a per-run counter assigned at push, so two events at the same
//! virtual time run in the order they were scheduled: ties are deterministic.
//! With tie shuffling on ([`EventQueue::shuffle_ties`]), `seq` is drawn from
//! the run's `sched` stream instead, so same-time events run in an order
//! the seed picks: still deterministic, but other seeds explore other
//! interleavings of events that happen "at once".
//! Entries are 32 bytes and carry no heap data (payloads such as messages
//! live in slabs and are named by index), so pushing and popping never
//! allocates once the buckets have grown to the run's working size.
//!
//! A radix heap holds the events. Once more than [`WHEEL_AT`] are pending
//! at once (thousands of timers), a timer wheel (`wheel.rs`) takes over the
//! next half second or so, where nearly every event falls, and the radix
//! heap keeps the rest: the wheel files an event once, in order within its
//! slot, and pops it straight from there, where the radix heap refiles it
//! a few times, but with few events pending its bitmap search and slab
//! cost more than the heap's refiling. With ties shuffled the radix heap
//! holds everything, as it always has: there the order of same-time
//! events depends on which of them were already in the run, so the
//! structure is part of the run.

pub use super::types::Nanos;
use super::wheel::{Wheel, SLOT_BITS};

/// Identity of a task: slab index and generation, so a wake-up for a task
/// that has since died is recognised. Two `u32`s rather than one `u64`, so
/// an [`Event`] is 12 bytes, 4-aligned, and a timer wheel node packs into
/// 32 bytes (two to a cache line) instead of 40.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct TaskKey {
    index: u32,
    generation: u32,
}

impl TaskKey {
    /// No task.
    pub(crate) const NONE: TaskKey = TaskKey { index: u32::MAX, generation: u32::MAX };

    /// Packs an index and a generation.
    #[inline]
    pub fn new(index: u32, generation: u32) -> TaskKey {
        TaskKey { index, generation }
    }
    /// The slab index.
    #[inline]
    pub fn index(self) -> usize {
        self.index as usize
    }
    /// The generation.
    #[inline]
    pub fn generation(self) -> u32 {
        self.generation
    }
    /// Both as one number (generation in the high half), as traces show it.
    #[inline]
    pub fn raw(self) -> u64 {
        (self.generation as u64) << 32 | self.index as u64
    }
}

/// What to do when an event comes due. Payloads are slab indices.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Event {
    /// Poll the task (a timer registered by the task itself).
    Wake(TaskKey),
    /// Wake a foreign waker kept in the waker slab.
    WakeWaker(u32),
    /// Deliver the in-flight message in this slab slot.
    Deliver(u32),
    /// Apply fault action number N.
    Action(u32),
    /// The oldest outstanding fsync of a process is done.
    Fsync {
        /// The process.
        proc: u32,
        /// Its incarnation when the fsync began (a crash voids it).
        inc: u32,
    },
    /// The random nemesis picks its next fault.
    Nemesis,
    /// The liveness phase begins: faults stop, and a core heals.
    Converge,
}

#[derive(Clone, Copy, Debug)]
pub(crate) struct Entry {
    pub(crate) time: Nanos,
    pub(crate) seq: u64,
    pub(crate) event: Event,
}

/// Bits per radix digit: an event moves down at most once per digit.
const DIGIT_BITS: u32 = 6;
const DIGITS: usize = 1 << DIGIT_BITS;
const LEVELS: usize = 64_usize.div_ceil(DIGIT_BITS as usize);
/// Bucket 0 is "exactly `last`"; then one bucket per (level, digit).
const BUCKETS: usize = 1 + LEVELS * DIGITS;
const WORDS: usize = BUCKETS.div_ceil(64);
/// A bucket this small is sorted into the run instead of split further.
const RUN_MAX: usize = 32;
/// With more events than this pending at once (and ties in push order),
/// the wheel takes over the near ones for the rest of the run.
pub(crate) const WHEEL_AT: usize = 2048;

/// The (time, seq)-ordered queue of pending events.
///
/// The radix heap alone until [`WHEEL_AT`] events are pending; then, in
/// FIFO mode (ties in push order), an event due within the wheel's horizon
/// of the last pop goes into the [`Wheel`], a later one into the radix
/// heap, from which it moves into the wheel once the front comes near.
/// Every event in the wheel precedes every event in the radix heap, so a
/// pop takes the wheel's first event while it holds any. In FIFO mode
/// every pop is checked to be in (time, seq) order, so the order is
/// exactly that of any correct priority queue, whichever structure held
/// the event.
pub struct EventQueue {
    /// Every event until the wheel starts; then the events past the wheel.
    radix: Radix,
    /// Started when [`WHEEL_AT`] events were pending (never with shuffled ties).
    wheel: Option<Box<Wheel>>,
    len: usize,
    /// Most events pending at once so far, and the cap past which `over` is set.
    peak: usize,
    cap: usize,
    over: bool,
    seq: u64,
    last_popped: (Nanos, u64),
    /// Draws tie-breaking keys when ties are shuffled.
    shuffle: Option<super::rng::Prng>,
}

impl Default for EventQueue {
    fn default() -> Self {
        EventQueue {
            radix: Radix::default(),
            wheel: None,
            len: 0,
            peak: 0,
            cap: usize::MAX,
            over: false,
            seq: 0,
            last_popped: (0, 0),
            shuffle: None,
        }
    }
}

/// Sorts entries by (time, seq): insertion sort for the few a bucket
/// usually holds (no call, no copy when already in order), the library
/// sort beyond. Keys are unique, so the order is the same either way.
#[inline]
fn sort_run(run: &mut [Entry]) {
    if run.len() > 12 {
        run.sort_unstable_by_key(|e| (e.time, e.seq));
        return;
    }
    for i in 1..run.len() {
        let e = run[i];
        let mut j = i;
        while j > 0 && (run[j - 1].time, run[j - 1].seq) > (e.time, e.seq) {
            run[j] = run[j - 1];
            j -= 1;
        }
        run[j] = e;
    }
}

#[inline]
fn bucket_of(time: Nanos, last: Nanos) -> usize {
    let x = time ^ last;
    if x == 0 {
        return 0;
    }
    let level = (63 - x.leading_zeros()) / DIGIT_BITS;
    let digit = (time >> (level * DIGIT_BITS)) as usize & (DIGITS - 1);
    1 + level as usize * DIGITS + digit
}

impl EventQueue {
    /// An empty queue.
    pub fn new() -> EventQueue {
        EventQueue::default()
    }

    /// Orders same-time events by keys drawn from `sched` instead of by
    /// push order. An event pushed for the current instant while its ties
    /// run may still run before some of them (it joins the shuffle). Must
    /// be set before the first push.
    pub fn shuffle_ties(&mut self, sched: super::rng::Prng) {
        assert!(self.len == 0 && self.seq == 0, "tie shuffling is set before the first push");
        self.shuffle = Some(sched);
    }

    /// Sets the most events that may be pending before [`EventQueue::over`] says so.
    pub fn set_cap(&mut self, cap: usize) {
        self.cap = cap;
    }

    /// Most events pending at once so far.
    pub fn peak(&self) -> usize {
        self.peak
    }

    /// Whether more than the cap were ever pending at once.
    #[inline]
    pub fn over(&self) -> bool {
        self.over
    }

    /// Schedules `event` at `time`, which must not precede the last event popped.
    #[inline(always)]
    pub fn push(&mut self, time: Nanos, event: Event) {
        assert!(time >= self.last_popped.0, "event scheduled in the past: {time} < {}", self.last_popped.0);
        self.len += 1;
        if self.len > self.peak {
            self.peak = self.len;
            self.over = self.peak > self.cap;
        }
        let seq = self.seq;
        self.seq += 1;
        // The common case first: a near event, filed in the wheel.
        if let Some(wheel) = &mut self.wheel {
            if wheel.covers(time >> SLOT_BITS) {
                wheel.put(Entry { time, seq, event });
                return;
            }
        }
        self.push_other(Entry { time, seq, event });
    }

    /// A push that the wheel does not take: shuffled ties, no wheel yet, or
    /// past the wheel's horizon.
    #[inline(never)]
    fn push_other(&mut self, e: Entry) {
        if let Some(sched) = &mut self.shuffle {
            let seq = sched.next_u64();
            self.radix.push(Entry { seq, ..e }, true);
            return;
        }
        self.radix.push(e, false);
        if self.wheel.is_none() && self.len > WHEEL_AT {
            self.start_wheel();
        }
    }

    /// Many events are pending: the wheel takes over the near ones, all of
    /// which are in the radix heap now. Its cursor is the last pop's slot,
    /// since a push may still come before the earliest pending event.
    #[cold]
    fn start_wheel(&mut self) {
        let mut wheel = Box::<Wheel>::default();
        wheel.jump_to(self.last_popped.0 >> SLOT_BITS);
        migrate(&mut self.radix, &mut wheel);
        self.wheel = Some(wheel);
    }

    /// Removes and returns the earliest event (ties in push order).
    #[inline(always)]
    pub fn pop(&mut self) -> Option<(Nanos, Event)> {
        if self.len == 0 {
            return None;
        }
        let e = match &mut self.wheel {
            None => self.radix.pop(),
            Some(wheel) => {
                if wheel.len() == 0 {
                    // Nothing near: the wheel moves to the radix heap's front.
                    jump(&mut self.radix, wheel);
                }
                let (e, moved) = wheel.pop();
                if moved && self.radix.len > 0 {
                    migrate(&mut self.radix, wheel);
                }
                e
            }
        };
        self.len -= 1;
        assert!(
            (e.time, e.seq) >= self.last_popped || (self.shuffle.is_some() && e.time == self.last_popped.0),
            "event queue order broken: {:?} after {:?}",
            (e.time, e.seq),
            self.last_popped
        );
        self.last_popped = (e.time, e.seq);
        Some((e.time, e.event))
    }

    /// The earliest event if the wheel holds it (a hint for the caller to
    /// warm up what the event touches; `None` says nothing).
    #[inline(always)]
    pub fn next_event(&self) -> Option<Event> {
        match &self.wheel {
            Some(wheel) if wheel.len() > 0 => Some(wheel.peek_event()),
            _ => None,
        }
    }

    /// The time of the earliest event, if any.
    #[inline(always)]
    pub fn peek_time(&mut self) -> Option<Nanos> {
        if self.len == 0 {
            return None;
        }
        match &self.wheel {
            Some(wheel) if wheel.len() > 0 => Some(wheel.peek_time()),
            _ => self.radix.peek_time(),
        }
    }
}

/// The wheel is empty: its cursor moves to the radix heap's front, and
/// what it then covers moves in.
#[cold]
fn jump(radix: &mut Radix, wheel: &mut Wheel) {
    let next = radix.peek_time().expect("queue length says an event is pending");
    wheel.jump_to(next >> SLOT_BITS);
    migrate(radix, wheel);
}

/// Moves the radix heap's events that the wheel now covers into it, in
/// (time, seq) order, before anything is filed into the slots that opened.
fn migrate(radix: &mut Radix, wheel: &mut Wheel) {
    while let Some(t) = radix.peek_time() {
        if !wheel.covers(t >> SLOT_BITS) {
            break;
        }
        let e = radix.pop();
        wheel.put(e);
    }
}

/// A radix heap over 6-bit digits, with a sorted run in front. Virtual time
/// never goes backwards, so every event held is at or after `last`, the
/// earliest event taken out of the buckets. An event lives in the bucket
/// named by the highest digit in which its time differs from `last` and by
/// its own value of that digit, so bucket order is time order and push is
/// O(1). When the run is empty, the lowest non-empty bucket (found with a
/// bitmap) is either sorted by (time, seq) into the run, if small, or split
/// into lower buckets. A push that falls before the run's last event is
/// inserted into the run in order. Ordering by `seq` makes ties FIFO.
struct Radix {
    buckets: Vec<Vec<Entry>>,
    /// Which buckets are non-empty.
    nonempty: [u64; WORDS],
    /// Events taken out of the buckets, sorted; `run[head..]` are pending.
    run: Vec<Entry>,
    head: usize,
    last: Nanos,
    len: usize,
}

impl Default for Radix {
    fn default() -> Self {
        Radix {
            buckets: (0..BUCKETS).map(|_| Vec::new()).collect(),
            nonempty: [0; WORDS],
            run: Vec::new(),
            head: 0,
            last: 0,
            len: 0,
        }
    }
}

impl Radix {
    #[inline]
    fn put(&mut self, e: Entry) {
        let b = bucket_of(e.time, self.last);
        self.buckets[b].push(e);
        self.nonempty[b / 64] |= 1 << (b % 64);
    }

    /// Adds `e` (`shuffled`: its `seq` is a random key, not the largest yet).
    #[inline(always)]
    fn push(&mut self, e: Entry, shuffled: bool) {
        self.len += 1;
        match self.run.last() {
            Some(tail) if self.head < self.run.len() && e.time < tail.time => {
                // Before the run's end: insert in (time, seq) order.
                let pending = &self.run[self.head..];
                let at = self.head
                    + if shuffled {
                        pending.partition_point(|x| (x.time, x.seq) <= (e.time, e.seq))
                    } else {
                        // FIFO: `seq` is the largest yet, so time alone places it.
                        pending.partition_point(|x| x.time <= e.time)
                    };
                self.run.insert(at, e);
            }
            _ => self.put(e),
        }
    }

    /// Removes the earliest entry; the heap must not be empty.
    #[inline(always)]
    fn pop(&mut self) -> Entry {
        if self.head == self.run.len() {
            self.refill();
        }
        let e = self.run[self.head];
        self.head += 1;
        self.len -= 1;
        e
    }

    /// The run is spent: refill it from the lowest non-empty bucket.
    fn refill(&mut self) {
        self.run.clear();
        self.head = 0;
        loop {
            let word = self.nonempty.iter().position(|w| *w != 0).expect("queue length says an event is pending");
            let b = word * 64 + self.nonempty[word].trailing_zeros() as usize;
            self.nonempty[word] &= !(1 << (b % 64));
            let bucket = &mut self.buckets[b];
            if bucket.len() <= RUN_MAX || b == 0 {
                if bucket.capacity() <= 4 * RUN_MAX {
                    // The run is empty: it trades allocations with the bucket
                    // instead of copying the bucket into it. (A big
                    // allocation stays with its bucket, so swaps cannot
                    // spread big allocations over many buckets.)
                    std::mem::swap(&mut self.run, bucket);
                } else {
                    self.run.append(bucket);
                }
                sort_run(&mut self.run);
                self.last = self.run[0].time;
                return;
            }
            let mut moving = std::mem::take(&mut self.buckets[b]);
            self.last = moving.iter().map(|e| e.time).min().expect("non-empty bucket");
            for e in moving.drain(..) {
                self.put(e);
            }
            // Give the bucket its allocation back so steady state never allocates.
            self.buckets[b] = moving;
        }
    }

    /// The time of the earliest entry, if any.
    #[inline(always)]
    fn peek_time(&mut self) -> Option<Nanos> {
        if self.head == self.run.len() {
            if self.len == 0 {
                return None;
            }
            self.refill();
        }
        Some(self.run[self.head].time)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shuffled_ties_keep_time_order_and_vary_with_the_seed() {
        let order = |seed| {
            let mut q = EventQueue::new();
            q.shuffle_ties(super::super::rng::Prng::stream(seed, "sched"));
            for i in 0..8 {
                q.push(if i % 2 == 0 { 5 } else { 3 }, Event::Action(i));
            }
            let popped: Vec<(Nanos, Event)> = std::iter::from_fn(|| q.pop()).collect();
            assert!(popped.windows(2).all(|w| w[0].0 <= w[1].0), "time order holds: {popped:?}");
            popped
        };
        assert_eq!(order(1), order(1));
        let orders: std::collections::BTreeSet<String> = (0..20).map(|s| format!("{:?}", order(s))).collect();
        assert!(orders.len() > 10, "seeds order ties differently");
    }

    #[test]
    fn orders_by_time_then_insertion() {
        let mut q = EventQueue::new();
        q.push(5, Event::Action(0));
        q.push(3, Event::Action(1));
        q.push(5, Event::Action(2));
        q.push(3, Event::Action(3));
        let order: Vec<_> = std::iter::from_fn(|| q.pop()).collect();
        assert_eq!(
            order,
            vec![(3, Event::Action(1)), (3, Event::Action(3)), (5, Event::Action(0)), (5, Event::Action(2))]
        );
    }

    /// A queue that drains to empty again and again (a quiet run: one
    /// message in flight, a refill per pop) pops exactly in (time, push
    /// order), like a sorted set of the same pushes.
    #[test]
    fn a_queue_that_empties_often_pops_in_time_then_push_order() {
        let mut rng = crate::sim::rng::Prng::stream(11, "queue-test-empty");
        let mut q = EventQueue::new();
        let mut reference = std::collections::BTreeSet::new();
        let (mut now, mut pushed, mut emptied) = (0, 0u32, 0);
        for _ in 0..20_000 {
            // Pops outnumber pushes, so the queue keeps coming back to empty.
            if rng.index(5) < 2 {
                // Mostly near, sometimes a tie with now, sometimes far.
                let t = now + [0, rng.between(1, 5_000), rng.between(1, 1 << 30)][rng.index(3)];
                q.push(t, Event::Action(pushed));
                reference.insert((t, pushed));
                pushed += 1;
            } else {
                let want = reference.pop_first();
                let got = q.pop();
                assert_eq!(got, want.map(|(t, i)| (t, Event::Action(i))));
                if let Some((t, _)) = got {
                    now = t;
                }
                emptied += usize::from(reference.is_empty());
            }
        }
        assert!(emptied > 1_000, "the queue emptied {emptied} times");
    }

    #[test]
    fn matches_a_sorted_reference_under_random_pushes() {
        let mut rng = crate::sim::rng::Prng::stream(9, "queue-test");
        let mut q = EventQueue::new();
        let mut reference = Vec::new();
        let mut now = 0;
        let mut popped = Vec::new();
        for round in 0..20_000u32 {
            if rng.index(3) != 0 {
                let spread = 1 << rng.between(0, 40);
                let t = now + rng.between(0, spread);
                q.push(t, Event::Action(round));
                reference.push((t, round));
            } else if let Some((t, e)) = q.pop() {
                now = t;
                popped.push((t, e));
            }
        }
        while let Some(p) = q.pop() {
            popped.push(p);
        }
        // Stable sort by time = push order for ties.
        reference.sort_by_key(|&(t, _)| t);
        let expected: Vec<_> = reference.into_iter().map(|(t, r)| (t, Event::Action(r))).collect();
        let mut got = popped.clone();
        got.sort_by_key(|&(t, _)| t);
        assert_eq!(got.len(), expected.len());
        // Every pop is in non-decreasing time, and equal times keep push order.
        assert!(popped.windows(2).all(|w| w[0].0 <= w[1].0));
        let ties_in_order = popped.windows(2).all(|w| match (w[0], w[1]) {
            ((t0, Event::Action(a)), (t1, Event::Action(b))) => t0 != t1 || a < b,
            _ => false,
        });
        assert!(ties_in_order);
        assert_eq!(got.iter().map(|p| p.0).collect::<Vec<_>>(), expected.iter().map(|p| p.0).collect::<Vec<_>>());
    }

    #[test]
    fn the_wheel_pops_in_exact_time_and_push_order() {
        // Enough pending events to start the wheel, times now, near, past the
        // wheel's horizon and far ahead, with ties: every pop must be the
        // least (time, push number) pending, as a sorted set says.
        let mut rng = crate::sim::rng::Prng::stream(3, "wheel-test");
        let mut q = EventQueue::new();
        let mut reference = std::collections::BTreeSet::new();
        let mut now = 0;
        let mut pushed = 0u32;
        let mut push = |q: &mut EventQueue, reference: &mut std::collections::BTreeSet<(Nanos, u32)>, t| {
            q.push(t, Event::Action(pushed));
            reference.insert((t, pushed));
            pushed += 1;
        };
        for _ in 0..3 * WHEEL_AT {
            let t = rng.between(0, 2_000_000_000) / 1_000 * 1_000;
            push(&mut q, &mut reference, t);
        }
        assert!(q.wheel.is_some(), "the wheel started");
        for round in 0..60_000u32 {
            if round % 3 != 0 {
                let t = match rng.index(5) {
                    0 => now,
                    1 => now + rng.between(0, 20_000),
                    2 => now + rng.between(1_000_000, 100_000_000),
                    3 => now + rng.between(500_000_000, 700_000_000),
                    _ => now + rng.between(1_000_000_000, 30_000_000_000),
                };
                push(&mut q, &mut reference, t);
            } else {
                let expected = reference.pop_first();
                let got = q.pop().map(|(t, e)| match e {
                    Event::Action(i) => (t, i),
                    other => panic!("unexpected event {other:?}"),
                });
                assert_eq!(got, expected, "pop {round}");
                now = got.map_or(now, |(t, _)| t);
            }
        }
        while let Some(expected) = reference.pop_first() {
            assert_eq!(q.pop(), Some((expected.0, Event::Action(expected.1))));
        }
        assert_eq!(q.pop(), None);
    }

    #[test]
    fn a_wheel_slot_keeps_time_then_push_order_whatever_the_push_order() {
        // Past WHEEL_AT pending, pushes into one 8 µs slot in falling,
        // rising and equal times, then a gap past the horizon (the wheel
        // empties and jumps): pops must come out as a sorted set says.
        let mut q = EventQueue::new();
        let mut reference = std::collections::BTreeSet::new();
        let mut n = 0u32;
        let mut push = |q: &mut EventQueue, reference: &mut std::collections::BTreeSet<(Nanos, u32)>, t| {
            q.push(t, Event::Action(n));
            reference.insert((t, n));
            n += 1;
        };
        for i in 0..=WHEEL_AT as u64 {
            push(&mut q, &mut reference, 5_000 - i % 4_000);
        }
        assert!(q.wheel.is_some(), "the wheel started");
        for i in 0..300u64 {
            push(&mut q, &mut reference, 3_000 + (i * 37) % 2_000);
            push(&mut q, &mut reference, 4_000);
        }
        push(&mut q, &mut reference, 2_000_000_000);
        push(&mut q, &mut reference, 2_000_000_001);
        push(&mut q, &mut reference, 2_000_000_000);
        let mut popped = 0;
        while let Some(expected) = reference.pop_first() {
            assert_eq!(q.pop(), Some((expected.0, Event::Action(expected.1))), "pop {popped}");
            popped += 1;
            if popped == 100 {
                // Pushes for the current instant after pops join in order.
                let now = expected.0;
                push(&mut q, &mut reference, now);
                push(&mut q, &mut reference, now + 1);
            }
        }
        assert_eq!(q.pop(), None);
    }

    #[test]
    fn entries_stay_small() {
        assert!(std::mem::size_of::<Entry>() <= 32);
    }
}
