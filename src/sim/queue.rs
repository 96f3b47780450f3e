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

pub use super::types::Nanos;

/// Packed identity of a task: slab index in the low half, generation in the
/// high half, so a wake-up for a task that has since died is recognised.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct TaskKey(pub u64);

impl TaskKey {
    /// Packs an index and a generation.
    #[inline]
    pub fn new(index: u32, generation: u32) -> TaskKey {
        TaskKey((generation as u64) << 32 | index as u64)
    }
    /// The slab index.
    #[inline]
    pub fn index(self) -> usize {
        (self.0 & 0xFFFF_FFFF) as usize
    }
    /// The generation.
    #[inline]
    pub fn generation(self) -> u32 {
        (self.0 >> 32) as u32
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
struct Entry {
    time: Nanos,
    seq: u64,
    event: Event,
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

/// The (time, seq)-ordered queue of pending events.
///
/// A radix heap over 6-bit digits, with a sorted run in front. Virtual time
/// never goes backwards, so every pending event is at or after `last`, the
/// earliest event taken out of the buckets. An event lives in the bucket
/// named by the highest digit in which its time differs from `last` and by
/// its own value of that digit, so bucket order is time order and push is
/// O(1). When the run is empty, the lowest non-empty bucket (found with a
/// bitmap) is either sorted by (time, seq) into the run, if small, or split
/// into lower buckets. A push that falls before the run's last event is
/// inserted into the run in order. Ordering by `seq` makes ties FIFO.
pub struct EventQueue {
    buckets: Vec<Vec<Entry>>,
    /// Which buckets are non-empty.
    nonempty: [u64; WORDS],
    /// Events taken out of the buckets, sorted; `run[head..]` are pending.
    run: Vec<Entry>,
    head: usize,
    last: Nanos,
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
            buckets: (0..BUCKETS).map(|_| Vec::new()).collect(),
            nonempty: [0; WORDS],
            run: Vec::new(),
            head: 0,
            last: 0,
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
    /// run may still run before some of them (it joins the shuffle).
    pub fn shuffle_ties(&mut self, sched: super::rng::Prng) {
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

    #[inline]
    fn put(&mut self, e: Entry) {
        let b = bucket_of(e.time, self.last);
        self.buckets[b].push(e);
        self.nonempty[b / 64] |= 1 << (b % 64);
    }

    /// Schedules `event` at `time`, which must not precede the last event popped.
    #[inline]
    pub fn push(&mut self, time: Nanos, event: Event) {
        assert!(time >= self.last_popped.0, "event scheduled in the past: {time} < {}", self.last_popped.0);
        let seq = match &mut self.shuffle {
            None => self.seq,
            Some(sched) => sched.next_u64(),
        };
        self.seq += 1;
        self.len += 1;
        if self.len > self.peak {
            self.peak = self.len;
            self.over = self.peak > self.cap;
        }
        let e = Entry { time, seq, event };
        match self.run.last() {
            Some(tail) if self.head < self.run.len() && time < tail.time => {
                // Before the run's end: insert in (time, seq) order.
                let pending = &self.run[self.head..];
                let at = self.head
                    + match self.shuffle {
                        // FIFO: `seq` is the largest yet, so time alone places it.
                        None => pending.partition_point(|x| x.time <= time),
                        Some(_) => pending.partition_point(|x| (x.time, x.seq) <= (time, seq)),
                    };
                self.run.insert(at, e);
            }
            _ => self.put(e),
        }
    }

    /// Removes and returns the earliest event (ties in push order).
    #[inline(always)]
    pub fn pop(&mut self) -> Option<(Nanos, Event)> {
        if self.head == self.run.len() {
            if self.len == 0 {
                return None;
            }
            self.refill();
        }
        let e = self.run[self.head];
        self.head += 1;
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

    /// The run is spent: refill it from the lowest non-empty bucket.
    fn refill(&mut self) {
        self.run.clear();
        self.head = 0;
        loop {
            let word = self.nonempty.iter().position(|w| *w != 0).expect("queue length says an event is pending");
            let b = word * 64 + self.nonempty[word].trailing_zeros() as usize;
            self.nonempty[word] &= !(1 << (b % 64));
            let mut moving = std::mem::take(&mut self.buckets[b]);
            if moving.len() <= RUN_MAX || b == 0 {
                self.run.append(&mut moving);
                self.run.sort_unstable_by_key(|e| (e.time, e.seq));
                self.last = self.run[0].time;
                self.buckets[b] = moving;
                return;
            }
            self.last = moving.iter().map(|e| e.time).min().expect("non-empty bucket");
            for e in moving.drain(..) {
                self.put(e);
            }
            // Give the bucket its allocation back so steady state never allocates.
            self.buckets[b] = moving;
        }
    }

    /// The time of the earliest event, if any.
    #[inline]
    pub fn peek_time(&mut self) -> Option<Nanos> {
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
    fn entries_stay_small() {
        assert!(std::mem::size_of::<Entry>() <= 32);
    }
}
