//! Histories: the JSON Lines format users see, its parser, and the in-memory type.
//!
//! One line of the format is a [`HistoryLine`], the single type every
//! writer (the workload's recorder, [`History::to_jsonl`]) and every reader
//! (this module's [`parse_history`], the report) uses, so they cannot drift
//! apart. The line type is as open as the format: any `f`, any JSON `value`.
//! This module's parser adds what the linearizability checker needs on top:
//! the `f`s of its models, values it can compare, and pairing.
//!
//! A history is a list of operations, each an invoke and (maybe) a completion.
//! The file format is Jepsen-like and a fixed contract (DESIGN.md §4): one JSON
//! object per line, line order is real-time order. We keep every operation as
//! one [`Op`] that carries its arguments (from the invoke), its outcome (from
//! the completion) and the positions of both events in real-time order, because
//! that is all the linearizability search needs and because a whole-op value is
//! what shrinking removes. Parsing is strict: a malformed history is a user
//! error reported as one line naming the 1-based line number, never a panic.
//! Histories built in memory by the simulator ([`History::from_ops`]) are the
//! simulator's own output, so a malformed one is a bug and panics instead.

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::fmt;

use serde::de::{self, Deserializer, IgnoredAny, MapAccess, Visitor};
use serde::{Deserialize, Serialize};

/// A value stored in a register or key, written, or read.
///
/// `Null` is "absent": every key starts absent, and a read that returns
/// `null` saw it absent. Integers and strings are distinct values
/// (`3` is not `"3"`).
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(untagged)]
pub enum Value {
    /// The key is absent (JSON `null`).
    Null,
    /// An integer value (JSON number without fraction).
    Int(i64),
    /// A string value (JSON string).
    Str(String),
}

impl fmt::Display for Value {
    /// Renders the value as JSON: `null`, `3`, `"abc"`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Value::Null => f.write_str("null"),
            Value::Int(n) => write!(f, "{n}"),
            Value::Str(s) => f.write_str(&json_string(s)),
        }
    }
}

impl Value {
    fn to_json(&self) -> serde_json::Value {
        match self {
            Value::Null => serde_json::Value::Null,
            Value::Int(n) => serde_json::Value::from(*n),
            Value::Str(s) => serde_json::Value::from(s.as_str()),
        }
    }
}

/// What an operation asks for: its function and the arguments from the invoke.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub enum Call {
    /// Read the key; the value read is in [`Outcome::Ok`].
    Read,
    /// Set the key to a value (never `Null`).
    Write(Value),
    /// Compare-and-set: if the key holds `old` (which may be `Null` = absent),
    /// set it to `new` (never `Null`); otherwise the op must not succeed.
    Cas(Value, Value),
    /// Append a string to the key's string value; an absent key counts as "".
    Append(String),
}

impl Call {
    /// The `f` field of the file format: `read`, `write`, `cas` or `append`.
    pub fn name(&self) -> &'static str {
        match self {
            Call::Read => "read",
            Call::Write(_) => "write",
            Call::Cas(..) => "cas",
            Call::Append(_) => "append",
        }
    }

    /// The `value` field of this call's invoke line.
    fn invoke_value(&self) -> serde_json::Value {
        match self {
            Call::Read => serde_json::Value::Null,
            Call::Write(v) => v.to_json(),
            Call::Cas(old, new) => serde_json::Value::Array(vec![old.to_json(), new.to_json()]),
            Call::Append(s) => serde_json::Value::from(s.as_str()),
        }
    }
}

/// How an operation ended.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub enum Outcome {
    /// Completed and took effect. For a read, the value read (`Null` = absent);
    /// for every other call, `Value::Null` (the result is the call itself).
    Ok(Value),
    /// Did not take effect: the checker drops the op.
    Fail,
    /// Unknown (timed out): open forever, it may take effect at any point
    /// after its invoke, or never.
    Info,
    /// Never completed (no completion line): open forever, like `Info`.
    Open,
}

impl Outcome {
    /// True for `Info` and `Open`: the op may take effect late or never.
    pub fn is_open(&self) -> bool {
        matches!(self, Outcome::Info | Outcome::Open)
    }
}

/// One operation: an invoke and its completion, if any.
///
/// `invoke_index` and `complete_index` are the positions of the two events in
/// real-time order. They need only be distinct and ordered (gaps are fine):
/// op A precedes op B iff `A.complete_index < B.invoke_index`. [`parse_history`]
/// sets them to the 1-based line numbers of the two lines, so reports can name
/// lines; the simulator may use its own event counter.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Op {
    /// The client process that issued the op; one op in flight per process.
    pub process: u64,
    /// The key, or `None` for the single register of a key-less history.
    pub key: Option<String>,
    /// The function and its arguments.
    pub call: Call,
    /// How the op ended.
    pub outcome: Outcome,
    /// Real-time position of the invoke event.
    pub invoke_index: usize,
    /// Real-time position of the completion event; `None` iff the outcome is
    /// [`Outcome::Open`].
    pub complete_index: Option<usize>,
    /// What the writer knew beyond the format's minimum: times and the node
    /// that answered. Reports use it; the checker never does.
    pub meta: OpMeta,
}

/// An operation's times and serving node, when its history carries them
/// (the `time` and `node` fields of its lines). Explanations name them
/// (`invoked 9.480 s, answered by n4`); a bare history has none.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct OpMeta {
    /// Simulated time of the invoke, ns.
    pub invoke_ns: Option<u64>,
    /// Simulated time of the completion, ns.
    pub complete_ns: Option<u64>,
    /// The server whose reply completed the op.
    pub node: Option<u64>,
}

/// Seconds for a person: `9.480 s`, or with `digits` decimals.
pub fn seconds(ns: u64, digits: usize) -> String {
    format!("{:.*} s", digits, ns as f64 / 1e9)
}

impl Op {
    /// A one-line description: `p3 cas k1 [2, 5]  [@12..@15]`, or with the
    /// history's times and node, `p3 read k1 -> 2  [9.480 s..9.482 s, n4]`.
    pub fn describe(&self) -> String {
        let span = match (self.meta.invoke_ns, self.complete_index, self.meta.complete_ns) {
            (Some(start), Some(_), Some(end)) => format!("{}..{}", seconds(start, 3), seconds(end, 3)),
            (Some(start), None, _) => format!("{}..∞", seconds(start, 3)),
            _ => {
                let end = self.complete_index.map_or("∞".to_string(), |c| format!("@{c}"));
                format!("@{}..{end}", self.invoke_index)
            }
        };
        let node = self.meta.node.map_or(String::new(), |n| format!(", n{n}"));
        format!("{}  [{span}{node}]", self.what())
    }

    /// What the op did, without where or when: `p3 read k1 -> 2 (fail)`.
    pub fn what(&self) -> String {
        let key = match &self.key {
            Some(k) => format!(" {k}"),
            None => String::new(),
        };
        let what = match (&self.call, &self.outcome) {
            (Call::Read, Outcome::Ok(v)) => format!("read{key} -> {}", short(v)),
            (Call::Read, _) => format!("read{key}"),
            (Call::Write(v), _) => format!("write{key} {}", short(v)),
            (Call::Cas(old, new), _) => format!("cas{key} [{}, {}]", short(old), short(new)),
            (Call::Append(s), _) => format!("append{key} {}", short(&Value::Str(s.clone()))),
        };
        let status = match self.outcome {
            Outcome::Ok(_) => "",
            Outcome::Fail => " (fail)",
            Outcome::Info => " (info)",
            Outcome::Open => " (never completed)",
        };
        format!("p{} {what}{status}", self.process)
    }
}

/// Shortens long string values for reports (append histories grow long
/// strings; the interesting part is the end).
pub(crate) fn short(v: &Value) -> String {
    const KEEP: usize = 40;
    match v {
        Value::Str(s) if s.chars().count() > KEEP + 8 => {
            let n = s.chars().count();
            let tail: String = s.chars().skip(n - KEEP).collect();
            let quoted = json_string(&tail);
            format!("\"…{} ({n} chars)", &quoted[1..])
        }
        _ => v.to_string(),
    }
}

fn json_string(s: &str) -> String {
    serde_json::to_string(s).expect("a string always serializes")
}

/// A parsed or built history: operations ordered by invoke position.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct History {
    ops: Vec<Op>,
}

impl History {
    /// Builds a history from operations made in memory (by the simulator).
    ///
    /// The ops may come in any order; they are sorted by `invoke_index`.
    ///
    /// # Panics
    /// If the ops are not a well-formed history: event positions not distinct,
    /// a completion not after its invoke, `complete_index` present for an
    /// `Open` op or absent for another, a `Null` write or cas `new` value, a
    /// non-`Null` `Ok` value on a non-read, or two ops of one process
    /// overlapping. These are simulator bugs, not user errors.
    pub fn from_ops(mut ops: Vec<Op>) -> History {
        ops.sort_by_key(|op| op.invoke_index);
        // Every event index, to find one used twice: a sorted vector, not a
        // set, as this runs once per seed of a sweep.
        let mut seen: Vec<usize> = Vec::with_capacity(2 * ops.len());
        let mut last_end: BTreeMap<u64, usize> = BTreeMap::new();
        for op in &ops {
            seen.push(op.invoke_index);
            match (op.complete_index, &op.outcome) {
                (None, Outcome::Open) => {}
                (Some(c), o) if *o != Outcome::Open => {
                    assert!(c > op.invoke_index, "op completes before it is invoked: {op:?}");
                    seen.push(c);
                }
                _ => panic!("complete_index must be None exactly for Open ops: {op:?}"),
            }
            match &op.call {
                Call::Write(v) | Call::Cas(_, v) => {
                    assert!(*v != Value::Null, "write/cas of null: {op:?}")
                }
                Call::Read | Call::Append(_) => {}
            }
            if let (Outcome::Ok(v), false) = (&op.outcome, op.call == Call::Read) {
                assert!(*v == Value::Null, "Ok value on a non-read must be Null: {op:?}");
            }
            if let Some(end) = last_end.get(&op.process) {
                assert!(*end < op.invoke_index, "process {} has two ops in flight", op.process);
            }
            last_end.insert(op.process, op.complete_index.unwrap_or(usize::MAX));
        }
        seen.sort_unstable();
        if let Some(twice) = seen.windows(2).find(|w| w[0] == w[1]) {
            panic!("event index {} used twice", twice[0]);
        }
        History { ops }
    }

    /// The operations, ordered by invoke position.
    pub fn ops(&self) -> &[Op] {
        &self.ops
    }

    /// The number of operations (not lines).
    pub fn len(&self) -> usize {
        self.ops.len()
    }

    /// True when the history has no operations.
    pub fn is_empty(&self) -> bool {
        self.ops.is_empty()
    }

    /// The sub-history of the ops whose position in [`History::ops`] `keep`
    /// accepts. Removing whole ops keeps a history well formed.
    pub fn filter(&self, mut keep: impl FnMut(usize, &Op) -> bool) -> History {
        let ops = self.ops.iter().enumerate().filter(|(i, op)| keep(*i, op)).map(|(_, op)| op.clone()).collect();
        History { ops }
    }

    /// Writes the history in the JSON Lines input format, events in real-time
    /// order. `parse_history(&h.to_jsonl())` gives back the same ops, with
    /// event positions renumbered to the new line numbers.
    pub fn to_jsonl(&self) -> String {
        // Invokes come in op order; completions are put in order by index,
        // and the two merged. Lines are written straight into one buffer.
        let mut completions: Vec<(usize, usize)> =
            self.ops.iter().enumerate().filter_map(|(i, op)| Some((op.complete_index?, i))).collect();
        completions.sort_unstable();
        let mut out = Vec::with_capacity(self.ops.len() * 120);
        let (mut next_invoke, mut next_completion) = (0, 0);
        while next_invoke < self.ops.len() || next_completion < completions.len() {
            let invoke_at = self.ops.get(next_invoke).map_or(usize::MAX, |op| op.invoke_index);
            match completions.get(next_completion) {
                Some(&(at, i)) if at < invoke_at => {
                    let op = &self.ops[i];
                    let (kind, value) = match &op.outcome {
                        Outcome::Ok(v) if op.call == Call::Read => (LineKind::Ok, v.to_json()),
                        Outcome::Ok(_) => (LineKind::Ok, op.call.invoke_value()),
                        Outcome::Fail => (LineKind::Fail, op.call.invoke_value()),
                        Outcome::Info => (LineKind::Info, op.call.invoke_value()),
                        Outcome::Open => unreachable!("an open op has no completion"),
                    };
                    write_line(&mut out, op, kind, value);
                    next_completion += 1;
                }
                _ => {
                    let op = &self.ops[next_invoke];
                    write_line(&mut out, op, LineKind::Invoke, op.call.invoke_value());
                    next_invoke += 1;
                }
            }
        }
        String::from_utf8(out).expect("JSON is UTF-8")
    }
}

/// Appends one event of `op` as a line of text, with the op's time and
/// serving node where it knows them.
fn write_line(out: &mut Vec<u8>, op: &Op, kind: LineKind, value: serde_json::Value) {
    let invoke = kind == LineKind::Invoke;
    let line = HistoryLine {
        key: op.key.as_deref().map(Cow::Borrowed),
        time: if invoke { op.meta.invoke_ns } else { op.meta.complete_ns },
        node: if invoke { None } else { op.meta.node },
        ..HistoryLine::new(op.process, kind, op.call.name(), value)
    };
    serde_json::to_writer(&mut *out, &line).expect("a history line always serialises");
    out.push(b'\n');
}

/// The `type` of a history line: an invoke or one of the three completions.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum LineKind {
    /// The op was invoked.
    Invoke,
    /// The op completed and took effect.
    Ok,
    /// The op completed and did not take effect.
    Fail,
    /// The op's fate is unknown (it timed out).
    Info,
}

impl LineKind {
    /// The format's word for it: `invoke`, `ok`, `fail` or `info`.
    pub fn name(self) -> &'static str {
        match self {
            LineKind::Invoke => "invoke",
            LineKind::Ok => "ok",
            LineKind::Fail => "fail",
            LineKind::Info => "info",
        }
    }

    /// The kind named `name`, if it is one.
    pub fn from_name(name: &str) -> Option<LineKind> {
        match name {
            "invoke" => Some(LineKind::Invoke),
            "ok" => Some(LineKind::Ok),
            "fail" => Some(LineKind::Fail),
            "info" => Some(LineKind::Info),
            _ => None,
        }
    }
}

impl fmt::Display for LineKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// One line of a history file (DESIGN.md §4), e.g.
/// `{"process":0,"type":"invoke","f":"read","key":"k0","value":null,"time":12000000}`:
/// the one type that writes and reads the format.
///
/// It holds what any history may hold, whatever its protocol: `f` is any
/// name and `value` any JSON. Reading checks the shape of each field and
/// names the field that is wrong (`process must be a non-negative integer,
/// not -1`, `missing field "type"`); `null` reads as absent for `f`, `key`
/// and `time`. Fields the format does not define are kept by name in
/// [`HistoryLine::unknown_fields`], for each reader to judge: the checker
/// rejects them, the report ignores them. Keys are written in field order;
/// absent optional fields are not written, `value` always is.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct HistoryLine<'a> {
    /// The client process; one op in flight per process.
    pub process: u64,
    /// Invoke or completion.
    #[serde(rename = "type")]
    pub kind: LineKind,
    /// The operation's name (`read`, `cas`, a lock's `acquire`...). A
    /// completion may omit it for the report; the checker requires it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub f: Option<Cow<'a, str>>,
    /// The key, or `None` for a key-less history.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub key: Option<Cow<'a, str>>,
    /// The argument (invoke) or result (completion), any JSON; absent reads as `null`.
    pub value: serde_json::Value,
    /// Simulated time of the event, nanoseconds, if the writer knows it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub time: Option<u64>,
    /// On a completion: the server whose reply completed the op, if the
    /// writer knows it (reports name it; the checker ignores it).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub node: Option<u64>,
    /// Names of fields the format does not define, in line order (never written).
    #[serde(skip)]
    pub unknown_fields: Vec<String>,
}

impl<'a> HistoryLine<'a> {
    /// A line with no key and no time.
    pub fn new(process: u64, kind: LineKind, f: impl Into<Cow<'a, str>>, value: serde_json::Value) -> HistoryLine<'a> {
        HistoryLine {
            process,
            kind,
            f: Some(f.into()),
            key: None,
            value,
            time: None,
            node: None,
            unknown_fields: Vec::new(),
        }
    }

    /// The line as JSON text, without a newline.
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).expect("a history line always serialises")
    }
}

/// Reading borrows `f` and `key` from the input where it can (no escapes),
/// so a line costs no allocation beyond its `value`: a history of millions
/// of lines parses in about a second.
impl<'de: 'a, 'a> Deserialize<'de> for HistoryLine<'a> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<HistoryLine<'a>, D::Error> {
        deserializer.deserialize_map(LineVisitor)
    }
}

/// A JSON value where a string is expected: the string (borrowed from the
/// input when it has no escapes), or the other value, for the error message.
enum StrOr<'de> {
    Str(Cow<'de, str>),
    Other(serde_json::Value),
}

impl<'de> Deserialize<'de> for StrOr<'de> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<StrOr<'de>, D::Error> {
        use serde::de::value::{MapAccessDeserializer, SeqAccessDeserializer};
        use serde_json::Value as Json;
        struct StrOrVisitor;
        impl<'de> Visitor<'de> for StrOrVisitor {
            type Value = StrOr<'de>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a JSON value")
            }
            fn visit_borrowed_str<E: de::Error>(self, s: &'de str) -> Result<StrOr<'de>, E> {
                Ok(StrOr::Str(Cow::Borrowed(s)))
            }
            fn visit_str<E: de::Error>(self, s: &str) -> Result<StrOr<'de>, E> {
                Ok(StrOr::Str(Cow::Owned(s.to_string())))
            }
            fn visit_string<E: de::Error>(self, s: String) -> Result<StrOr<'de>, E> {
                Ok(StrOr::Str(Cow::Owned(s)))
            }
            fn visit_bool<E: de::Error>(self, b: bool) -> Result<StrOr<'de>, E> {
                Ok(StrOr::Other(Json::Bool(b)))
            }
            fn visit_i64<E: de::Error>(self, n: i64) -> Result<StrOr<'de>, E> {
                Ok(StrOr::Other(Json::from(n)))
            }
            fn visit_u64<E: de::Error>(self, n: u64) -> Result<StrOr<'de>, E> {
                Ok(StrOr::Other(Json::from(n)))
            }
            fn visit_f64<E: de::Error>(self, x: f64) -> Result<StrOr<'de>, E> {
                Ok(StrOr::Other(Json::from(x)))
            }
            fn visit_unit<E: de::Error>(self) -> Result<StrOr<'de>, E> {
                Ok(StrOr::Other(Json::Null))
            }
            fn visit_seq<A: de::SeqAccess<'de>>(self, seq: A) -> Result<StrOr<'de>, A::Error> {
                Ok(StrOr::Other(Json::deserialize(SeqAccessDeserializer::new(seq))?))
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<StrOr<'de>, A::Error> {
                Ok(StrOr::Other(Json::deserialize(MapAccessDeserializer::new(map))?))
            }
        }
        deserializer.deserialize_any(StrOrVisitor)
    }
}

/// A key of a history line.
enum Field {
    Process,
    Type,
    F,
    Key,
    Value,
    Time,
    Node,
    Unknown(String),
}

impl<'de> Deserialize<'de> for Field {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Field, D::Error> {
        struct FieldVisitor;
        impl Visitor<'_> for FieldVisitor {
            type Value = Field;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a field name")
            }
            fn visit_str<E: de::Error>(self, name: &str) -> Result<Field, E> {
                Ok(match name {
                    "process" => Field::Process,
                    "type" => Field::Type,
                    "f" => Field::F,
                    "key" => Field::Key,
                    "value" => Field::Value,
                    "time" => Field::Time,
                    "node" => Field::Node,
                    other => Field::Unknown(other.to_string()),
                })
            }
        }
        deserializer.deserialize_identifier(FieldVisitor)
    }
}

struct LineVisitor;

impl<'de> Visitor<'de> for LineVisitor {
    type Value = HistoryLine<'de>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<HistoryLine<'de>, A::Error> {
        use serde_json::Value as Json;
        fn set<T, E: de::Error>(slot: &mut Option<T>, name: &str, value: T) -> Result<(), E> {
            match slot.replace(value) {
                Some(_) => Err(E::custom(format!("duplicate field \"{name}\""))),
                None => Ok(()),
            }
        }
        let (mut process, mut kind, mut f, mut key, mut value, mut time) = (None, None, None, None, None, None);
        let mut node = None;
        let mut unknown_fields = Vec::new();
        while let Some(field) = map.next_key::<Field>()? {
            match field {
                Field::Process => {
                    let p: Json = map.next_value()?;
                    let p = p
                        .as_u64()
                        .ok_or_else(|| de::Error::custom(format!("process must be a non-negative integer, not {p}")))?;
                    set(&mut process, "process", p)?;
                }
                Field::Type => {
                    let t = match map.next_value::<StrOr<'de>>()? {
                        StrOr::Str(t) => LineKind::from_name(&t).ok_or_else(|| {
                            de::Error::custom(format!("unknown type \"{t}\" (expected invoke, ok, fail or info)"))
                        })?,
                        StrOr::Other(t) => return Err(de::Error::custom(format!("type must be a string, not {t}"))),
                    };
                    set(&mut kind, "type", t)?;
                }
                Field::F => set(&mut f, "f", optional_string("f", map.next_value()?)?)?,
                Field::Key => set(&mut key, "key", optional_string("key", map.next_value()?)?)?,
                Field::Value => set(&mut value, "value", map.next_value::<Json>()?)?,
                Field::Time => set(&mut time, "time", optional_u64("time", map.next_value()?)?)?,
                Field::Node => set(&mut node, "node", optional_u64("node", map.next_value()?)?)?,
                Field::Unknown(name) => {
                    map.next_value::<IgnoredAny>()?;
                    unknown_fields.push(name);
                }
            }
        }
        Ok(HistoryLine {
            process: process.ok_or_else(|| de::Error::custom("missing field \"process\""))?,
            kind: kind.ok_or_else(|| de::Error::custom("missing field \"type\""))?,
            f: f.flatten(),
            key: key.flatten(),
            value: value.unwrap_or(Json::Null),
            time: time.flatten(),
            node: node.flatten(),
            unknown_fields,
        })
    }
}

/// A number field that may be absent: `null` is `None`, anything else but
/// a non-negative integer is an error.
fn optional_u64<E: de::Error>(name: &str, value: serde_json::Value) -> Result<Option<u64>, E> {
    match value {
        serde_json::Value::Null => Ok(None),
        n => n.as_u64().map(Some).ok_or_else(|| E::custom(format!("{name} must be a non-negative integer, not {n}"))),
    }
}

/// A string field that may be absent: `null` is `None`, anything else but a string is an error.
fn optional_string<'de, E: de::Error>(name: &str, value: StrOr<'de>) -> Result<Option<Cow<'de, str>>, E> {
    match value {
        StrOr::Other(serde_json::Value::Null) => Ok(None),
        StrOr::Str(s) => Ok(Some(s)),
        StrOr::Other(other) => Err(E::custom(format!("{name} must be a string, not {other}"))),
    }
}

/// A malformed history: the 1-based line number and what is wrong with it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HistoryError {
    /// 1-based line number in the input text.
    pub line: usize,
    /// What is wrong, one sentence without the line number.
    pub message: String,
}

impl fmt::Display for HistoryError {
    /// `line N: message`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "line {}: {}", self.line, self.message)
    }
}

impl std::error::Error for HistoryError {}

/// An op whose invoke has been seen and whose completion has not.
struct Pending<'a> {
    op_slot: usize,
    line: usize,
    f: Cow<'a, str>,
    key: Option<Cow<'a, str>>,
    value: serde_json::Value,
}

/// Parses a JSON Lines history. Blank lines are skipped (but counted for line
/// numbers). See DESIGN.md §4 for the format; every way a history can be
/// malformed is reported as a [`HistoryError`] naming the line.
pub fn parse_history(text: &str) -> Result<History, HistoryError> {
    let mut ops: Vec<Option<Op>> = Vec::new();
    let mut pending: BTreeMap<u64, Pending> = BTreeMap::new();
    for (i, raw) in text.lines().enumerate() {
        let line_no = i + 1;
        if raw.trim().is_empty() {
            continue;
        }
        let err = |message: String| HistoryError { line: line_no, message };
        let (ev, f) = parse_line(raw).map_err(err)?;
        let name = ev.kind.name();
        match ev.kind {
            LineKind::Invoke => {
                if let Some(p) = pending.get(&ev.process) {
                    return Err(err(format!(
                        "process {} invokes a second op while its op from line {} is in flight",
                        ev.process, p.line
                    )));
                }
                let call = parse_call(&f, &ev.value).map_err(err)?;
                ops.push(Some(Op {
                    process: ev.process,
                    key: ev.key.as_deref().map(str::to_string),
                    call,
                    outcome: Outcome::Open,
                    invoke_index: line_no,
                    complete_index: None,
                    meta: OpMeta { invoke_ns: ev.time, ..OpMeta::default() },
                }));
                let pending_op = Pending { op_slot: ops.len() - 1, line: line_no, f, key: ev.key, value: ev.value };
                pending.insert(ev.process, pending_op);
            }
            kind => {
                let Some(p) = pending.remove(&ev.process) else {
                    return Err(err(format!("{name} for process {} which has no op in flight", ev.process)));
                };
                if f != p.f {
                    return Err(err(format!(
                        "{name} has f \"{f}\" but the invoke on line {} has f \"{}\"",
                        p.line, p.f
                    )));
                }
                if ev.key != p.key {
                    return Err(err(format!(
                        "{name} has key {} but the invoke on line {} has key {}",
                        key_text(ev.key.as_deref()),
                        p.line,
                        key_text(p.key.as_deref())
                    )));
                }
                let op = ops[p.op_slot].as_mut().expect("pending op exists");
                op.complete_index = Some(line_no);
                op.meta.complete_ns = ev.time;
                op.meta.node = ev.node;
                op.outcome = match kind {
                    LineKind::Ok if op.call == Call::Read => {
                        Outcome::Ok(parse_value(&ev.value).map_err(|m| err(format!("read {m}")))?)
                    }
                    LineKind::Ok => {
                        if ev.value != p.value {
                            return Err(err(value_mismatch(name, &ev.value, &p)));
                        }
                        Outcome::Ok(Value::Null)
                    }
                    LineKind::Fail | LineKind::Info => {
                        if op.call != Call::Read && !ev.value.is_null() && ev.value != p.value {
                            return Err(err(value_mismatch(name, &ev.value, &p)));
                        }
                        if kind == LineKind::Fail {
                            Outcome::Fail
                        } else {
                            Outcome::Info
                        }
                    }
                    LineKind::Invoke => unreachable!("handled above"),
                };
            }
        }
    }
    Ok(History { ops: ops.into_iter().map(|o| o.expect("every slot is filled")).collect() })
}

fn value_mismatch(name: &str, got: &serde_json::Value, p: &Pending) -> String {
    format!("{name} of {} has value {got} but the invoke on line {} has value {}", p.f, p.line, p.value)
}

fn key_text(key: Option<&str>) -> String {
    match key {
        Some(k) => json_string(k),
        None => "(none)".to_string(),
    }
}

/// Reads one line as a [`HistoryLine`] and checks what the checker needs
/// beyond the format: no unknown field, and an `f` its models know. Returns
/// the line and its `f`.
fn parse_line(raw: &str) -> Result<(HistoryLine<'_>, Cow<'_, str>), String> {
    let mut line: HistoryLine<'_> = serde_json::from_str(raw).map_err(|e| match e.classify() {
        serde_json::error::Category::Data => without_position(&e),
        _ => format!("bad JSON: {e}"),
    })?;
    if let Some(field) = line.unknown_fields.first() {
        return Err(format!("unknown field \"{field}\""));
    }
    let f = line.f.take().ok_or_else(|| "missing field \"f\"".to_string())?;
    if !matches!(&*f, "read" | "write" | "cas" | "append") {
        return Err(format!("unknown f \"{f}\" (expected read, write, cas or append)"));
    }
    Ok((line, f))
}

/// A data error's message without serde_json's ` at line L column C`: the
/// input is one line, and [`HistoryError`] names it.
fn without_position(e: &serde_json::Error) -> String {
    let text = e.to_string();
    let position = format!(" at line {} column {}", e.line(), e.column());
    text.strip_suffix(&position).unwrap_or(&text).to_string()
}

/// A stored value: integer, string or null.
fn parse_value(v: &serde_json::Value) -> Result<Value, String> {
    match v {
        serde_json::Value::Null => Ok(Value::Null),
        serde_json::Value::String(s) => Ok(Value::Str(s.clone())),
        serde_json::Value::Number(n) => {
            n.as_i64().map(Value::Int).ok_or_else(|| format!("value {n} is not a 64-bit integer"))
        }
        other => Err(format!("value must be an integer, a string or null, not {other}")),
    }
}

fn parse_non_null(what: &str, v: &serde_json::Value) -> Result<Value, String> {
    match parse_value(v).map_err(|m| format!("{what} {m}"))? {
        Value::Null => Err(format!("{what} value must be an integer or a string, not null")),
        value => Ok(value),
    }
}

fn parse_call(f: &str, value: &serde_json::Value) -> Result<Call, String> {
    match f {
        "read" if value.is_null() => Ok(Call::Read),
        "read" => Err(format!("read invoke must have value null, not {value}")),
        "write" => Ok(Call::Write(parse_non_null("write", value)?)),
        "append" => match value {
            serde_json::Value::String(s) => Ok(Call::Append(s.clone())),
            other => Err(format!("append value must be a string, not {other}")),
        },
        "cas" => match value.as_array().map(Vec::as_slice) {
            Some([old, new]) => {
                Ok(Call::Cas(parse_value(old).map_err(|m| format!("cas old {m}"))?, parse_non_null("cas new", new)?))
            }
            _ => Err(format!("cas value must be [old, new], not {value}")),
        },
        _ => unreachable!("f was checked when parsing the event"),
    }
}
