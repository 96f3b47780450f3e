//! Histories: the JSON Lines format users see, its parser, and the in-memory type.
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

use std::collections::BTreeMap;
use std::fmt;

use serde::Serialize;

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
}

impl Op {
    /// A one-line description: `p3 cas k1 [2, 5] ok @12..@15`.
    pub fn describe(&self) -> String {
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
        let end = match self.complete_index {
            Some(c) => format!("@{c}"),
            None => "∞".to_string(),
        };
        format!("p{} {what}{status}  [@{}..{end}]", self.process, self.invoke_index)
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
        let mut seen = std::collections::BTreeSet::new();
        let mut last_end: BTreeMap<u64, usize> = BTreeMap::new();
        for op in &ops {
            assert!(seen.insert(op.invoke_index), "event index {} used twice", op.invoke_index);
            match (op.complete_index, &op.outcome) {
                (None, Outcome::Open) => {}
                (Some(c), o) if *o != Outcome::Open => {
                    assert!(c > op.invoke_index, "op completes before it is invoked: {op:?}");
                    assert!(seen.insert(c), "event index {c} used twice");
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
        let mut events: Vec<(usize, String)> = Vec::with_capacity(self.ops.len() * 2);
        for op in &self.ops {
            events.push((op.invoke_index, line(op, "invoke", op.call.invoke_value())));
            let Some(c) = op.complete_index else { continue };
            let (kind, value) = match &op.outcome {
                Outcome::Ok(v) if op.call == Call::Read => ("ok", v.to_json()),
                Outcome::Ok(_) => ("ok", op.call.invoke_value()),
                Outcome::Fail => ("fail", op.call.invoke_value()),
                Outcome::Info => ("info", op.call.invoke_value()),
                Outcome::Open => unreachable!("an open op has no completion"),
            };
            events.push((c, line(op, kind, value)));
        }
        events.sort_by_key(|(i, _)| *i);
        let mut out = String::new();
        for (_, l) in events {
            out.push_str(&l);
            out.push('\n');
        }
        out
    }
}

fn line(op: &Op, kind: &str, value: serde_json::Value) -> String {
    let key = match &op.key {
        Some(k) => format!(", \"key\": {}", json_string(k)),
        None => String::new(),
    };
    format!(
        "{{\"process\": {}, \"type\": \"{kind}\", \"f\": \"{}\"{key}, \"value\": {}}}",
        op.process,
        op.call.name(),
        value
    )
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

/// The fields of one line, checked for shape but not yet against other lines.
struct Event {
    process: u64,
    kind: EventKind,
    f: String,
    key: Option<String>,
    value: serde_json::Value,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum EventKind {
    Invoke,
    Ok,
    Fail,
    Info,
}

/// An op whose invoke has been seen and whose completion has not.
struct Pending {
    op_slot: usize,
    line: usize,
    f: String,
    key: Option<String>,
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
        let ev = parse_event(raw).map_err(err)?;
        match ev.kind {
            EventKind::Invoke => {
                if let Some(p) = pending.get(&ev.process) {
                    return Err(err(format!(
                        "process {} invokes a second op while its op from line {} is in flight",
                        ev.process, p.line
                    )));
                }
                let call = parse_call(&ev.f, &ev.value).map_err(err)?;
                pending.insert(
                    ev.process,
                    Pending { op_slot: ops.len(), line: line_no, f: ev.f, key: ev.key.clone(), value: ev.value },
                );
                ops.push(Some(Op {
                    process: ev.process,
                    key: ev.key,
                    call,
                    outcome: Outcome::Open,
                    invoke_index: line_no,
                    complete_index: None,
                }));
            }
            kind => {
                let name = kind_name(kind);
                let Some(p) = pending.remove(&ev.process) else {
                    return Err(err(format!("{name} for process {} which has no op in flight", ev.process)));
                };
                if ev.f != p.f {
                    return Err(err(format!(
                        "{name} has f \"{}\" but the invoke on line {} has f \"{}\"",
                        ev.f, p.line, p.f
                    )));
                }
                if ev.key != p.key {
                    return Err(err(format!(
                        "{name} has key {} but the invoke on line {} has key {}",
                        key_text(&ev.key),
                        p.line,
                        key_text(&p.key)
                    )));
                }
                let op = ops[p.op_slot].as_mut().expect("pending op exists");
                op.complete_index = Some(line_no);
                op.outcome = match kind {
                    EventKind::Ok if op.call == Call::Read => {
                        Outcome::Ok(parse_value(&ev.value).map_err(|m| err(format!("read {m}")))?)
                    }
                    EventKind::Ok => {
                        if ev.value != p.value {
                            return Err(err(value_mismatch(name, &ev.value, &p)));
                        }
                        Outcome::Ok(Value::Null)
                    }
                    EventKind::Fail | EventKind::Info => {
                        if op.call != Call::Read && !ev.value.is_null() && ev.value != p.value {
                            return Err(err(value_mismatch(name, &ev.value, &p)));
                        }
                        if kind == EventKind::Fail {
                            Outcome::Fail
                        } else {
                            Outcome::Info
                        }
                    }
                    EventKind::Invoke => unreachable!("handled above"),
                };
            }
        }
    }
    Ok(History { ops: ops.into_iter().map(|o| o.expect("every slot is filled")).collect() })
}

fn value_mismatch(name: &str, got: &serde_json::Value, p: &Pending) -> String {
    format!("{name} of {} has value {got} but the invoke on line {} has value {}", p.f, p.line, p.value)
}

fn kind_name(kind: EventKind) -> &'static str {
    match kind {
        EventKind::Invoke => "invoke",
        EventKind::Ok => "ok",
        EventKind::Fail => "fail",
        EventKind::Info => "info",
    }
}

fn key_text(key: &Option<String>) -> String {
    match key {
        Some(k) => json_string(k),
        None => "(none)".to_string(),
    }
}

fn parse_event(raw: &str) -> Result<Event, String> {
    let json: serde_json::Value = serde_json::from_str(raw).map_err(|e| format!("bad JSON: {e}"))?;
    let serde_json::Value::Object(mut map) = json else {
        return Err("expected a JSON object".to_string());
    };
    // Deterministic: serde_json's Map is a BTreeMap (sorted) without the
    // preserve_order feature, so the first unknown field named is stable.
    for field in map.keys() {
        if !matches!(field.as_str(), "process" | "type" | "f" | "key" | "value" | "time") {
            return Err(format!("unknown field \"{field}\""));
        }
    }
    let process = match map.get("process") {
        None => return Err("missing field \"process\"".to_string()),
        Some(p) => p.as_u64().ok_or_else(|| format!("process must be a non-negative integer, not {p}"))?,
    };
    let kind = match map.get("type") {
        None => return Err("missing field \"type\"".to_string()),
        Some(serde_json::Value::String(t)) => match t.as_str() {
            "invoke" => EventKind::Invoke,
            "ok" => EventKind::Ok,
            "fail" => EventKind::Fail,
            "info" => EventKind::Info,
            _ => return Err(format!("unknown type \"{t}\" (expected invoke, ok, fail or info)")),
        },
        Some(t) => return Err(format!("type must be a string, not {t}")),
    };
    let f = match map.get("f") {
        None => return Err("missing field \"f\"".to_string()),
        Some(serde_json::Value::String(f)) => match f.as_str() {
            "read" | "write" | "cas" | "append" => f.clone(),
            _ => return Err(format!("unknown f \"{f}\" (expected read, write, cas or append)")),
        },
        Some(f) => return Err(format!("f must be a string, not {f}")),
    };
    let key = match map.remove("key") {
        None | Some(serde_json::Value::Null) => None,
        Some(serde_json::Value::String(k)) => Some(k),
        Some(k) => return Err(format!("key must be a string, not {k}")),
    };
    let value = map.remove("value").unwrap_or(serde_json::Value::Null);
    Ok(Event { process, kind, f, key, value })
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
