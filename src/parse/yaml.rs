//! YAML with positions. Place in the pipeline: a parser (text in, positioned structures out).
//! It turns a YAML stream into one `serde_json::Value` per document plus the 1-based line and
//! column of every node, addressed by JSON Pointer. No I/O, no rules: collectors call it and
//! rules only ever see its output.
//!
//! Scalars resolve with the YAML 1.2 core schema (as Kubernetes tooling does for the common
//! cases); aliases and merge keys are expanded under a size budget; nesting is capped.

use std::borrow::Cow;
use std::collections::{BTreeMap, HashMap};
use std::panic::{AssertUnwindSafe, catch_unwind};

use saphyr_parser::{Event, Marker, Parser, ScalarStyle, Span, Tag};
use serde_json::{Map, Number, Value};

/// Deepest nesting of collections accepted in one document.
pub const MAX_DEPTH: usize = 256;

/// Most nodes that alias expansion (and anchor bookkeeping) may produce in one stream; guards
/// against "billion laughs" inputs.
pub const MAX_ALIAS_NODES: usize = 1_000_000;

/// 1-based line and column.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Pos {
    /// 1-based line.
    pub line: u32,
    /// 1-based column, in characters.
    pub column: u32,
}

/// Where one node sits: the key of a mapping entry (None for sequence items and the root) and the value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NodeSpan {
    /// Position of the key, for a mapping entry.
    pub key: Option<Pos>,
    /// Position of the value (for block scalars, the `|`/`>` indicator).
    pub value: Pos,
}

/// One YAML document of a stream.
#[derive(Debug, Clone)]
pub struct YamlDoc {
    /// The document as JSON.
    pub value: Value,
    /// Line where the document starts (its first node, or the `---`).
    pub start_line: u32,
    /// JSON Pointer (RFC 6901, "" = root) -> where that node sits.
    spans: BTreeMap<String, NodeSpan>,
}

impl YamlDoc {
    /// A document with no positions, for objects that come from the API as JSON: `pos` then
    /// answers line 0, and callers report the object instead of a line.
    #[must_use]
    pub fn from_json(value: Value) -> YamlDoc {
        YamlDoc { value, start_line: 0, spans: BTreeMap::new() }
    }

    /// The recorded span of the node at `pointer`, if that node was written in the text (nodes
    /// produced by alias expansion have no span of their own).
    #[must_use]
    pub fn span(&self, pointer: &str) -> Option<NodeSpan> {
        self.spans.get(pointer).copied()
    }

    /// The line to report for a pointer: the key's line if it has a key, else the value's; falls back to the nearest ancestor that has a span; else start_line.
    #[must_use]
    pub fn pos(&self, pointer: &str) -> Pos {
        let mut p = pointer;
        loop {
            if let Some(s) = self.spans.get(p) {
                return s.key.unwrap_or(s.value);
            }
            if p.is_empty() {
                break;
            }
            p = match p.rfind('/') {
                Some(i) => &p[..i],
                None => "",
            };
        }
        Pos { line: self.start_line, column: 1 }
    }
}

/// A YAML syntax error, or an input refused for safety (too deep, too many alias expansions).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct YamlError {
    /// 1-based line of the error.
    pub line: u32,
    /// 1-based column of the error.
    pub column: u32,
    /// What went wrong.
    pub message: String,
}

impl std::fmt::Display for YamlError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "line {}, column {}: {}", self.line, self.column, self.message)
    }
}

impl std::error::Error for YamlError {}

/// Parses every document of a (multi-document) YAML stream. Empty documents (e.g. a trailing `---`) are skipped.
///
/// # Errors
/// Returns the first syntax error (with the scanner's line and column), a character YAML does
/// not allow, nesting deeper than [`MAX_DEPTH`], a recursive alias, or alias expansion beyond
/// [`MAX_ALIAS_NODES`].
pub fn parse_documents(text: &str) -> Result<Vec<YamlDoc>, YamlError> {
    check_printable(text)?;
    lenient_closers(text, |t| {
        // The event parser is third-party code; keep a bug there from taking the whole audit down.
        match catch_unwind(AssertUnwindSafe(|| Builder::new(t).run())) {
            Ok(result) => result,
            Err(_) => Err(YamlError { line: 1, column: 1, message: "internal YAML parser error".to_string() }),
        }
    })
}

/// Runs `parse`, and when it fails on a line that only closes a flow collection (`}` or `]`)
/// written at its parent key's indentation — which libyaml, go-yaml (Helm, kubectl) and PyYAML
/// accept — retries with that line indented one more space. Line numbers are unchanged.
fn lenient_closers<T>(text: &str, parse: impl Fn(&str) -> Result<T, YamlError>) -> Result<T, YamlError> {
    let first = match parse(text) {
        Ok(v) => return Ok(v),
        Err(e) => e,
    };
    let mut patched = text.to_string();
    let mut err = first.clone();
    for _ in 0..16 {
        let Some(idx) = (err.line as usize).checked_sub(1) else { break };
        let lines: Vec<&str> = patched.split('\n').collect();
        let Some(line) = lines.get(idx) else { break };
        let closer = line.trim_start().chars().next();
        let opener = match closer {
            Some('}') => '{',
            Some(']') => '[',
            _ => break,
        };
        // Only a closer of a collection that is open (a rough count is enough to tell).
        let before = lines[..idx].join("\n");
        if before.matches(opener).count() <= before.matches(closer.unwrap_or(' ')).count() {
            break;
        }
        let mut out: Vec<String> = lines.iter().map(|l| l.to_string()).collect();
        out[idx].insert(0, ' ');
        patched = out.join("\n");
        match parse(&patched) {
            Ok(v) => return Ok(v),
            Err(e) if e.line == err.line && e.column == err.column + 1 => break,
            Err(e) => err = e,
        }
    }
    Err(first)
}

/// Checks that a YAML stream is well-formed without building its documents: the same syntax,
/// character and nesting errors as [`parse_documents`] reports, at a fraction of the cost. Used
/// for files no rule can match (the literal prefilter rejected them), which must still be named
/// when they are broken.
///
/// # Errors
/// The first syntax error, a character YAML does not allow, or nesting deeper than [`MAX_DEPTH`].
pub fn check_syntax(text: &str) -> Result<(), YamlError> {
    check_printable(text)?;
    lenient_closers(text, syntax_events)
}

fn syntax_events(text: &str) -> Result<(), YamlError> {
    let scan = || {
        let mut parser = Parser::new_from_str(text);
        let mut depth = 0usize;
        while let Some(item) = parser.next_event() {
            let (event, span) = item.map_err(|e| err_at(*e.marker(), e.info()))?;
            match event {
                Event::StreamEnd => break,
                Event::SequenceStart(..) | Event::MappingStart(..) => {
                    depth += 1;
                    if depth > MAX_DEPTH {
                        return Err(err_at(span.start, format!("nesting deeper than {MAX_DEPTH} levels")));
                    }
                }
                Event::SequenceEnd | Event::MappingEnd => depth = depth.saturating_sub(1),
                _ => {}
            }
        }
        Ok(())
    };
    match catch_unwind(AssertUnwindSafe(scan)) {
        Ok(result) => result,
        Err(_) => Err(YamlError { line: 1, column: 1, message: "internal YAML parser error".to_string() }),
    }
}

/// Escapes one JSON Pointer token (~ -> ~0, / -> ~1).
#[must_use]
pub fn pointer_token(s: &str) -> Cow<'_, str> {
    if s.contains(['~', '/']) { Cow::Owned(s.replace('~', "~0").replace('/', "~1")) } else { Cow::Borrowed(s) }
}

/// Rejects characters outside YAML's printable set (control characters, NUL, ...).
fn check_printable(text: &str) -> Result<(), YamlError> {
    let mut line = 1u32;
    let mut column = 1u32;
    let mut prev_cr = false;
    for c in text.chars() {
        let ok = matches!(c,
            '\t' | '\n' | '\r' | ' '..='~' | '\u{85}' | '\u{A0}'..='\u{D7FF}' | '\u{E000}'..='\u{FFFD}' | '\u{10000}'..);
        if !ok {
            return Err(YamlError { line, column, message: format!("invalid character U+{:04X}", u32::from(c)) });
        }
        match c {
            '\n' if prev_cr => {}
            '\n' | '\r' => {
                line = line.saturating_add(1);
                column = 1;
            }
            _ => column = column.saturating_add(1),
        }
        prev_cr = c == '\r';
    }
    Ok(())
}

fn to_u32(n: usize) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

fn pos_of(m: Marker) -> Pos {
    Pos { line: to_u32(m.line()), column: to_u32(m.col()).saturating_add(1) }
}

fn err_at(m: Marker, message: impl Into<String>) -> YamlError {
    YamlError { line: to_u32(m.line()), column: to_u32(m.col()).saturating_add(1), message: message.into() }
}

/// Resolves a scalar with the YAML 1.2 core schema.
fn resolve_scalar(text: &str, style: ScalarStyle, tag: Option<&Tag>) -> Value {
    let is_str_tag = tag.is_some_and(|t| (t.is_yaml_core_schema() || t.handle == "!!") && t.suffix == "str");
    if style != ScalarStyle::Plain || is_str_tag {
        return Value::String(text.to_string());
    }
    resolve_plain(text)
}

/// Core-schema resolution of a plain scalar.
fn resolve_plain(s: &str) -> Value {
    match s {
        "" | "~" | "null" | "Null" | "NULL" => Value::Null,
        "true" | "True" | "TRUE" => Value::Bool(true),
        "false" | "False" | "FALSE" => Value::Bool(false),
        _ => parse_int(s).or_else(|| parse_float(s)).unwrap_or_else(|| Value::String(s.to_string())),
    }
}

fn parse_int(s: &str) -> Option<Value> {
    for (prefix, radix) in [("0x", 16), ("0o", 8)] {
        if let Some(digits) = s.strip_prefix(prefix) {
            if digits.is_empty() || !digits.chars().all(|c| c.is_digit(radix)) {
                return None;
            }
            return u64::from_str_radix(digits, radix).ok().map(Value::from);
        }
    }
    let unsigned = s.strip_prefix(['-', '+']).unwrap_or(s);
    if unsigned.is_empty() || !unsigned.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    if let Ok(i) = s.parse::<i64>() {
        return Some(Value::from(i));
    }
    if let Ok(u) = unsigned.parse::<u64>()
        && !s.starts_with('-')
    {
        return Some(Value::from(u));
    }
    s.parse::<f64>().ok().and_then(Number::from_f64).map(Value::Number)
}

/// `[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?`; infinities and NaN stay strings.
fn parse_float(s: &str) -> Option<Value> {
    let b = s.as_bytes();
    let digits = |mut i: usize| {
        let start = i;
        while b.get(i).is_some_and(u8::is_ascii_digit) {
            i += 1;
        }
        (i, i - start)
    };
    let mut i = usize::from(matches!(b.first(), Some(b'+' | b'-')));
    let (next, int_digits) = digits(i);
    i = next;
    let mut frac_digits = 0;
    if b.get(i) == Some(&b'.') {
        (i, frac_digits) = digits(i + 1);
    }
    if int_digits == 0 && frac_digits == 0 {
        return None;
    }
    if matches!(b.get(i), Some(b'e' | b'E')) {
        i += 1;
        if matches!(b.get(i), Some(b'+' | b'-')) {
            i += 1;
        }
        let (next, exp_digits) = digits(i);
        if exp_digits == 0 {
            return None;
        }
        i = next;
    }
    if i != b.len() {
        return None;
    }
    s.parse::<f64>().ok().and_then(Number::from_f64).map(Value::Number)
}

/// A key waiting for its value.
struct PendingKey {
    name: String,
    pos: Pos,
    /// A plain `<<`: its value is merged into the mapping.
    merge: bool,
}

enum Container {
    Seq(Vec<Value>),
    Map {
        map: Map<String, Value>,
        key: Option<PendingKey>,
        /// Mappings to merge at the end (explicit keys win), with the `<<` entry's span.
        merges: Vec<(Map<String, Value>, NodeSpan)>,
    },
}

/// A collection being built.
struct Frame {
    container: Container,
    /// Pointer of this collection.
    ptr: String,
    /// Whether spans of children are recorded (false inside complex keys and merge sources).
    record: bool,
    anchor: usize,
    start: Pos,
    nodes: usize,
    depth: usize,
}

/// A finished node.
struct Built {
    value: Value,
    nodes: usize,
    depth: usize,
}

struct Anchor {
    value: Value,
    nodes: usize,
    depth: usize,
}

/// Where the next node goes.
enum Slot {
    Root,
    Item { ptr: String, record: bool },
    Key,
    Value { ptr: String, record: bool, key_pos: Pos, merge: bool, duplicate: bool },
}

/// Maps character indices (as the scanner counts them) to byte offsets; cheap for forward moves.
#[derive(Default)]
struct CharCursor {
    chars: usize,
    bytes: usize,
}

impl CharCursor {
    fn byte_at(&mut self, text: &str, char_idx: usize) -> Option<usize> {
        if char_idx < self.chars {
            *self = Self::default();
        }
        let mut it = text.get(self.bytes..)?.chars();
        while self.chars < char_idx {
            let c = it.next()?;
            self.bytes += c.len_utf8();
            self.chars += 1;
        }
        Some(self.bytes)
    }
}

struct Builder<'t> {
    text: &'t str,
    cursor: CharCursor,
    docs: Vec<YamlDoc>,
    spans: BTreeMap<String, NodeSpan>,
    stack: Vec<Frame>,
    anchors: HashMap<usize, Anchor>,
    root: Option<Value>,
    start_line: u32,
    /// Nodes created by alias expansion and anchor copies so far (whole stream).
    expanded: usize,
}

impl<'t> Builder<'t> {
    fn new(text: &'t str) -> Self {
        Builder {
            text,
            cursor: CharCursor::default(),
            docs: Vec::new(),
            spans: BTreeMap::new(),
            stack: Vec::new(),
            anchors: HashMap::new(),
            root: None,
            start_line: 1,
            expanded: 0,
        }
    }

    fn run(mut self) -> Result<Vec<YamlDoc>, YamlError> {
        let mut parser = Parser::new_from_str(self.text);
        let mut last_end = Marker::new(0, 1, 0);
        while let Some(item) = parser.next_event() {
            let (event, span) = item.map_err(|e| err_at(*e.marker(), e.info()))?;
            match event {
                Event::StreamEnd => break,
                Event::StreamStart | Event::Nothing => {}
                Event::DocumentStart(_) => {
                    self.finish_document();
                    self.start_line = to_u32(span.start.line());
                }
                Event::DocumentEnd => self.finish_document(),
                Event::Scalar(text, style, anchor, tag) => {
                    let pos = if matches!(style, ScalarStyle::Literal | ScalarStyle::Folded) {
                        self.block_indicator(last_end, span)
                    } else {
                        pos_of(span.start)
                    };
                    self.scalar(&text, style, anchor, tag.as_deref(), pos)?;
                }
                Event::SequenceStart(anchor, _) => self.start(Container::Seq(Vec::new()), anchor, span)?,
                Event::MappingStart(anchor, _) => {
                    let map = Container::Map { map: Map::new(), key: None, merges: Vec::new() };
                    self.start(map, anchor, span)?;
                }
                Event::SequenceEnd | Event::MappingEnd => self.end(),
                Event::Alias(id) => self.alias(id, span)?,
            }
            last_end = span.end;
        }
        self.finish_document();
        Ok(self.docs)
    }

    fn finish_document(&mut self) {
        // Unbalanced frames cannot occur with a well-formed event stream; drop them if they do.
        self.stack.clear();
        self.anchors.clear();
        let spans = std::mem::take(&mut self.spans);
        if let Some(value) = self.root.take()
            && !value.is_null()
        {
            self.docs.push(YamlDoc { value, start_line: self.start_line, spans });
        }
    }

    /// Position of a block scalar's `|`/`>` indicator: scans from the end of the previous event
    /// over indicators, anchors, tags and comments. Falls back to the scalar's own start.
    fn block_indicator(&mut self, from: Marker, span: Span) -> Pos {
        let fallback = pos_of(span.start);
        let Some(byte) = self.cursor.byte_at(self.text, from.index()) else { return fallback };
        let Some(rest) = self.text.get(byte..) else { return fallback };
        let (mut line, mut col, mut idx) = (from.line(), from.col(), from.index());
        let limit = span.end.index().max(span.start.index());
        #[derive(PartialEq)]
        enum St {
            Normal,
            Comment,
            Token,
        }
        let mut st = St::Normal;
        let mut chars = rest.chars().peekable();
        while idx < limit {
            let Some(c) = chars.next() else { break };
            idx += 1;
            if c == '\n' || c == '\r' {
                if c == '\r' && chars.peek() == Some(&'\n') {
                    chars.next();
                    idx += 1;
                }
                line += 1;
                col = 0;
                st = St::Normal;
                continue;
            }
            match st {
                St::Comment => {}
                St::Token if c == ' ' || c == '\t' => st = St::Normal,
                St::Token => {}
                St::Normal => match c {
                    '|' | '>' => return Pos { line: to_u32(line), column: to_u32(col).saturating_add(1) },
                    '#' => st = St::Comment,
                    '&' | '!' => st = St::Token,
                    ' ' | '\t' | ':' | '-' | '?' | ',' | '\u{feff}' => {}
                    _ => return fallback,
                },
            }
            col += 1;
        }
        fallback
    }

    /// Decides where the next node goes, given the innermost open collection.
    fn slot(&self) -> Slot {
        let Some(top) = self.stack.last() else { return Slot::Root };
        match &top.container {
            Container::Seq(items) => Slot::Item { ptr: format!("{}/{}", top.ptr, items.len()), record: top.record },
            Container::Map { key: None, .. } => Slot::Key,
            Container::Map { key: Some(k), map, .. } => Slot::Value {
                ptr: format!("{}/{}", top.ptr, pointer_token(&k.name)),
                record: top.record && !k.merge,
                key_pos: k.pos,
                merge: k.merge,
                duplicate: map.contains_key(&k.name),
            },
        }
    }

    /// Records the span of a node about to be placed in `slot`; returns (pointer, record).
    fn record(&mut self, slot: &Slot, value: Pos) -> (String, bool) {
        match slot {
            Slot::Root => {
                self.spans.insert(String::new(), NodeSpan { key: None, value });
                (String::new(), true)
            }
            Slot::Item { ptr, record } => {
                if *record {
                    self.spans.insert(ptr.clone(), NodeSpan { key: None, value });
                }
                (ptr.clone(), *record)
            }
            Slot::Key => (String::new(), false),
            Slot::Value { ptr, record, key_pos, merge, duplicate } => {
                if *record {
                    if *duplicate {
                        self.forget_descendants(ptr);
                    }
                    self.spans.insert(ptr.clone(), NodeSpan { key: Some(*key_pos), value });
                }
                (ptr.clone(), *record && !*merge)
            }
        }
    }

    /// Drops spans under `ptr` (a duplicate key replaces the earlier value).
    fn forget_descendants(&mut self, ptr: &str) {
        let prefix = format!("{ptr}/");
        let stale: Vec<String> = self
            .spans
            .range(prefix.clone()..)
            .take_while(|(k, _)| k.starts_with(&prefix))
            .map(|(k, _)| k.clone())
            .collect();
        for k in stale {
            self.spans.remove(&k);
        }
    }

    fn scalar(
        &mut self,
        text: &str,
        style: ScalarStyle,
        anchor: usize,
        tag: Option<&Tag>,
        pos: Pos,
    ) -> Result<(), YamlError> {
        let slot = self.slot();
        if let Slot::Key = slot {
            let merge = style == ScalarStyle::Plain && tag.is_none() && text == "<<";
            if anchor != 0 {
                self.register_anchor(anchor, Value::String(text.to_string()), 1, 1, pos)?;
            }
            self.set_key(text.to_string(), pos, merge);
            return Ok(());
        }
        let value = resolve_scalar(text, style, tag);
        if anchor != 0 {
            self.register_anchor(anchor, value.clone(), 1, 1, pos)?;
        }
        self.record(&slot, pos);
        self.attach(Built { value, nodes: 1, depth: 1 }, pos);
        Ok(())
    }

    fn set_key(&mut self, name: String, pos: Pos, merge: bool) {
        if let Some(Frame { container: Container::Map { key, .. }, .. }) = self.stack.last_mut() {
            *key = Some(PendingKey { name, pos, merge });
        }
    }

    fn start(&mut self, container: Container, anchor: usize, span: Span) -> Result<(), YamlError> {
        if self.stack.len() >= MAX_DEPTH {
            return Err(err_at(span.start, format!("nesting deeper than {MAX_DEPTH} levels")));
        }
        let pos = pos_of(span.start);
        let slot = self.slot();
        let (ptr, record) = self.record(&slot, pos);
        self.stack.push(Frame { container, ptr, record, anchor, start: pos, nodes: 0, depth: 0 });
        Ok(())
    }

    fn end(&mut self) {
        let Some(frame) = self.stack.pop() else { return };
        let value = match frame.container {
            Container::Seq(items) => Value::Array(items),
            Container::Map { mut map, merges, .. } => {
                for (source, span) in merges {
                    for (k, v) in source {
                        if !map.contains_key(&k) {
                            if frame.record {
                                self.spans.entry(format!("{}/{}", frame.ptr, pointer_token(&k))).or_insert(span);
                            }
                            map.insert(k, v);
                        }
                    }
                }
                Value::Object(map)
            }
        };
        let built = Built { value, nodes: frame.nodes + 1, depth: frame.depth + 1 };
        if frame.anchor != 0 {
            // Errors here (budget) surface at the next alias; keep `end` infallible by recording
            // the anchor only when it fits.
            if self.expanded.saturating_add(built.nodes) <= MAX_ALIAS_NODES {
                self.expanded += built.nodes;
                self.anchors.insert(
                    frame.anchor,
                    Anchor { value: built.value.clone(), nodes: built.nodes, depth: built.depth },
                );
            } else {
                self.anchors.insert(frame.anchor, Anchor { value: Value::Null, nodes: usize::MAX, depth: built.depth });
            }
        }
        self.attach(built, frame.start);
    }

    fn register_anchor(
        &mut self,
        id: usize,
        value: Value,
        nodes: usize,
        depth: usize,
        pos: Pos,
    ) -> Result<(), YamlError> {
        self.expanded = self.expanded.saturating_add(nodes);
        if self.expanded > MAX_ALIAS_NODES {
            return Err(YamlError {
                line: pos.line,
                column: pos.column,
                message: "alias expansion too large".to_string(),
            });
        }
        self.anchors.insert(id, Anchor { value, nodes, depth });
        Ok(())
    }

    fn alias(&mut self, id: usize, span: Span) -> Result<(), YamlError> {
        let pos = pos_of(span.start);
        let Some(anchor) = self.anchors.get(&id) else {
            return Err(err_at(span.start, "recursive alias (an alias inside the node it refers to)"));
        };
        let total = self.expanded.saturating_add(anchor.nodes);
        if total > MAX_ALIAS_NODES {
            return Err(err_at(span.start, "alias expansion too large"));
        }
        if self.stack.len().saturating_add(anchor.depth) > MAX_DEPTH + 1 {
            return Err(err_at(span.start, format!("nesting deeper than {MAX_DEPTH} levels (through an alias)")));
        }
        let built = Built { value: anchor.value.clone(), nodes: anchor.nodes, depth: anchor.depth };
        self.expanded = total;
        let slot = self.slot();
        self.record(&slot, pos);
        self.attach(built, pos);
        Ok(())
    }

    /// Places a finished node into the innermost open collection (or as the document root).
    fn attach(&mut self, built: Built, pos: Pos) {
        let Some(top) = self.stack.last_mut() else {
            self.root = Some(built.value);
            return;
        };
        top.nodes = top.nodes.saturating_add(built.nodes);
        top.depth = top.depth.max(built.depth);
        match &mut top.container {
            Container::Seq(items) => items.push(built.value),
            Container::Map { map, key, merges } => match key.take() {
                None => {
                    // A complex (collection or alias) key: use its text.
                    let name = match built.value {
                        Value::String(s) => s,
                        other => serde_json::to_string(&other).unwrap_or_default(),
                    };
                    *key = Some(PendingKey { name, pos, merge: false });
                }
                Some(k) if k.merge => {
                    let span = NodeSpan { key: Some(k.pos), value: pos };
                    match built.value {
                        Value::Object(m) => merges.push((m, span)),
                        Value::Array(items) if items.iter().all(Value::is_object) => {
                            for item in items {
                                if let Value::Object(m) = item {
                                    merges.push((m, span));
                                }
                            }
                        }
                        other => {
                            map.insert(k.name, other);
                        }
                    }
                }
                Some(k) => {
                    map.insert(k.name, built.value);
                }
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flow_closers_at_the_parent_indentation_are_accepted() {
        // Accepted by libyaml, go-yaml and PyYAML (Helm values files are written like this).
        for text in [
            "a:\n  b: {\n    \"x\": \"1\",\n  }\n",
            "a:\n  b: {\n    \"x\": \"1\"\n  }\nc: [\n  1,\n]\n",
            "extraArgs: {\n  \"a\": \"true\",\n}\n",
        ] {
            let docs = parse_documents(text).unwrap_or_else(|e| panic!("{text:?}: {e}"));
            assert!(!docs.is_empty());
            assert!(check_syntax(text).is_ok(), "{text:?}");
        }
        let docs = parse_documents("a:\n  b: {\n    \"x\": \"1\",\n  }\nd: 2\n").unwrap();
        assert_eq!(docs[0].value["a"]["b"]["x"], "1");
        assert_eq!(docs[0].pos("/d").line, 5);
        // Still an error: an unclosed flow mapping, and a closer that closes nothing.
        assert!(parse_documents("a:\n  b: {\n    \"x\": \"1\",\n").is_err());
        assert!(parse_documents("a: 1\n}\n").is_err());
    }

    #[test]
    fn syntax_check_agrees_with_the_parser() {
        let cases = [
            "apiVersion: v1\nkind: Pod\nmetadata:\n  name: x\n spec: [unclosed\n",
            "a: [\n",
            "key: \"unterminated\n",
            "- a\n-b: c\n  d\n",
            "ok: 1\n---\nlist: [1, 2]\n",
            "",
            "# only a comment\n",
            "a: b\u{0}c\n",
        ];
        for text in cases {
            let parsed = parse_documents(text).map(|_| ()).map_err(|e| e.line);
            assert_eq!(check_syntax(text).map_err(|e| e.line), parsed, "{text:?}");
        }
        let deep = format!("{}1{}", "[".repeat(MAX_DEPTH + 5), "]".repeat(MAX_DEPTH + 5));
        assert!(parse_documents(&deep).is_err() && check_syntax(&deep).is_err(), "over-deep nesting is an error");
    }

    use serde_json::json;

    fn one(text: &str) -> YamlDoc {
        let mut docs = parse_documents(text).unwrap_or_else(|e| panic!("parse failed: {e}"));
        assert_eq!(docs.len(), 1, "expected one document");
        docs.remove(0)
    }

    fn p(line: u32, column: u32) -> Pos {
        Pos { line, column }
    }

    const STREAM: &str = "\
# A realistic multi-document stream
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  annotations:
    kubernetes.io/role: frontend
    odd~key: x
spec:
  replicas: 2
  template:
    spec:
      containers:
        - name: web
          image: nginx:1.25
---
apiVersion: apps/v1
kind: DaemonSet
metadata:
  name: log-agent
  namespace: kube-system
spec:
  template:
    metadata:
      labels: {app: log-agent, tier: node}
    spec:
      containers:
      - name: agent
        image: \"fluent/fluentd:v1.16\"
        volumeMounts:
        - name: docker-sock
          mountPath: /var/run/docker.sock
      volumes:
      - name: varlog
        hostPath:
          path: /var/log
      - name: docker-sock
        hostPath:
          path: /var/run/docker.sock
          type: Socket
---
apiVersion: v1
kind: Service
metadata: {name: web}
spec:
  ports: [{port: 80, targetPort: 8080}]
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: cfg
data:
  daemon.json: |
    {\"log-driver\": \"json-file\"}
  runtime: docker
---
";

    #[test]
    fn multi_document_positions() {
        let docs = parse_documents(STREAM).unwrap();
        assert_eq!(docs.len(), 4);
        let kinds: Vec<&str> = docs.iter().map(|d| d.value["kind"].as_str().unwrap()).collect();
        assert_eq!(kinds, ["Deployment", "DaemonSet", "Service", "ConfigMap"]);
        assert_eq!(docs[0].start_line, 2);
        assert_eq!(docs[1].start_line, 16);
        assert_eq!(docs[2].start_line, 41);
        assert_eq!(docs[3].start_line, 47);

        let d0 = &docs[0];
        assert_eq!(d0.pos("/metadata/name"), p(5, 3));
        assert_eq!(d0.span("/metadata/name"), Some(NodeSpan { key: Some(p(5, 3)), value: p(5, 9) }));
        assert_eq!(d0.pos("/spec/template/spec/containers/0/image"), p(15, 11));
        assert_eq!(d0.span("/spec/template/spec/containers/0").unwrap().value, p(14, 11));
        assert_eq!(d0.pos("/metadata/annotations/kubernetes.io~1role"), p(7, 5));
        assert_eq!(d0.pos("/metadata/annotations/odd~0key"), p(8, 5));

        let d1 = &docs[1];
        assert_eq!(d1.pos("/spec/template/spec/volumes/1/hostPath/path"), p(39, 11));
        assert_eq!(d1.value["spec"]["template"]["spec"]["volumes"][1]["hostPath"]["path"], "/var/run/docker.sock");
        assert_eq!(d1.pos("/spec/template/spec/volumes/0/hostPath/path"), p(36, 11));
        assert_eq!(d1.pos("/spec/template/spec/volumes/1"), p(37, 9));
        assert_eq!(d1.pos("/spec/template/spec/containers/0/volumeMounts/0/mountPath"), p(32, 11));
        assert_eq!(d1.pos("/spec/template/spec/containers/0/image"), p(29, 9));
        assert_eq!(d1.span("/spec/template/spec/containers/0/image").unwrap().value, p(29, 16));
        assert_eq!(d1.pos("/spec/template/metadata/labels/tier"), p(25, 32));
        // Missing pointers fall back to the nearest ancestor, then the document start.
        assert_eq!(d1.pos("/spec/template/spec/volumes/1/hostPath/nope/deeper"), p(38, 9));
        assert_eq!(d1.pos("/nope"), p(17, 1));
        assert_eq!(d1.span("/nope"), None);
        assert_eq!(d1.span("").unwrap(), NodeSpan { key: None, value: p(17, 1) });

        let d2 = &docs[2];
        assert_eq!(d2.pos("/spec/ports/0/targetPort"), p(46, 22));
        assert_eq!(d2.value["spec"]["ports"][0]["port"], 80);

        let d3 = &docs[3];
        assert_eq!(d3.value["data"]["daemon.json"], "{\"log-driver\": \"json-file\"}\n");
        let s = d3.span("/data/daemon.json").unwrap();
        assert_eq!(s.key, Some(p(53, 3)));
        assert_eq!(s.value, p(53, 16), "block scalar value is the indicator");
        assert_eq!(d3.pos("/data/runtime"), p(55, 3));
    }

    #[test]
    fn block_scalar_with_embedded_yaml_is_verbatim() {
        let text = "\
kind: ConfigMap
data:
  kubelet: |
    apiVersion: kubelet.config.k8s.io/v1beta1
    kind: KubeletConfiguration
    # comment stays
    containerRuntimeEndpoint: \"unix:///var/run/dockershim.sock\"

    evictionHard:
      memory.available: 100Mi
  folded: >-
    one
    two

    three
  keep: |+
    x

  strip: |-
    y
  tagged: !!str |
    z
";
        let d = one(text);
        assert_eq!(
            d.value["data"]["kubelet"],
            "apiVersion: kubelet.config.k8s.io/v1beta1\nkind: KubeletConfiguration\n# comment stays\n\
             containerRuntimeEndpoint: \"unix:///var/run/dockershim.sock\"\n\nevictionHard:\n  memory.available: 100Mi\n"
        );
        assert_eq!(d.span("/data/kubelet").unwrap().value, p(3, 12));
        assert_eq!(d.value["data"]["folded"], "one two\nthree");
        assert_eq!(d.span("/data/folded").unwrap().value, p(11, 11));
        assert_eq!(d.value["data"]["keep"], "x\n\n");
        assert_eq!(d.value["data"]["strip"], "y");
        assert_eq!(d.span("/data/strip").unwrap().value, p(19, 10));
        assert_eq!(d.value["data"]["tagged"], "z\n");
        assert_eq!(d.span("/data/tagged").unwrap().value, p(21, 17));
        // The embedded text parses on its own.
        let inner = one(d.value["data"]["kubelet"].as_str().unwrap());
        assert_eq!(inner.value["containerRuntimeEndpoint"], "unix:///var/run/dockershim.sock");
    }

    #[test]
    fn block_scalars_in_sequences_and_empty_blocks() {
        let d = one("args:\n- |\n  first\n- &a !!str >\n  second\n- |  # note | >\n  third\nempty: |\nafter: 1\n");
        assert_eq!(d.value["args"], json!(["first\n", "second\n", "third\n"]));
        assert_eq!(d.span("/args/0").unwrap().value, p(2, 3));
        assert_eq!(d.span("/args/1").unwrap().value, p(4, 12));
        assert_eq!(d.span("/args/2").unwrap().value, p(6, 3));
        assert_eq!(d.value["empty"], "");
        assert_eq!(d.span("/empty").unwrap().value, p(8, 8));
        assert_eq!(d.pos("/after"), p(9, 1));
        let root = one("--- |\n  just text\n");
        assert_eq!(root.value, "just text\n");
        assert_eq!(root.span("").unwrap().value, p(1, 5));
    }

    #[test]
    fn anchors_aliases_and_merge_keys() {
        let text = "\
base: &base
  image: busybox
  privileged: true
list: &l [a, b]
copy: *base
items: *l
merged:
  name: m
  <<: *base
  privileged: false
multi:
  <<: [*base, {image: other, extra: 1}]
inline:
  <<: {a: 1}
  b: 2
scalar: &s hello
again: *s
";
        let d = one(text);
        assert_eq!(d.value["copy"], json!({"image": "busybox", "privileged": true}));
        assert_eq!(d.value["items"], json!(["a", "b"]));
        assert_eq!(d.value["merged"], json!({"name": "m", "privileged": false, "image": "busybox"}));
        assert_eq!(d.value["multi"], json!({"image": "busybox", "privileged": true, "extra": 1}));
        assert_eq!(d.value["inline"], json!({"b": 2, "a": 1}));
        assert_eq!(d.value["again"], "hello");
        assert!(d.value["merged"].get("<<").is_none());
        // Alias nodes are positioned at the alias; their insides fall back to it.
        assert_eq!(d.span("/copy").unwrap(), NodeSpan { key: Some(p(5, 1)), value: p(5, 7) });
        assert_eq!(d.pos("/copy/image"), p(5, 1));
        // Merged keys are positioned at the `<<` entry; explicit keys keep their own.
        assert_eq!(d.pos("/merged/image"), p(9, 3));
        assert_eq!(d.pos("/merged/privileged"), p(10, 3));
        assert_eq!(d.pos("/multi/extra"), p(12, 3));
        // A quoted "<<" is an ordinary key.
        let q = one("a: &x {k: v}\nb:\n  \"<<\": *x\n");
        assert_eq!(q.value["b"], json!({"<<": {"k": "v"}}));
    }

    #[test]
    fn billion_laughs_is_refused_quickly() {
        let mut text =
            String::from("a: &a [\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\"]\n");
        let names = ["a", "b", "c", "d", "e", "f", "g", "h", "i"];
        for w in names.windows(2) {
            let (prev, cur) = (w[0], w[1]);
            text.push_str(&format!(
                "{cur}: &{cur} [*{prev},*{prev},*{prev},*{prev},*{prev},*{prev},*{prev},*{prev},*{prev}]\n"
            ));
        }
        let started = std::time::Instant::now();
        let err = parse_documents(&text).unwrap_err();
        assert!(err.message.contains("alias expansion too large"), "{err}");
        assert!(err.line >= 5, "{err}");
        assert!(started.elapsed() < std::time::Duration::from_secs(5));
    }

    #[test]
    fn recursive_alias_and_deep_nesting_are_errors() {
        let e = parse_documents("a: &x [1, *x]\n").unwrap_err();
        assert_eq!((e.line, e.column), (1, 11));
        assert!(e.message.contains("recursive"));

        let deep = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000));
        // The scanner itself caps flow nesting (255); block nesting is capped here.
        let e = parse_documents(&deep).unwrap_err();
        assert!(e.message.contains("nesting") || e.message.contains("recursion"), "{e}");
        let ok = format!("{}1{}", "[".repeat(200), "]".repeat(200));
        assert!(parse_documents(&ok).is_ok());

        let mut block = String::new();
        for i in 0..300 {
            block.push_str(&" ".repeat(i));
            block.push_str("k:\n");
        }
        assert!(parse_documents(&block).unwrap_err().message.contains("nesting"));

        // Depth through aliases is capped too.
        let inner = format!("{}1{}", "[".repeat(200), "]".repeat(200));
        let text = format!("a: &a {inner}\nb: {}*a{}\n", "[".repeat(100), "]".repeat(100));
        assert!(parse_documents(&text).unwrap_err().message.contains("nesting"));
    }

    #[test]
    fn malformed_yaml_reports_a_plausible_line() {
        let cases: &[(&str, u32)] = &[
            ("a: 1\nb:\n\tc: 2\n", 3),               // tab indentation
            ("a:\n  b: 1\n c: 2\n", 3),              // bad indentation
            ("a: 1\nb: \"unclosed\nc: 3\n", 2),      // unclosed double quote
            ("a: 1\nb: 'unclosed\n", 2),             // unclosed single quote
            ("a: [1, 2\nb: 3\n", 2),                 // unclosed flow sequence
            ("a: b: c\n", 1),                        // nested mapping on one line
            ("- a\nb: c\n", 2),                      // sequence then mapping
            ("---\nok: 1\n---\nkey: *missing\n", 4), // unknown anchor
            ("a: 1\n\u{7}b: 2\n", 2),                // control character
            ("ok: 1\nnul: \u{0}\n", 2),              // NUL
        ];
        for (text, line) in cases {
            let e = parse_documents(text).expect_err(text);
            assert_eq!(e.line, *line, "{text:?}: {e}");
            assert!(e.column >= 1);
            assert!(!e.message.is_empty());
            assert!(e.to_string().starts_with(&format!("line {line}, column ")));
        }
    }

    #[test]
    fn binary_garbage_is_an_error_not_a_panic() {
        let garbage: String = (0u32..512).filter_map(|i| char::from_u32((i * 7919) % 0x2FF)).collect();
        assert!(parse_documents(&garbage).is_err());
        assert!(parse_documents("\u{1}\u{2}\u{3}").is_err());
        let lossy = String::from_utf8_lossy(&[0x7f, 0x45, 0x4c, 0x46, 0x02, 0x01, 0x01, 0, 0, 0xff, 0xfe]).into_owned();
        assert!(parse_documents(&lossy).is_err());
    }

    #[test]
    fn scalar_typing_table() {
        let cases: &[(&str, Value)] = &[
            ("~", Value::Null),
            ("null", Value::Null),
            ("Null", Value::Null),
            ("NULL", Value::Null),
            ("", Value::Null),
            ("true", json!(true)),
            ("True", json!(true)),
            ("TRUE", json!(true)),
            ("false", json!(false)),
            ("FALSE", json!(false)),
            ("yes", json!("yes")),
            ("on", json!("on")),
            ("0", json!(0)),
            ("42", json!(42)),
            ("-17", json!(-17)),
            ("+8", json!(8)),
            ("0x1F", json!(31)),
            ("0o17", json!(15)),
            ("0xZZ", json!("0xZZ")),
            ("18446744073709551615", json!(18_446_744_073_709_551_615_u64)),
            ("1.5", json!(1.5)),
            ("-0.25", json!(-0.25)),
            (".5", json!(0.5)),
            ("5.", json!(5.0)),
            ("1e3", json!(1000.0)),
            ("6.02E+23", json!(6.02e23)),
            (".inf", json!(".inf")),
            ("-.Inf", json!("-.Inf")),
            (".nan", json!(".nan")),
            ("1e999", json!("1e999")),
            ("1_000", json!("1_000")),
            ("1.2.3", json!("1.2.3")),
            ("v1", json!("v1")),
            ("3:4", json!("3:4")),
            ("'42'", json!("42")),
            ("\"true\"", json!("true")),
            ("'null'", json!("null")),
            ("!!str 42", json!("42")),
            ("!!str true", json!("true")),
            ("!custom 42", json!(42)),
            ("\"\"", json!("")),
        ];
        for (src, want) in cases {
            let d = one(&format!("v: {src}\n"));
            assert_eq!(&d.value["v"], want, "scalar {src:?}");
        }
        let block = one("a: |\n  42\nb: >\n  true\n");
        assert_eq!(block.value, json!({"a": "42\n", "b": "true\n"}));
    }

    #[test]
    fn keys_are_strings_and_duplicates_last_wins() {
        let d = one("1: one\ntrue: yes\n~: n\n? [a, b]\n: seq\n? {k: v}\n: map\ndup: {x: 1}\ndup: {y: 2}\n");
        assert_eq!(d.value["1"], "one");
        assert_eq!(d.value["true"], "yes");
        assert_eq!(d.value["~"], "n");
        assert_eq!(d.value["[\"a\",\"b\"]"], "seq");
        assert_eq!(d.value["{\"k\":\"v\"}"], "map");
        assert_eq!(d.value["dup"], json!({"y": 2}));
        assert_eq!(d.pos("/dup"), p(9, 1));
        assert_eq!(d.span("/dup/x"), None);
        assert_eq!(d.pos("/dup/y"), p(9, 7));
    }

    #[test]
    fn pointer_escaping() {
        assert_eq!(pointer_token("plain"), "plain");
        assert!(matches!(pointer_token("plain"), Cow::Borrowed(_)));
        assert_eq!(pointer_token("kubernetes.io/role"), "kubernetes.io~1role");
        assert_eq!(pointer_token("a~b"), "a~0b");
        assert_eq!(pointer_token("~/"), "~0~1");
        assert_eq!(pointer_token("~1"), "~01");
        let d = one("metadata:\n  annotations:\n    kubernetes.io/role: master\n    \"a~/b\": x\n");
        assert_eq!(d.value["metadata"]["annotations"]["kubernetes.io/role"], "master");
        let ptr = format!("/metadata/annotations/{}", pointer_token("kubernetes.io/role"));
        assert_eq!(d.pos(&ptr), p(3, 5));
        assert_eq!(d.value.pointer(&ptr), Some(&json!("master")));
        let ptr = format!("/metadata/annotations/{}", pointer_token("a~/b"));
        assert_eq!(d.pos(&ptr), p(4, 5));
        assert_eq!(d.value.pointer(&ptr), Some(&json!("x")));
    }

    #[test]
    fn crlf_bom_comments_and_document_markers() {
        let text = "\u{feff}# leading comment\r\napiVersion: v1 # trailing\r\nkind: Pod\r\nspec:\r\n  command:\r\n  - |\r\n    line1\r\n    line2\r\n...\r\n";
        let d = one(text);
        assert_eq!(d.value["kind"], "Pod");
        assert_eq!(d.start_line, 2);
        assert_eq!(d.pos("/apiVersion"), p(2, 1));
        assert_eq!(d.pos("/kind"), p(3, 1));
        assert_eq!(d.value["spec"]["command"][0], "line1\nline2\n");
        assert_eq!(d.span("/spec/command/0").unwrap().value, p(6, 5));

        let bom_first = one("\u{feff}a: 1\n");
        assert_eq!(bom_first.pos("/a"), p(1, 1));

        // Only comments, empty documents, explicit ends.
        assert!(parse_documents("# nothing here\n# at all\n").unwrap().is_empty());
        assert!(parse_documents("").unwrap().is_empty());
        assert!(parse_documents("---\n---\n...\n").unwrap().is_empty());
        let docs = parse_documents("---\n# only a comment\n---\na: 1\n...\n---\nb: 2\n---\n").unwrap();
        assert_eq!(docs.len(), 2);
        assert_eq!(docs[0].start_line, 3);
        assert_eq!(docs[0].pos("/a"), p(4, 1));
        assert_eq!(docs[1].start_line, 6);
        assert_eq!(docs[1].pos("/b"), p(7, 1));
        let implicit = parse_documents("a: 1\n...\n# c\nb: 2\n").unwrap();
        assert_eq!(implicit.len(), 2);
        assert_eq!(implicit[1].start_line, 4);
    }

    #[test]
    fn flow_collections_and_multiline_strings() {
        let text = "\
args: [\"--runtime\", docker, {k: v}]
env: {A: 1,
  B: \"two\"}
msg: this is
  a folded plain
  scalar
quoted: \"line one\\n\\tline two \\u00e9\"
single: 'it''s
  continued'
unicode: \"héllo wörld\"
after: ok
";
        let d = one(text);
        assert_eq!(d.value["args"], json!(["--runtime", "docker", {"k": "v"}]));
        assert_eq!(d.value["env"], json!({"A": 1, "B": "two"}));
        assert_eq!(d.value["msg"], "this is a folded plain scalar");
        assert_eq!(d.value["quoted"], "line one\n\tline two é");
        assert_eq!(d.value["single"], "it's continued");
        assert_eq!(d.pos("/args/1"), p(1, 21));
        assert_eq!(d.pos("/args/2/k"), p(1, 30));
        assert_eq!(d.pos("/env/B"), p(3, 3));
        assert_eq!(d.pos("/after"), p(11, 1));
        // Columns count characters, not bytes.
        let u = one("ключ: {a: 1, é: 2}\n");
        assert_eq!(u.pos("/ключ/é"), p(1, 14));
    }

    #[test]
    fn random_and_mutated_inputs_never_panic() {
        let mut rng = crate::parse::testutil::XorShift::new(0x9E37_79B9_7F4A_7C15);
        let alphabet: Vec<char> =
            ":-?[]{},&*!|>'\"#%@` \t\n\r\\~<=.0123456789abcxyzé\u{feff}\u{85}\u{2028}".chars().collect();
        let seeds: Vec<Vec<char>> = [STREAM, "a: &x {b: [1, *x]}\n<<: *x\n", "k: |\n  v\n- >\n x\n"]
            .iter()
            .map(|s| s.chars().collect())
            .collect();
        for round in 0..300 {
            let text: String = if round % 3 == 0 {
                (0..rng.below(200)).map(|_| alphabet[rng.below(alphabet.len())]).collect()
            } else {
                let mut chars = seeds[rng.below(seeds.len())].clone();
                for _ in 0..=rng.below(8) {
                    let at = rng.below(chars.len() + 1);
                    match rng.below(3) {
                        0 if at < chars.len() => {
                            chars.remove(at);
                        }
                        1 if at < chars.len() => chars[at] = alphabet[rng.below(alphabet.len())],
                        _ => chars.insert(at, alphabet[rng.below(alphabet.len())]),
                    }
                }
                chars.into_iter().collect()
            };
            if let Ok(docs) = parse_documents(&text) {
                for d in &docs {
                    let _ = d.pos("/spec/template/spec/volumes/1/hostPath/path");
                    let _ = d.pos("");
                }
            }
        }
    }
}
