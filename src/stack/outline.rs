//! The outline of a stack file: every key's path and where it sits, read
//! with yaml-rust2's marked event parser before serde sees the document.
//!
//! serde_yaml reports positions for syntax and type errors but knows nothing
//! about values that fail our allowlists, so this index maps a field path
//! (`tailscale.tags[1]`) to a line and column. The same single pass rejects
//! everything a stack file never needs and an attacker might use: anchors
//! and aliases (alias bombs), tags (`!!python/object`), duplicate keys,
//! several documents, a non-mapping top level, unknown keys, values nested
//! where a single value belongs (so nesting depth is bounded by the schema),
//! and oversize values. Events are produced lazily, so the pass stops at the
//! first fault without reading further.

use yaml_rust2::parser::{Event, Parser};
use yaml_rust2::scanner::Marker;

use super::error::{shown, DOCUMENT};
use super::schema::{self, Shape};

/// Longest single value accepted, in characters. The longest legitimate
/// value is an ssh-ed25519 key with a comment (~150).
pub const MAX_VALUE_CHARS: usize = 1024;
/// Longest key accepted, in characters (real keys are <= 15).
const MAX_KEY_CHARS: usize = 64;

/// A 1-based line and column.
pub type Pos = (usize, usize);

fn pos(m: &Marker) -> Pos {
    (m.line(), m.col() + 1)
}

/// One key (or list item) seen in the document.
#[derive(Debug, Clone)]
pub struct Entry {
    pub path: String,
    /// Where the key is written (None for list items).
    pub key: Option<Pos>,
    /// Where its value starts (a scalar, or the start of a mapping/list).
    pub value: Option<Pos>,
}

/// A fault found while scanning, before it is tied to a file name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fault {
    pub pos: Pos,
    pub field: String,
    pub message: String,
    pub hint: Option<String>,
}

impl Fault {
    fn new(pos: Pos, field: impl Into<String>, message: impl Into<String>) -> Self {
        Fault {
            pos,
            field: field.into(),
            message: message.into(),
            hint: None,
        }
    }
    fn hint(mut self, hint: impl Into<String>) -> Self {
        self.hint = Some(hint.into());
        self
    }
}

/// What the scan learned: the index of entries up to the first fault, and
/// the fault, if any.
#[derive(Debug, Default)]
pub struct Outline {
    pub entries: Vec<Entry>,
    pub fault: Option<Fault>,
    /// The field being read when the scan stopped (the key whose value was
    /// pending, or the enclosing mapping), for faults found elsewhere.
    pub current: Option<(String, Pos)>,
}

impl Outline {
    /// Where a field's value is written; falls back to its key, then to its
    /// nearest written ancestor, then to the top of the file.
    pub fn position(&self, path: &str) -> Pos {
        let mut p = path;
        loop {
            if let Some(e) = self.entries.iter().find(|e| e.path == p) {
                if let Some(pos) = e.value.or(e.key) {
                    return pos;
                }
            }
            match p.rfind(['.', '[']) {
                Some(i) => p = &p[..i],
                None => return (1, 1),
            }
        }
    }

    /// The field written at a position (as serde_yaml reports it): the entry
    /// whose key or value starts there, else the last one starting before it.
    pub fn field_at(&self, at: Pos) -> Option<&str> {
        if let Some(e) = self
            .entries
            .iter()
            .find(|e| e.value == Some(at) || e.key == Some(at))
        {
            return Some(&e.path);
        }
        self.entries
            .iter()
            .filter(|e| e.key.or(e.value).is_some_and(|p| p <= at))
            .max_by_key(|e| e.key.or(e.value))
            .map(|e| e.path.as_str())
    }

    /// The field written on `line` at or before `column` (used to name the
    /// field around a forbidden character).
    pub fn field_on_line(&self, line: usize, column: usize) -> Option<&str> {
        self.entries
            .iter()
            .filter(|e| {
                let start = e.key.or(e.value);
                start.is_some_and(|(l, c)| l == line && c <= column)
            })
            .max_by_key(|e| e.key.or(e.value))
            .map(|e| e.path.as_str())
    }
}

/// Which keys a mapping may hold.
#[derive(Clone, Copy)]
enum Keys {
    /// Exactly these (the stack's own keys).
    Fixed(&'static [(&'static str, Shape)]),
    /// Any name, each holding this shape.
    Names(&'static Shape),
    /// Free-form YAML (OpenClaw's settings).
    Free,
}

/// Deepest nesting accepted (the stack's own keys need 6; OpenClaw's
/// settings rarely more than 8).
const MAX_DEPTH: usize = 16;

enum Frame {
    Map {
        path: String,
        keys: Keys,
        seen: Vec<String>,
        /// The key just read, waiting for its value: (path, shape).
        pending: Option<(String, Shape)>,
    },
    List {
        path: String,
        next: usize,
        /// What each item may be: one value, or free-form YAML.
        item: Shape,
    },
}

fn child(parent: &str, key: &str) -> String {
    if parent.is_empty() {
        key.to_string()
    } else {
        format!("{parent}.{key}")
    }
}

fn field_or_document(path: &str) -> String {
    if path.is_empty() {
        DOCUMENT.to_string()
    } else {
        path.to_string()
    }
}

/// Scan `text` and build its outline. Never panics; stops at the first fault.
pub fn scan(text: &str) -> Outline {
    let mut outline = Outline::default();
    if let Err(fault) = walk(text, &mut outline) {
        outline.fault = Some(fault);
    }
    outline
}

fn walk(text: &str, out: &mut Outline) -> Result<(), Fault> {
    let mut parser = Parser::new_from_str(text);
    let mut stack: Vec<Frame> = Vec::new();
    let mut documents = 0usize;
    let mut root_seen = false;
    loop {
        let (event, mark) = match parser.next_token() {
            Ok(x) => x,
            Err(e) => {
                let at = pos(e.marker());
                let field = out.current.as_ref().map(|(f, _)| f.clone());
                return Err(Fault::new(
                    at,
                    field.unwrap_or_else(|| DOCUMENT.to_string()),
                    format!("not valid YAML: {}", e.info()),
                )
                .hint("check indentation, quotes and brackets around this spot"));
            }
        };
        let at = pos(&mark);
        match event {
            Event::StreamStart | Event::Nothing | Event::DocumentEnd => {}
            Event::StreamEnd => {
                if !root_seen {
                    return Err(Fault::new(at, DOCUMENT, "the file has no content")
                        .hint("a stack file is a mapping starting with `name:`; `clawprov init NAME` writes one"));
                }
                return Ok(());
            }
            Event::DocumentStart => {
                documents += 1;
                if documents > 1 {
                    return Err(Fault::new(
                        at,
                        DOCUMENT,
                        "more than one YAML document (`---`) in the file",
                    )
                    .hint(
                        "a stack file holds exactly one document; remove the extra `---` section",
                    ));
                }
            }
            Event::Alias(_) => {
                let field = pending_field(&stack);
                return Err(Fault::new(
                    at,
                    field,
                    "YAML aliases (`*name`) are not allowed in a stack file",
                )
                .hint("write the value out in full"));
            }
            Event::Scalar(value, _style, anchor, tag) => {
                check_decoration(
                    &stack,
                    decoration_at(&stack, out, at),
                    anchor,
                    tag.is_some(),
                )?;
                scalar(&mut stack, out, &mut root_seen, value, at)?;
            }
            Event::MappingStart(anchor, ref tag) | Event::SequenceStart(anchor, ref tag) => {
                check_decoration(
                    &stack,
                    decoration_at(&stack, out, at),
                    anchor,
                    tag.is_some(),
                )?;
                let is_map = matches!(event, Event::MappingStart(..));
                collection(&mut stack, out, &mut root_seen, is_map, at)?;
            }
            Event::MappingEnd | Event::SequenceEnd => {
                stack.pop();
                if let Some(Frame::Map { pending, path, .. }) = stack.last_mut() {
                    *pending = None;
                    out.current = Some((field_or_document(path), at));
                }
            }
        }
    }
}

/// The field a value being read belongs to (for faults on the value itself).
fn pending_field(stack: &[Frame]) -> String {
    match stack.last() {
        None => DOCUMENT.to_string(),
        Some(Frame::Map {
            pending: Some((p, _)),
            ..
        }) => p.clone(),
        Some(Frame::Map { path, .. }) => field_or_document(path),
        Some(Frame::List { path, next, .. }) => format!("{path}[{next}]"),
    }
}

/// Where to report an anchor or tag: at the key it decorates the value of
/// (the value's own event may be marked on a later line), else where it is.
fn decoration_at(stack: &[Frame], out: &Outline, at: Pos) -> Pos {
    match (stack.last(), &out.current) {
        (
            Some(Frame::Map {
                pending: Some(_), ..
            }),
            Some((_, key_at)),
        ) => *key_at,
        _ => at,
    }
}

fn check_decoration(stack: &[Frame], at: Pos, anchor: usize, tagged: bool) -> Result<(), Fault> {
    if anchor != 0 {
        return Err(Fault::new(
            at,
            pending_field(stack),
            "YAML anchors (`&name`) are not allowed in a stack file",
        )
        .hint("remove the anchor and write values out in full"));
    }
    if tagged {
        return Err(Fault::new(
            at,
            pending_field(stack),
            "YAML tags (`!tag`, `!!type`) are not allowed in a stack file",
        )
        .hint("remove the tag; quote the value if it must be text"));
    }
    Ok(())
}

fn scalar(
    stack: &mut [Frame],
    out: &mut Outline,
    root_seen: &mut bool,
    value: String,
    at: Pos,
) -> Result<(), Fault> {
    let Some(top) = stack.last_mut() else {
        *root_seen = true;
        if value.is_empty() {
            return Err(Fault::new(at, DOCUMENT, "the file has no content").hint(
                "a stack file is a mapping starting with `name:`; `clawprov init NAME` writes one",
            ));
        }
        return Err(top_level_fault(at, "a single value"));
    };
    match top {
        Frame::Map {
            path,
            keys,
            seen,
            pending,
        } => match pending.take() {
            None => {
                // A key.
                let key_path = child(path, &value);
                let shown_path = child(path, &shown(&value));
                if value.chars().count() > MAX_KEY_CHARS {
                    let hint = match keys {
                        Keys::Fixed(keys) => format!("valid keys here: {}", schema::listing(keys)),
                        _ => format!("keys are at most {MAX_KEY_CHARS} characters"),
                    };
                    return Err(
                        Fault::new(at, field_or_document(path), "a key is too long").hint(hint)
                    );
                }
                if seen.contains(&value) {
                    return Err(Fault::new(at, key_path, "duplicate key")
                        .hint("each key may appear once; remove one of them"));
                }
                let keys = match *keys {
                    Keys::Fixed(keys) => keys,
                    Keys::Names(_) | Keys::Free if value.is_empty() => {
                        return Err(Fault::new(at, shown_path, "a key is empty")
                            .hint("name the entry, e.g. a chat's id"));
                    }
                    Keys::Names(inner) => {
                        accept_key(out, seen, pending, value, key_path, at, *inner);
                        return Ok(());
                    }
                    Keys::Free => {
                        accept_key(out, seen, pending, value, key_path, at, Shape::Free);
                        return Ok(());
                    }
                };
                let Some((_, shape)) = keys.iter().find(|(k, _)| *k == value) else {
                    let hint = match schema::nearest(&value, keys) {
                        Some(near) => format!(
                            "did you mean `{near}`? valid keys here: {}",
                            schema::listing(keys)
                        ),
                        None => format!("valid keys here: {}", schema::listing(keys)),
                    };
                    // An empty key is shown quoted (`""`), or the error
                    // would name no field at all.
                    let field = if !value.is_empty()
                        && value
                            .chars()
                            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
                    {
                        key_path
                    } else {
                        shown_path
                    };
                    return Err(Fault::new(at, field, "unknown key").hint(hint));
                };
                accept_key(out, seen, pending, value, key_path, at, *shape);
                Ok(())
            }
            Some((key_path, shape)) => {
                // A key's value. An empty value's event is marked at the next
                // token, so faults about emptiness point at the key instead.
                let mut at = at;
                if let Some(e) = out.entries.iter_mut().rev().find(|e| e.path == key_path) {
                    if value.is_empty() {
                        at = e.key.unwrap_or(at);
                    }
                    e.value = Some(at);
                }
                match shape {
                    Shape::Value | Shape::Free => check_length(&key_path, &value, at),
                    Shape::Names(_) => Err(Fault::new(
                        at,
                        key_path,
                        "expected a mapping of names, found a single value",
                    )
                    .hint("write one `NAME:` per entry under it, or remove the line")),
                    Shape::Map(_) if value.is_empty() => Err(Fault::new(
                        at,
                        key_path,
                        "is empty; expected a mapping of keys",
                    )
                    .hint("add the keys under it, or remove the line to use the defaults")),
                    Shape::List if value.is_empty() => {
                        Err(Fault::new(at, key_path, "is empty; expected a list")
                            .hint("write `[]` for an empty list, or remove the line"))
                    }
                    Shape::Map(keys) => Err(Fault::new(
                        at,
                        key_path,
                        "expected a mapping of keys, found a single value",
                    )
                    .hint(format!("keys here: {}", schema::listing(keys)))),
                    Shape::List => {
                        Err(
                            Fault::new(at, key_path, "expected a list, found a single value")
                                .hint("write a list: `[a, b]` or one `- item` per line"),
                        )
                    }
                }
            }
        },
        Frame::List { path, next, .. } => {
            let item = format!("{path}[{next}]");
            *next += 1;
            out.entries.push(Entry {
                path: item.clone(),
                key: None,
                value: Some(at),
            });
            out.current = Some((item.clone(), at));
            check_length(&item, &value, at)
        }
    }
}

fn collection(
    stack: &mut Vec<Frame>,
    out: &mut Outline,
    root_seen: &mut bool,
    is_map: bool,
    at: Pos,
) -> Result<(), Fault> {
    let found = if is_map { "a mapping" } else { "a list" };
    if stack.is_empty() {
        *root_seen = true;
        if !is_map {
            return Err(top_level_fault(at, "a list"));
        }
        stack.push(Frame::Map {
            path: String::new(),
            keys: Keys::Fixed(schema::STACK),
            seen: vec![],
            pending: None,
        });
        return Ok(());
    }
    if stack.len() >= MAX_DEPTH {
        return Err(Fault::new(
            at,
            pending_field(stack),
            format!("nested more than {MAX_DEPTH} levels deep"),
        )
        .hint("no setting needs this depth; check the indentation"));
    }
    let Some(top) = stack.last_mut() else {
        return Ok(());
    };
    let frame = match top {
        Frame::Map { path, pending, .. } => {
            let Some((key_path, shape)) = pending.clone() else {
                return Err(Fault::new(
                    at,
                    field_or_document(path),
                    format!("a key must be a plain name, found {found}"),
                )
                .hint("write `key: value`"));
            };
            if let Some(e) = out.entries.iter_mut().rev().find(|e| e.path == key_path) {
                e.value = Some(at);
            }
            match (shape, is_map) {
                (Shape::Map(keys), true) => Frame::Map {
                    path: key_path,
                    keys: Keys::Fixed(keys),
                    seen: vec![],
                    pending: None,
                },
                (Shape::Names(inner), true) => Frame::Map {
                    path: key_path,
                    keys: Keys::Names(inner),
                    seen: vec![],
                    pending: None,
                },
                (Shape::Free, true) => Frame::Map {
                    path: key_path,
                    keys: Keys::Free,
                    seen: vec![],
                    pending: None,
                },
                (Shape::List, false) => Frame::List {
                    path: key_path,
                    next: 0,
                    item: Shape::Value,
                },
                (Shape::Free, false) => Frame::List {
                    path: key_path,
                    next: 0,
                    item: Shape::Free,
                },
                (Shape::Names(_), false) => {
                    return Err(Fault::new(
                        at,
                        key_path,
                        "expected a mapping of names, found a list",
                    )
                    .hint("write one `NAME:` per entry under it"))
                }
                (Shape::Map(keys), false) => {
                    return Err(Fault::new(
                        at,
                        key_path,
                        "expected a mapping of keys, found a list",
                    )
                    .hint(format!("keys here: {}", schema::listing(keys))))
                }
                (Shape::List, true) => {
                    return Err(Fault::new(at, key_path, "expected a list, found a mapping")
                        .hint("write a list: `[a, b]` or one `- item` per line"))
                }
                (Shape::Value, _) => {
                    return Err(Fault::new(
                        at,
                        key_path,
                        format!("expected a single value, found {found}"),
                    )
                    .hint("quote the value if it contains `:`, `-`, `[` or `{`"))
                }
            }
        }
        Frame::List { path, next, item } => {
            let item_path = format!("{path}[{next}]");
            *next += 1;
            if !matches!(item, Shape::Free) {
                return Err(Fault::new(
                    at,
                    item_path,
                    format!("expected a single value, found {found}"),
                )
                .hint("each list item is one value, e.g. `- tag:openclaw`"));
            }
            out.entries.push(Entry {
                path: item_path.clone(),
                key: None,
                value: Some(at),
            });
            out.current = Some((item_path.clone(), at));
            if is_map {
                Frame::Map {
                    path: item_path,
                    keys: Keys::Free,
                    seen: vec![],
                    pending: None,
                }
            } else {
                Frame::List {
                    path: item_path,
                    next: 0,
                    item: Shape::Free,
                }
            }
        }
    };
    stack.push(frame);
    Ok(())
}

/// Record a key whose value comes next.
fn accept_key(
    out: &mut Outline,
    seen: &mut Vec<String>,
    pending: &mut Option<(String, Shape)>,
    value: String,
    key_path: String,
    at: Pos,
    shape: Shape,
) {
    seen.push(value);
    out.entries.push(Entry {
        path: key_path.clone(),
        key: Some(at),
        value: None,
    });
    out.current = Some((key_path.clone(), at));
    *pending = Some((key_path, shape));
}

fn check_length(path: &str, value: &str, at: Pos) -> Result<(), Fault> {
    let n = value.chars().count();
    if n > MAX_VALUE_CHARS {
        return Err(Fault::new(
            at,
            path,
            format!("value is too long ({n} characters; at most {MAX_VALUE_CHARS})"),
        )
        .hint("no stack value needs to be this long; check what was pasted here"));
    }
    Ok(())
}

fn top_level_fault(at: Pos, found: &str) -> Fault {
    Fault::new(
        at,
        DOCUMENT,
        format!("the top level must be a mapping of keys, found {found}"),
    )
    .hint("a stack file starts with `name: ...`; `clawprov init NAME` writes one")
}
