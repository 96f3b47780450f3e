//! The linearizability search (Wing & Gong with Lowe's memoisation, "WGL"),
//! per-key scheduling, violation reports and history shrinking.
//!
//! # The algorithm
//! Each operation becomes two entries, a *call* at its invoke position and a
//! *return* at its completion position, in one doubly linked list ordered by
//! real time. The search walks the list from the head: at a call it tries to
//! apply the op to the model state; if the model accepts and the pair
//! (set of linearized ops, new state) has not been seen before, the op is
//! *lifted* out of the list (both entries), pushed on a stack, and the walk
//! restarts from the head. Reaching a return means that op's deadline passed
//! without it being linearized, so the search backtracks: it pops the last
//! op, restores its entries and state, and tries the next call after it.
//! The memo (a hash set of bitset + state) is what makes this practical: two
//! orders that linearize the same ops into the same state need exploring once.
//! See Lowe, "Testing for linearizability" (2017), and Porcupine.
//!
//! # Open operations
//! An `info` op, or one that never completed, may take effect at any point
//! after its invoke, or never. Its return entry is placed after every other
//! entry (at +infinity), so it never forces a backtrack and can be linearized
//! anywhere after its call; and the search succeeds as soon as every op that
//! completed `ok` is linearized, whatever open ops remain, which is how an
//! open op gets to "never" take effect. Failed ops and open reads constrain
//! nothing and are dropped before the search.
//!
//! # Keys and scheduling
//! For model `kv` each key is checked on its own (P-compositionality: a
//! history is linearizable iff every key's sub-history is). Each key's search
//! is a resumable state machine; [`check`] runs them round-robin, in key
//! order, in fixed slices of steps, so one hard key cannot hide another key's
//! easy violation. The verdict does not depend on this scheduling; the slices
//! are fixed (not timed), so even which violation is reported is a pure
//! function of the history. Only the deadline is wall-clock, and it is read
//! once per slice; when it passes before a verdict, the answer is `Unknown`.
//!
//! # Model states
//! Values are interned per key to `u32` ids (0 = absent) before searching, so
//! a model step is an integer compare. An append's result is hash-consed
//! (a chain of appends with a rolling hash, compared exactly on a hash match)
//! once per (state, argument) pair and then looked up, so appends never copy
//! the growing string during the search.

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::hash::{BuildHasherDefault, Hasher};
use std::str::FromStr;
use std::time::Instant;

use serde::Serialize;

use crate::check::history::{short, Call, History, Op, Outcome, Value};

/// The sequential specification histories are checked against.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
pub enum Model {
    /// One register: every op acts on the same value, keys are ignored.
    /// Supports read, write, cas (and append, with the kv meaning).
    Register,
    /// A map of independent registers, one per key (a missing key is one more
    /// key of its own): read, write, cas, append. Checked key by key.
    Kv,
}

impl FromStr for Model {
    type Err = String;

    /// Parses `register` or `kv`.
    fn from_str(s: &str) -> Result<Model, String> {
        match s {
            "register" => Ok(Model::Register),
            "kv" => Ok(Model::Kv),
            _ => Err(format!("unknown model \"{s}\" (expected register or kv)")),
        }
    }
}

impl fmt::Display for Model {
    /// `register` or `kv`, as on the command line.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Model::Register => "register",
            Model::Kv => "kv",
        })
    }
}

/// The answer of [`check`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// Some order of the ops respects real time and the model.
    Linearizable,
    /// No such order exists; the report explains one key's failure.
    NotLinearizable(Box<Violation>),
    /// The deadline passed before the search reached a verdict.
    Unknown,
}

/// An operation named in a report.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct OpRef {
    /// Position of the op in [`History::ops`].
    pub index: usize,
    /// One-line description (process, call, result, event positions).
    pub text: String,
}

/// One step of a partial linearization.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct LinearizedStep {
    /// The op applied.
    pub op: OpRef,
    /// The key's value after applying it (`Null` = absent).
    pub state: Value,
}

/// An op that could have been linearized next, and why that led nowhere.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Attempt {
    /// The op tried.
    pub op: OpRef,
    /// Why the model refused it (`read k3 -> 4 but the value is 1`), or that it
    /// was accepted but no linearization continues from there.
    pub reason: String,
}

/// Why a history is not linearizable: a bug report for one key.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Violation {
    /// The model checked.
    pub model: Model,
    /// The key that failed (`None`: the single register).
    pub key: Option<String>,
    /// The op whose completion came before it could be linearized, at the end
    /// of the longest partial linearization.
    pub first_unlinearizable: OpRef,
    /// The last op of the longest partial linearization, if any.
    pub last_linearized: Option<OpRef>,
    /// The longest partial linearization found, with the state after each op.
    pub linearization: Vec<LinearizedStep>,
    /// The ops that could go next after that partial linearization, each with
    /// the reason it failed.
    pub attempts: Vec<Attempt>,
}

impl Violation {
    /// The longest partial linearization is shown only up to this many steps
    /// (its end, where the failure is).
    const STEPS_SHOWN_MAX: usize = 30;

    /// A multi-line human-readable report.
    pub fn render(&self) -> String {
        let mut out = String::new();
        let subject = match &self.key {
            Some(k) => format!("key {}", Value::Str(k.clone())),
            None => "the register".to_string(),
        };
        out.push_str(&format!("not linearizable: {subject} (model {})\n", self.model));
        out.push_str(&format!("  first op that cannot be linearized: {}\n", self.first_unlinearizable.text));
        match &self.last_linearized {
            Some(op) => out.push_str(&format!("  last op linearized before it:       {}\n", op.text)),
            None => out.push_str("  no op could be linearized before it\n"),
        }
        out.push_str(&format!("longest partial linearization ({} ops, value after each):\n", self.linearization.len()));
        let skip = self.linearization.len().saturating_sub(Self::STEPS_SHOWN_MAX);
        if skip > 0 {
            out.push_str(&format!("  ... {skip} earlier steps not shown\n"));
        }
        for (i, step) in self.linearization.iter().enumerate().skip(skip) {
            out.push_str(&format!("  {:>4}. {}  => {}\n", i + 1, step.op.text, short(&step.state)));
        }
        let state = self.linearization.last().map_or(Value::Null, |s| s.state.clone());
        out.push_str(&format!("then, with the value {}, every op that could go next fails:\n", short(&state)));
        for a in &self.attempts {
            out.push_str(&format!("  - {}\n      {}\n", a.op.text, a.reason));
        }
        out.push_str("(@N = event position: the line number for a parsed file)\n");
        out
    }
}

/// Steps one key's search runs before the scheduler moves to the next key.
const SLICE_STEPS: u64 = 4096;

/// Checks `history` against `model`. `deadline`: when it passes before a
/// verdict, the result is [`Verdict::Unknown`] (the clock is read once per
/// slice of a few thousand search steps).
pub fn check(history: &History, model: Model, deadline: Option<Instant>) -> Verdict {
    let mut searches: Vec<Search> =
        partition(history, model).into_iter().map(|(key, ops)| Search::new(history, key, ops)).collect();
    let mut active: Vec<usize> = (0..searches.len()).collect();
    let mut steps_since_clock = 0u64;
    while !active.is_empty() {
        let mut still = Vec::with_capacity(active.len());
        for &i in &active {
            let (status, steps) = searches[i].run(SLICE_STEPS);
            match status {
                Status::Running => still.push(i),
                Status::Linearizable => {}
                Status::Violated => return Verdict::NotLinearizable(Box::new(searches[i].violation(history, model))),
            }
            steps_since_clock += steps;
            if steps_since_clock >= SLICE_STEPS {
                steps_since_clock = 0;
                if deadline.is_some_and(|d| Instant::now() >= d) {
                    return Verdict::Unknown;
                }
            }
        }
        active = still;
    }
    Verdict::Linearizable
}

/// Removes operations while the history stays non-linearizable (delta
/// debugging: halves, quarters, ... then single ops, until no single op can
/// go), and returns the smaller history. For model `kv` it first keeps only
/// the failing key. A history that is not (known to be) non-linearizable is
/// returned unchanged. When `deadline` passes, the smallest failing history
/// found so far is returned.
pub fn shrink(history: &History, model: Model, deadline: Option<Instant>) -> History {
    let violation = match check(history, model, deadline) {
        Verdict::NotLinearizable(v) => v,
        _ => return history.clone(),
    };
    // A witness stays closed: every value an ok read returns is still written
    // by some op in it. Otherwise the cheapest "witness" is a lone read of a
    // value from nowhere, which is true but explains nothing. (Histories
    // with appends, or already open, are shrunk without this rule.)
    let keep_closed = closed(history) && !history.ops().iter().any(|op| matches!(op.call, Call::Append(_)));
    let fails =
        |h: &History| (!keep_closed || closed(h)) && matches!(check(h, model, deadline), Verdict::NotLinearizable(_));
    let expired = || deadline.is_some_and(|d| Instant::now() >= d);
    // Ops the search ignores (failed ops, open reads), and for kv the other
    // keys, cannot matter; dropping them first is safe and cheap.
    let mut current = history.filter(|_, op| relevant(op) && (model == Model::Register || op.key == violation.key));
    if !fails(&current) {
        current = history.clone();
    }
    let mut chunks = 2usize;
    while current.len() >= 2 && !expired() {
        let size = current.len().div_ceil(chunks);
        let mut removed = false;
        let mut start = 0;
        while start < current.len() && !expired() {
            let end = (start + size).min(current.len());
            let candidate = current.filter(|i, _| i < start || i >= end);
            if fails(&candidate) {
                current = candidate;
                removed = true;
            } else {
                start = end;
            }
        }
        if removed {
            chunks = chunks.saturating_sub(1).max(2);
        } else if size == 1 {
            break;
        } else {
            chunks = (chunks * 2).min(current.len());
        }
    }
    current
}

/// Whether the search looks at `op` at all: failed ops did not happen, and an
/// open read returned nothing to check.
/// Whether every non-null value read by an ok read is written (by a write or
/// a cas's new value, on the same key) by some op of the history.
fn closed(history: &History) -> bool {
    let written: Vec<(&Option<String>, &Value)> = history
        .ops()
        .iter()
        .filter_map(|op| match &op.call {
            Call::Write(v) | Call::Cas(_, v) => Some((&op.key, v)),
            _ => None,
        })
        .collect();
    history.ops().iter().all(|op| match (&op.call, &op.outcome) {
        (Call::Read, Outcome::Ok(v)) if *v != Value::Null => written.iter().any(|(k, w)| **k == op.key && *w == v),
        _ => true,
    })
}

fn relevant(op: &Op) -> bool {
    match op.outcome {
        Outcome::Ok(_) => true,
        Outcome::Fail => false,
        Outcome::Info | Outcome::Open => op.call != Call::Read,
    }
}

/// Groups the relevant ops (indices into `history.ops()`) by key, in key order.
fn partition(history: &History, model: Model) -> BTreeMap<Option<String>, Vec<usize>> {
    let mut parts: BTreeMap<Option<String>, Vec<usize>> = BTreeMap::new();
    for (i, op) in history.ops().iter().enumerate() {
        if !relevant(op) {
            continue;
        }
        let key = match model {
            Model::Register => None,
            Model::Kv => op.key.clone(),
        };
        parts.entry(key).or_default().push(i);
    }
    parts
}

/// A model step on interned values.
#[derive(Clone, Copy, Debug)]
enum Step {
    /// The state must equal this id.
    Read(u32),
    /// The state becomes this id.
    Write(u32),
    /// If the state is `old`, it becomes `new`.
    Cas { old: u32, new: u32 },
    /// The state (absent or a string) gets this string id appended.
    Append(u32),
}

/// How an interned value is stored.
#[derive(Clone, Debug)]
enum Stored {
    Null,
    Int(i64),
    /// A string given in the history (written, read, cas'd or appended).
    Literal(String),
    /// A string made by appending `arg` (a `Literal` id) to `base`; kept as a
    /// chain so an append step costs O(1) instead of copying the string.
    Concat {
        base: u32,
        arg: u32,
    },
}

/// What two equal values certainly share: the integer, or a string's length
/// and polynomial hash. Equal keys are then compared exactly.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
enum ValueKey {
    Null,
    Int(i64),
    Str { len: u64, hash: u64 },
}

/// The Mersenne prime 2^61 - 1, modulus of the string hash.
const HASH_MODULUS: u64 = (1 << 61) - 1;
/// The base of the polynomial string hash.
const HASH_BASE: u64 = 0x1F3D_5B79_A3C4_E5F7 % HASH_MODULUS;

fn mul_mod(a: u64, b: u64) -> u64 {
    let p = u128::from(a) * u128::from(b);
    let r = (p as u64 & HASH_MODULUS) + (p >> 61) as u64;
    if r >= HASH_MODULUS {
        r - HASH_MODULUS
    } else {
        r
    }
}

fn add_mod(a: u64, b: u64) -> u64 {
    let r = a + b;
    if r >= HASH_MODULUS {
        r - HASH_MODULUS
    } else {
        r
    }
}

/// Per-key value interning, exact: two ids are equal iff their values are.
/// Id 0 is absent. Strings built by appends are hash-consed chains: the hash
/// of `s + a` follows from the hashes of `s` and `a`, and only a hash match
/// (almost always a true match) costs an exact comparison.
struct Values {
    stored: Vec<Stored>,
    keys: Vec<ValueKey>,
    /// For each string literal id, `HASH_BASE^len` (to extend hashes by it).
    powers: HashMap<u32, u64, BuildHasherDefault<IdHasher>>,
    by_key: HashMap<ValueKey, Vec<u32>>,
    /// Memo of append steps: (state << 32 | arg) -> new state, or `None`
    /// when the state is an integer (append refused).
    appends: HashMap<u64, Option<u32>, BuildHasherDefault<IdHasher>>,
    /// For string values that reads expect on a growing key: the hash of
    /// each prefix (entry k = first k bytes).
    prefixes: HashMap<u32, Vec<u64>, BuildHasherDefault<IdHasher>>,
}

impl Values {
    fn new() -> Values {
        let mut by_key = HashMap::new();
        by_key.insert(ValueKey::Null, vec![0]);
        Values {
            stored: vec![Stored::Null],
            keys: vec![ValueKey::Null],
            powers: HashMap::default(),
            by_key,
            appends: HashMap::default(),
            prefixes: HashMap::default(),
        }
    }

    /// Prepares [`Values::reaches`] for `target`.
    fn index_prefixes(&mut self, target: u32) {
        if let Stored::Literal(s) = &self.stored[target as usize] {
            let mut hashes = Vec::with_capacity(s.len() + 1);
            let mut h = 0;
            hashes.push(h);
            for b in s.bytes() {
                h = add_mod(mul_mod(h, HASH_BASE), u64::from(b) + 1);
                hashes.push(h);
            }
            self.prefixes.insert(target, hashes);
        }
    }

    /// Whether `from` can become `target` by appends alone (none at all when
    /// `appends` is false). A string must be a prefix of `target`; that test
    /// compares prefix hashes, so a collision can say true wrongly (costing
    /// search time only), never false wrongly.
    fn reaches(&self, from: u32, target: u32, appends: bool) -> bool {
        if from == target {
            return true;
        }
        if !appends {
            return false;
        }
        match (self.keys[from as usize], self.keys[target as usize]) {
            (ValueKey::Null, ValueKey::Str { .. }) => true,
            (ValueKey::Str { len, hash }, ValueKey::Str { len: target_len, .. }) => {
                len <= target_len && self.prefixes[&target][len as usize] == hash
            }
            _ => false,
        }
    }

    /// The id of a value from the history.
    fn intern(&mut self, v: &Value) -> u32 {
        let (key, stored) = match v {
            Value::Null => return 0,
            Value::Int(n) => (ValueKey::Int(*n), Stored::Int(*n)),
            Value::Str(s) => {
                let hash = s.bytes().fold(0, |h, b| add_mod(mul_mod(h, HASH_BASE), u64::from(b) + 1));
                let len = s.len() as u64;
                (ValueKey::Str { len, hash }, Stored::Literal(s.clone()))
            }
        };
        let id = self.find_or_add(key, stored, |values, id| values.value(id) == *v);
        if let Value::Str(s) = v {
            let power = (0..s.len()).fold(1, |p, _| mul_mod(p, HASH_BASE));
            self.powers.insert(id, power);
        }
        id
    }

    /// The id of the value with this key that `equal` accepts, or a new id.
    fn find_or_add(&mut self, key: ValueKey, stored: Stored, equal: impl Fn(&Values, u32) -> bool) -> u32 {
        if let Some(ids) = self.by_key.get(&key) {
            if let Some(&id) = ids.iter().find(|&&id| equal(self, id)) {
                return id;
            }
        }
        let id = u32::try_from(self.stored.len()).expect("fewer than 2^32 values per key");
        self.stored.push(stored);
        self.keys.push(key);
        self.by_key.entry(key).or_default().push(id);
        id
    }

    /// The value of an id (strings built by appends are materialised).
    fn value(&self, id: u32) -> Value {
        match &self.stored[id as usize] {
            Stored::Null => Value::Null,
            Stored::Int(n) => Value::Int(*n),
            Stored::Literal(s) => Value::Str(s.clone()),
            Stored::Concat { .. } => {
                let mut parts = Vec::new();
                let mut at = id;
                while let Stored::Concat { base, arg } = self.stored[at as usize] {
                    parts.push(arg);
                    at = base;
                }
                let mut s = match &self.stored[at as usize] {
                    Stored::Literal(s) => s.clone(),
                    _ => String::new(),
                };
                for &arg in parts.iter().rev() {
                    if let Stored::Literal(a) = &self.stored[arg as usize] {
                        s.push_str(a);
                    }
                }
                Value::Str(s)
            }
        }
    }

    /// Applies a step to a state; `None` when the model refuses it.
    fn apply(&mut self, state: u32, step: Step) -> Option<u32> {
        match step {
            Step::Read(v) => (state == v).then_some(state),
            Step::Write(v) => Some(v),
            Step::Cas { old, new } => (state == old).then_some(new),
            Step::Append(arg) => {
                let memo_key = u64::from(state) << 32 | u64::from(arg);
                if let Some(&next) = self.appends.get(&memo_key) {
                    return next;
                }
                let next = self.append(state, arg);
                self.appends.insert(memo_key, next);
                next
            }
        }
    }

    fn append(&mut self, state: u32, arg: u32) -> Option<u32> {
        if state == 0 {
            return Some(arg);
        }
        let (ValueKey::Str { len, hash }, ValueKey::Str { len: arg_len, hash: arg_hash }) =
            (self.keys[state as usize], self.keys[arg as usize])
        else {
            return None;
        };
        let key = ValueKey::Str { len: len + arg_len, hash: add_mod(mul_mod(hash, self.powers[&arg]), arg_hash) };
        let stored = Stored::Concat { base: state, arg };
        let id = self.find_or_add(key, stored, |values, id| {
            let Value::Str(joined) = values.value(state) else { unreachable!("a string key belongs to a string") };
            let Value::Str(a) = values.value(arg) else { unreachable!("append arguments are strings") };
            let Value::Str(other) = values.value(id) else { unreachable!("a string key belongs to a string") };
            other.len() == joined.len() + a.len() && other.starts_with(&joined) && other.ends_with(&a)
        });
        Some(id)
    }
}

/// A hasher for integer keys: one round of splitmix64 on the integer.
#[derive(Default)]
struct IdHasher(u64);

impl Hasher for IdHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = mix(self.0 ^ u64::from(b));
        }
    }
    fn write_u32(&mut self, n: u32) {
        self.0 = mix(self.0 ^ u64::from(n));
    }
    fn write_u64(&mut self, n: u64) {
        self.0 = mix(self.0 ^ n);
    }
}

fn mix(mut x: u64) -> u64 {
    // splitmix64's finaliser: a fixed, well-spread hash of an integer.
    x = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    x = (x ^ (x >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    x ^ (x >> 31)
}

/// The memo: a set of (linearized bitset, state) pairs, as an open-addressing
/// table of (hash, state, arena offset) slots over one flat arena of bitsets,
/// so a lookup touches one slot and, on a hash match, one bitset.
struct Memo {
    /// Words per bitset.
    words: usize,
    slots: Vec<MemoSlot>,
    arena: Vec<u64>,
    len: usize,
}

#[derive(Clone, Copy)]
struct MemoSlot {
    hash: u64,
    state: u32,
    /// Index of the bitset in the arena (in bitsets); `u32::MAX` = empty.
    at: u32,
}

const EMPTY_SLOT: MemoSlot = MemoSlot { hash: 0, state: 0, at: u32::MAX };

impl Memo {
    fn new(words: usize) -> Memo {
        Memo { words, slots: vec![EMPTY_SLOT; 1024], arena: Vec::new(), len: 0 }
    }

    /// Adds the pair; false if it was already there.
    fn insert(&mut self, hash: u64, state: u32, bits: &[u64]) -> bool {
        let mask = self.slots.len() - 1;
        let mut i = hash as usize & mask;
        loop {
            let slot = self.slots[i];
            if slot.at == u32::MAX {
                break;
            }
            if slot.hash == hash && slot.state == state {
                let start = slot.at as usize * self.words;
                if self.arena[start..start + self.words] == *bits {
                    return false;
                }
            }
            i = (i + 1) & mask;
        }
        let at = u32::try_from(self.len).expect("fewer than 2^32 memo entries");
        self.arena.extend_from_slice(bits);
        self.slots[i] = MemoSlot { hash, state, at };
        self.len += 1;
        if self.len * 2 > self.slots.len() {
            self.grow();
        }
        true
    }

    fn grow(&mut self) {
        let capacity = self.slots.len() * 2;
        let old = std::mem::replace(&mut self.slots, vec![EMPTY_SLOT; capacity]);
        let mask = self.slots.len() - 1;
        for slot in old.into_iter().filter(|s| s.at != u32::MAX) {
            let mut i = slot.hash as usize & mask;
            while self.slots[i].at != u32::MAX {
                i = (i + 1) & mask;
            }
            self.slots[i] = slot;
        }
    }
}

const NIL: u32 = u32::MAX;
const HEAD: u32 = 0;

/// An ok read and the ops that could still produce its value.
struct ReadNeed {
    op: u32,
    value: u32,
    /// Writes and cas ops whose new value reaches `value`.
    writers: Vec<u32>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Status {
    Running,
    Linearizable,
    Violated,
}

/// One key's WGL search, resumable: [`Search::run`] does a bounded number of
/// steps and can be called again.
struct Search {
    key: Option<String>,
    /// History op index of each local op.
    ops: Vec<usize>,
    steps: Vec<Step>,
    /// Whether each local op completed ok (must be linearized).
    must: Vec<bool>,
    values: Values,
    /// True when the key has appends (values can grow).
    appends: bool,
    /// The ok reads, for [`Search::stranded_read`].
    reads: Vec<ReadNeed>,
    /// Linked list over entries; entry 0 is the head sentinel.
    next: Vec<u32>,
    prev: Vec<u32>,
    /// Local op of each entry.
    entry_op: Vec<u32>,
    /// For a call entry, its return entry; `NIL` for a return entry.
    matching: Vec<u32>,
    /// Bitset of linearized local ops and its incremental hash.
    linearized: Vec<u64>,
    linearized_hash: u64,
    /// Per-op random keys for the incremental hash (Zobrist hashing).
    op_hash: Vec<u64>,
    /// Seen (linearized, state) pairs.
    memo: Memo,
    /// Linearized call entries, each with the state before it and whether it
    /// was a forced read (see [`Search::run`]).
    stack: Vec<(u32, u32, bool)>,
    cursor: u32,
    state: u32,
    remaining_must: usize,
    /// The longest partial linearization seen (local ops, in order).
    longest: Vec<u32>,
    status: Status,
}

impl Search {
    fn new(history: &History, key: Option<String>, ops: Vec<usize>) -> Search {
        let mut values = Values::new();
        let all = history.ops();
        let steps: Vec<Step> = ops
            .iter()
            .map(|&i| match (&all[i].call, &all[i].outcome) {
                (Call::Read, Outcome::Ok(v)) => Step::Read(values.intern(v)),
                (Call::Read, _) => unreachable!("open and failed reads are not searched"),
                (Call::Write(v), _) => Step::Write(values.intern(v)),
                (Call::Cas(old, new), _) => Step::Cas { old: values.intern(old), new: values.intern(new) },
                (Call::Append(s), _) => Step::Append(values.intern(&Value::Str(s.clone()))),
            })
            .collect();
        let must: Vec<bool> = ops.iter().map(|&i| !all[i].outcome.is_open()).collect();
        let appends = steps.iter().any(|s| matches!(s, Step::Append(_)));
        let mut reads = Vec::new();
        for (local, step) in steps.iter().enumerate() {
            if let (Step::Read(value), true) = (*step, must[local]) {
                if appends {
                    values.index_prefixes(value);
                }
                reads.push(ReadNeed { op: local as u32, value, writers: Vec::new() });
            }
        }
        for read in &mut reads {
            for (local, step) in steps.iter().enumerate() {
                if let Step::Write(w) | Step::Cas { new: w, .. } = *step {
                    if values.reaches(w, read.value, appends) {
                        read.writers.push(local as u32);
                    }
                }
            }
        }
        // Entries in real-time order; open ops return at +infinity, in op order.
        let mut events: Vec<(usize, usize, bool, u32)> = Vec::with_capacity(ops.len() * 2);
        for (local, &i) in ops.iter().enumerate() {
            let local = local as u32;
            let op = &all[i];
            events.push((op.invoke_index, 0, true, local));
            match op.complete_index {
                Some(c) if !op.outcome.is_open() => events.push((c, 0, false, local)),
                _ => events.push((usize::MAX, local as usize, false, local)),
            }
        }
        events.sort_unstable();
        let n = events.len() + 1;
        let mut entry_op = vec![NIL; n];
        let mut matching = vec![NIL; n];
        let mut call_entry = vec![NIL; ops.len()];
        for (pos, &(_, _, is_call, local)) in events.iter().enumerate() {
            let e = pos as u32 + 1;
            entry_op[e as usize] = local;
            if is_call {
                call_entry[local as usize] = e;
            } else {
                matching[call_entry[local as usize] as usize] = e;
            }
        }
        let next: Vec<u32> = (0..n as u32).map(|e| if e + 1 < n as u32 { e + 1 } else { NIL }).collect();
        let prev: Vec<u32> = (0..n as u32).map(|e| if e == 0 { NIL } else { e - 1 }).collect();
        let remaining_must = must.iter().filter(|&&m| m).count();
        Search {
            key,
            linearized: vec![0; ops.len().div_ceil(64)],
            linearized_hash: 0,
            op_hash: (0..ops.len() as u64).map(|i| mix(i ^ 0x5EED)).collect(),
            memo: Memo::new(ops.len().div_ceil(64)),
            ops,
            steps,
            must,
            values,
            appends,
            reads,
            next,
            prev,
            entry_op,
            matching,
            stack: Vec::new(),
            cursor: if n > 1 { 1 } else { NIL },
            state: 0,
            remaining_must,
            longest: Vec::new(),
            status: Status::Running,
        }
    }

    /// Removes a call entry and its return entry from the list.
    fn lift(&mut self, call: u32) {
        let ret = self.matching[call as usize];
        for e in [call, ret] {
            let (p, n) = (self.prev[e as usize], self.next[e as usize]);
            self.next[p as usize] = n;
            if n != NIL {
                self.prev[n as usize] = p;
            }
        }
    }

    /// Puts back what [`Search::lift`] removed (in reverse order).
    fn unlift(&mut self, call: u32) {
        let ret = self.matching[call as usize];
        for e in [ret, call] {
            let (p, n) = (self.prev[e as usize], self.next[e as usize]);
            self.next[p as usize] = e;
            if n != NIL {
                self.prev[n as usize] = e;
            }
        }
    }

    /// Records (linearized ∪ {op}, state) in the memo; false if already there.
    fn remember(&mut self, op: u32, state: u32) -> bool {
        let (word, bit) = (op as usize / 64, 1u64 << (op % 64));
        self.linearized[word] |= bit;
        let hash = (self.linearized_hash ^ self.op_hash[op as usize]) ^ mix(u64::from(state));
        let new = self.memo.insert(hash, state, &self.linearized);
        self.linearized[word] &= !bit;
        new
    }

    /// The first call in the window (the calls before the first return) that
    /// reads the current state, if any.
    fn matching_read(&self) -> Option<u32> {
        let mut e = self.next[HEAD as usize];
        while e != NIL && self.matching[e as usize] != NIL {
            if let Step::Read(v) = self.steps[self.entry_op[e as usize] as usize] {
                if v == self.state {
                    return Some(e);
                }
            }
            e = self.next[e as usize];
        }
        None
    }

    fn is_linearized(&self, op: u32) -> bool {
        self.linearized[op as usize / 64] & (1 << (op % 64)) != 0
    }

    /// True when some ok read not yet linearized wants a value that neither
    /// the current value nor any write or cas still to come can lead to, so
    /// no linearization goes on from here.
    fn stranded_read(&self) -> bool {
        self.first_stranded(self.state, |op| self.is_linearized(op)).is_some()
    }

    /// The first ok read (local op) that nothing left can satisfy, given the
    /// value `state` and which ops are `done`.
    fn first_stranded(&self, state: u32, done: impl Fn(u32) -> bool) -> Option<u32> {
        self.reads
            .iter()
            .find(|read| {
                !done(read.op)
                    && !self.values.reaches(state, read.value, self.appends)
                    && read.writers.iter().all(|&w| done(w))
            })
            .map(|read| read.op)
    }

    /// Undoes the last linearized op and moves the cursor to the call after
    /// it. A forced read's node has no other choice to try, so undoing one
    /// undoes the op before it too. False when nothing is left to undo.
    fn backtrack(&mut self) -> bool {
        while let Some((call, state, forced)) = self.stack.pop() {
            let op = self.entry_op[call as usize];
            self.state = state;
            self.linearized[op as usize / 64] &= !(1 << (op % 64));
            self.linearized_hash ^= self.op_hash[op as usize];
            self.remaining_must += usize::from(self.must[op as usize]);
            self.unlift(call);
            if !forced {
                self.cursor = self.next[call as usize];
                return true;
            }
        }
        false
    }

    /// Runs up to `budget` steps of the search; returns the status and the
    /// steps taken.
    ///
    /// One refinement over plain WGL (a partial-order reduction): a read whose
    /// call is in the window and which reads the current state is linearized
    /// at once, as the only choice at that node. That loses nothing: a read
    /// does not change the state and every op that must precede it is already
    /// linearized, so any linearization from this node can be rewritten with
    /// the read first. And a node is abandoned at once when some ok read still
    /// to come (pending or not yet invoked) wants a value that nothing left can
    /// produce: not the current value (by appends, if the key has any), nor a
    /// write or cas not yet linearized (followed by appends).
    fn run(&mut self, budget: u64) -> (Status, u64) {
        let mut steps = 0;
        while steps < budget && self.status == Status::Running {
            steps += 1;
            if self.remaining_must == 0 {
                self.status = Status::Linearizable;
                break;
            }
            let e = self.cursor;
            assert!(e != NIL, "an unlinearized ok op always has a return entry");
            let op = self.entry_op[e as usize];
            if self.matching[e as usize] == NIL {
                // A return: this op's deadline passed unlinearized.
                if !self.backtrack() {
                    self.status = Status::Violated;
                }
                continue;
            }
            // A call: try to linearize it here.
            let step = self.steps[op as usize];
            let is_read = matches!(step, Step::Read(_));
            let Some(next_state) = self.values.apply(self.state, step) else {
                self.cursor = self.next[e as usize];
                continue;
            };
            if !self.remember(op, next_state) {
                if is_read {
                    // The forced read leads to a known dead end: so does this node.
                    if !self.backtrack() {
                        self.status = Status::Violated;
                    }
                } else {
                    self.cursor = self.next[e as usize];
                }
                continue;
            }
            self.stack.push((e, self.state, is_read));
            self.state = next_state;
            self.linearized[op as usize / 64] |= 1 << (op % 64);
            self.linearized_hash ^= self.op_hash[op as usize];
            self.remaining_must -= usize::from(self.must[op as usize]);
            self.lift(e);
            if self.stack.len() > self.longest.len() {
                self.longest = self.stack.iter().map(|&(c, _, _)| self.entry_op[c as usize]).collect();
            }
            if !is_read && self.stranded_read() {
                if !self.backtrack() {
                    self.status = Status::Violated;
                }
                continue;
            }
            self.cursor = self.matching_read().unwrap_or(self.next[HEAD as usize]);
        }
        (self.status, steps)
    }

    /// Explains a failed search from its longest partial linearization.
    fn violation(&mut self, history: &History, model: Model) -> Violation {
        let all = history.ops();
        let op_ref = |local: u32| {
            let index = self.ops[local as usize];
            OpRef { index, text: all[index].describe() }
        };
        let mut state = 0;
        let mut linearization = Vec::with_capacity(self.longest.len());
        let mut done = vec![false; self.ops.len()];
        for &local in &self.longest.clone() {
            state = self.values.apply(state, self.steps[local as usize]).expect("the longest linearization replays");
            done[local as usize] = true;
            linearization.push(LinearizedStep { op: op_ref(local), state: self.values.value(state) });
        }
        // The op that blocks: the unlinearized ok op that completes first.
        let blocking = (0..self.ops.len() as u32)
            .filter(|&l| !done[l as usize] && self.must[l as usize])
            .min_by_key(|&l| all[self.ops[l as usize]].complete_index)
            .expect("a failed search leaves an ok op unlinearized");
        let deadline = all[self.ops[blocking as usize]].complete_index;
        let mut attempts = Vec::new();
        for l in 0..self.ops.len() as u32 {
            let op = &all[self.ops[l as usize]];
            if done[l as usize] || Some(op.invoke_index) > deadline {
                continue;
            }
            let reason = match self.values.apply(state, self.steps[l as usize]) {
                None => refusal(op, &self.values.value(state)),
                Some(s) => {
                    let then = short(&self.values.value(s));
                    match self.first_stranded(s, |o| o == l || done[o as usize]) {
                        Some(r) => format!(
                            "accepted (the value becomes {then}), but then nothing left can \
                             produce the value of {}",
                            all[self.ops[r as usize]].describe()
                        ),
                        None => format!(
                            "accepted (the value becomes {then}), but no linearization \
                             continues from there"
                        ),
                    }
                }
            };
            attempts.push(Attempt { op: op_ref(l), reason });
        }
        Violation {
            model,
            key: self.key.clone(),
            first_unlinearizable: op_ref(blocking),
            last_linearized: self.longest.last().map(|&l| op_ref(l)),
            linearization,
            attempts,
        }
    }
}

/// Why the model refuses `op` when the key holds `state`.
fn refusal(op: &Op, state: &Value) -> String {
    let key = op.key.as_ref().map_or(String::new(), |k| format!(" {k}"));
    let have = short(state);
    match (&op.call, &op.outcome) {
        (Call::Read, Outcome::Ok(v)) => {
            format!("read{key} -> {} but the value is {have}", short(v))
        }
        (Call::Cas(old, new), _) => format!("cas{key} [{}, {}] but the value is {have}", short(old), short(new)),
        (Call::Append(s), _) => {
            format!("append{key} {} but the value is {have}, not a string", short(&Value::Str(s.clone())))
        }
        _ => format!("{} refused with the value {have}", op.describe()),
    }
}
