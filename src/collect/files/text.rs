//! Text helpers shared by the line-oriented analysers (scripts, unit files, env files, CI files,
//! Jenkinsfiles). Place in the pipeline: small pure functions an analyser uses to turn one text into
//! positioned pieces; no I/O and no rule logic.
//!
//! The central type is [`PosText`]: a string whose every character remembers the 1-based line and
//! column it came from in the file. Analysers build one when the text they hand to a parser is not a
//! verbatim slice of the file (a quoted Groovy string with escapes, a YAML block scalar without its
//! indentation, a systemd value joined over `\` continuations), and map the parser's positions back
//! through it.

/// A string with the file position (1-based line, column in characters) of each of its characters.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PosText {
    /// The text.
    pub text: String,
    /// One position per character of `text`.
    pub pos: Vec<(u32, u32)>,
}

impl PosText {
    /// A verbatim slice of a file starting at `line`/`column`: positions advance by character and
    /// by line at each `\n`.
    pub fn new(text: &str, line: u32, column: u32) -> PosText {
        let mut out = PosText::default();
        let (mut l, mut c) = (line, column);
        for ch in text.chars() {
            out.push(ch, (l, c));
            if ch == '\n' {
                l = l.saturating_add(1);
                c = 1;
            } else {
                c = c.saturating_add(1);
            }
        }
        out
    }

    /// Appends one character found at `at`.
    pub fn push(&mut self, ch: char, at: (u32, u32)) {
        self.text.push(ch);
        self.pos.push(at);
    }

    /// Number of characters.
    pub fn len(&self) -> usize {
        self.pos.len()
    }

    /// Whether the text is empty.
    pub fn is_empty(&self) -> bool {
        self.pos.is_empty()
    }

    /// The file position of the first character (`(1, 1)` when empty).
    pub fn start(&self) -> (u32, u32) {
        self.pos.first().copied().unwrap_or((1, 1))
    }

    /// The file position of the character at a 1-based `line` and `column` of `self.text` (as a
    /// parser of `self.text` reports it). Out-of-range positions clamp to the nearest character.
    /// For many look-ups in one text, build a [`Locator`] once.
    pub fn at(&self, line: u32, column: u32) -> (u32, u32) {
        self.locator().at(line, column)
    }

    /// An index of the line starts, for repeated [`Locator::at`] look-ups.
    pub fn locator(&self) -> Locator<'_> {
        let mut starts = vec![0usize];
        for (i, ch) in self.text.chars().enumerate() {
            if ch == '\n' {
                starts.push(i + 1);
            }
        }
        Locator { text: self, starts }
    }

    /// The characters `start..end` (character indexes, clamped).
    pub fn slice(&self, start: usize, end: usize) -> PosText {
        let end = end.min(self.pos.len());
        let start = start.min(end);
        PosText { text: self.text.chars().skip(start).take(end - start).collect(), pos: self.pos[start..end].to_vec() }
    }

    /// The text without leading and trailing whitespace.
    pub fn trim(&self) -> PosText {
        let chars: Vec<char> = self.text.chars().collect();
        let start = chars.iter().position(|c| !c.is_whitespace()).unwrap_or(chars.len());
        let end = chars.iter().rposition(|c| !c.is_whitespace()).map_or(start, |i| i + 1);
        self.slice(start, end)
    }

    /// Pieces separated by whitespace, with no quote handling (how systemd splits an unbraced
    /// `$VAR` and how a shell splits an unquoted expansion).
    pub fn split_whitespace(&self) -> Vec<PosText> {
        let mut out = Vec::new();
        let mut cur = PosText::default();
        for (ch, at) in self.text.chars().zip(self.pos.iter().copied()) {
            if ch.is_whitespace() {
                if !cur.is_empty() {
                    out.push(std::mem::take(&mut cur));
                }
            } else {
                cur.push(ch, at);
            }
        }
        if !cur.is_empty() {
            out.push(cur);
        }
        out
    }

    /// Shell-like words: whitespace separates words; single quotes keep everything literal; double
    /// quotes keep whitespace and honour `\"`, `\\`, `\$` and `` \` ``; an unquoted backslash escapes
    /// the next character; backslash-newline is a line continuation. Quotes are removed; each
    /// remaining character keeps its file position. An unterminated quote runs to the end.
    pub fn words(&self) -> Vec<PosText> {
        let chars: Vec<(char, (u32, u32))> = self.text.chars().zip(self.pos.iter().copied()).collect();
        let mut out = Vec::new();
        let mut cur = PosText::default();
        let mut in_word = false;
        let mut i = 0;
        while i < chars.len() {
            let (ch, at) = chars[i];
            match ch {
                c if c.is_whitespace() => {
                    if in_word {
                        out.push(std::mem::take(&mut cur));
                        in_word = false;
                    }
                    i += 1;
                }
                '\\' => {
                    match chars.get(i + 1) {
                        Some(('\n', _)) => {}
                        Some(&(next, nat)) => {
                            cur.push(next, nat);
                            in_word = true;
                        }
                        None => {
                            cur.push('\\', at);
                            in_word = true;
                        }
                    }
                    i += 2;
                }
                '\'' => {
                    in_word = true;
                    i += 1;
                    while i < chars.len() && chars[i].0 != '\'' {
                        cur.push(chars[i].0, chars[i].1);
                        i += 1;
                    }
                    i += 1;
                }
                '"' => {
                    in_word = true;
                    i += 1;
                    while i < chars.len() && chars[i].0 != '"' {
                        let (c, cat) = chars[i];
                        if c == '\\' {
                            match chars.get(i + 1) {
                                Some(('\n', _)) => {
                                    i += 2;
                                    continue;
                                }
                                Some(&(next, nat)) if matches!(next, '"' | '\\' | '$' | '`') => {
                                    cur.push(next, nat);
                                    i += 2;
                                    continue;
                                }
                                _ => {}
                            }
                        }
                        cur.push(c, cat);
                        i += 1;
                    }
                    i += 1;
                }
                _ => {
                    cur.push(ch, at);
                    in_word = true;
                    i += 1;
                }
            }
        }
        if in_word {
            out.push(cur);
        }
        out
    }
}

/// Line starts of a [`PosText`], to map a parser's line and column back to the file.
#[derive(Debug)]
pub struct Locator<'t> {
    text: &'t PosText,
    /// Character index where each line of `text.text` starts.
    starts: Vec<usize>,
}

impl Locator<'_> {
    /// The character index of a 1-based line and column of the text (clamped to the line, then to
    /// the text); `None` for an empty text.
    pub fn index(&self, line: u32, column: u32) -> Option<usize> {
        let len = self.text.pos.len();
        if len == 0 {
            return None;
        }
        let l = (line.max(1) as usize).min(self.starts.len()) - 1;
        let start = self.starts[l];
        let line_end = self.starts.get(l + 1).map_or(len, |next| next.saturating_sub(1));
        let i = start + column.max(1) as usize - 1;
        Some(i.min(line_end.max(start)).min(len - 1))
    }

    /// The file position of a 1-based line and column of the text (`(1, 1)` for an empty text).
    pub fn at(&self, line: u32, column: u32) -> (u32, u32) {
        self.index(line, column).map_or((1, 1), |i| self.text.pos[i])
    }
}

/// Byte offset of a 1-based line and character column in `text`, if it exists.
pub fn offset_of(text: &str, line: u32, column: u32) -> Option<usize> {
    let mut start = 0usize;
    for _ in 1..line.max(1) {
        start += text.get(start..)?.find('\n')? + 1;
    }
    let rest = text.get(start..)?;
    let mut col = 1u32;
    for (i, ch) in rest.char_indices() {
        if col == column.max(1) {
            return Some(start + i);
        }
        if ch == '\n' {
            return None;
        }
        col += 1;
    }
    (col == column.max(1)).then_some(text.len())
}

/// Maps a decoded string back onto the raw file text it was decoded from (a YAML scalar, a quoted
/// string), starting at `line`/`column` of `file`: characters that agree are paired; whitespace and
/// line breaks the decoding removed (indentation, folding) are skipped; where they disagree (escapes)
/// both sides advance. The result has `decoded` as text and a file position for each character.
pub fn align(decoded: &str, file: &str, line: u32, column: u32) -> PosText {
    let raw = match offset_of(file, line, column) {
        Some(off) => PosText::new(file.get(off..).unwrap_or(""), line, column),
        None => PosText::default(),
    };
    let src: Vec<(char, (u32, u32))> = raw.text.chars().zip(raw.pos.iter().copied()).collect();
    let mut out = PosText::default();
    let mut j = 0usize;
    let fallback = (line, column);
    for d in decoded.chars() {
        // Skip raw whitespace the decoder dropped (indentation, the break of a folded line).
        while j < src.len() && src[j].0 != d && src[j].0.is_whitespace() {
            j += 1;
        }
        let at = src.get(j).map(|s| s.1).or_else(|| src.last().map(|s| s.1)).unwrap_or(fallback);
        out.push(d, at);
        if j < src.len() && (src[j].0 == d || !d.is_whitespace()) {
            j += 1;
        }
    }
    out
}

/// Blanks Groovy comments (`// ...` to the end of the line and `/* ... */`) outside string
/// literals, replacing each of their characters by a space so lines and columns do not move.
/// Strings (`'...'`, `"..."`, `'''...'''`, `"""..."""`, including `${...}` interpolations with
/// nested strings) are kept as they are.
pub fn mask_groovy_comments(text: &str) -> String {
    #[derive(Clone, Copy, PartialEq)]
    enum St {
        Code,
        Line,
        Block,
        Single,
        Double,
        TripleSingle,
        TripleDouble,
    }
    let chars: Vec<char> = text.chars().collect();
    let mut out = String::with_capacity(text.len());
    // Stack of states to return to: entering `${` inside a GString pushes the string state and
    // tracks the brace depth of the interpolated code.
    let mut stack: Vec<(St, u32)> = Vec::new();
    let mut depth: u32 = 0;
    let mut st = St::Code;
    let mut i = 0;
    let starts = |i: usize, pat: &str| pat.chars().enumerate().all(|(k, p)| chars.get(i + k) == Some(&p));
    while i < chars.len() {
        let c = chars[i];
        match st {
            St::Code => {
                if starts(i, "//") {
                    st = St::Line;
                    out.push_str("  ");
                    i += 2;
                    continue;
                }
                if starts(i, "/*") {
                    st = St::Block;
                    out.push_str("  ");
                    i += 2;
                    continue;
                }
                if starts(i, "'''") {
                    st = St::TripleSingle;
                    out.push_str("'''");
                    i += 3;
                    continue;
                }
                if starts(i, "\"\"\"") {
                    st = St::TripleDouble;
                    out.push_str("\"\"\"");
                    i += 3;
                    continue;
                }
                match c {
                    '\'' => st = St::Single,
                    '"' => st = St::Double,
                    '{' if !stack.is_empty() => depth += 1,
                    '}' if !stack.is_empty() => {
                        if depth == 0 {
                            if let Some((back, d)) = stack.pop() {
                                st = back;
                                depth = d;
                            }
                        } else {
                            depth -= 1;
                        }
                    }
                    _ => {}
                }
                out.push(c);
                i += 1;
            }
            St::Line => {
                if c == '\n' {
                    st = St::Code;
                    out.push('\n');
                } else if c == '\r' {
                    out.push('\r');
                } else {
                    out.push(' ');
                }
                i += 1;
            }
            St::Block => {
                if starts(i, "*/") {
                    st = St::Code;
                    out.push_str("  ");
                    i += 2;
                    continue;
                }
                out.push(if c == '\n' || c == '\r' { c } else { ' ' });
                i += 1;
            }
            St::Single | St::Double | St::TripleSingle | St::TripleDouble => {
                if c == '\\' {
                    out.push(c);
                    if let Some(&n) = chars.get(i + 1) {
                        out.push(n);
                    }
                    i += 2;
                    continue;
                }
                let (close, triple) = match st {
                    St::Single => ("'", false),
                    St::Double => ("\"", false),
                    St::TripleSingle => ("'''", true),
                    _ => ("\"\"\"", true),
                };
                if starts(i, close) {
                    out.push_str(close);
                    i += close.len();
                    st = St::Code;
                    continue;
                }
                if c == '\n' && !triple {
                    // An unterminated one-line string: give up on it at the end of the line.
                    st = St::Code;
                }
                if (st == St::Double || st == St::TripleDouble) && starts(i, "${") && stack.len() < 64 {
                    stack.push((st, depth));
                    depth = 0;
                    st = St::Code;
                    out.push_str("${");
                    i += 2;
                    continue;
                }
                out.push(c);
                i += 1;
            }
        }
    }
    out
}

/// Removes the indentation common to all non-blank lines, keeping every line (so line numbers stay
/// the same). A first line that holds text right after an opening quote is left out of the
/// computation and kept as it is.
pub fn strip_common_indent(text: &str) -> String {
    let lines: Vec<&str> = text.split('\n').collect();
    let first_inline = lines.first().is_some_and(|l| !l.trim().is_empty() && !l.starts_with([' ', '\t']));
    let skip = usize::from(first_inline);
    let indent = lines
        .iter()
        .skip(skip)
        .filter(|l| !l.trim().is_empty())
        .map(|l| l.chars().take_while(|c| *c == ' ' || *c == '\t').count())
        .min()
        .unwrap_or(0);
    let mut out = String::with_capacity(text.len());
    for (n, l) in lines.iter().enumerate() {
        if n > 0 {
            out.push('\n');
        }
        if n < skip || l.trim().is_empty() {
            out.push_str(if l.trim().is_empty() { "" } else { l });
        } else {
            out.extend(l.chars().skip(indent));
        }
    }
    out
}

/// Number of leading spaces and tabs.
pub fn indent_of(line: &str) -> usize {
    line.chars().take_while(|c| *c == ' ' || *c == '\t').count()
}

/// The last component of a `/`-separated path.
pub fn file_name(path: &str) -> &str {
    let p = path.trim_end_matches('/');
    p.rsplit(['/', '\\']).next().unwrap_or(p)
}

/// A Docker-in-Docker image reference: `docker:*dind*`, `registry/docker:*dind*`, `*/dind`.
pub fn is_dind_image(image: &str) -> bool {
    let lower = image.trim().to_ascii_lowercase();
    match crate::evidence::workload::split_image(&lower) {
        Some((name, tag)) => {
            let docker = name == "docker" || name.ends_with("/docker");
            (docker && tag.is_some_and(|t| t.contains("dind")))
                || name.ends_with("/dind")
                || name.ends_with("docker-dind")
        }
        None => false,
    }
}

/// The text with every `{{ ... }}` template action replaced by spaces (newlines kept), so
/// lines and byte offsets stay those of the file and an action inside a JSON string stays a string.
pub fn mask_template_actions(text: &str) -> String {
    let mut bytes = text.as_bytes().to_vec();
    let mut pos = 0;
    while let Some(found) = text[pos..].find("{{") {
        let start = pos + found;
        let Some(len) = text[start + 2..].find("}}") else { break };
        let end = start + 2 + len + 2;
        for b in &mut bytes[start..end] {
            if *b != b'\n' {
                *b = b' ';
            }
        }
        pos = end;
    }
    String::from_utf8(bytes).unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned())
}

/// Whether `path` names a Terraform template file: `templatefile()` reads `.tftpl` files, and
/// `.tpl` by older convention. Their `${…}` interpolations can make YAML invalid until rendered.
pub fn is_terraform_template(path: &str) -> bool {
    let name = path.rsplit('/').next().unwrap_or(path).to_ascii_lowercase();
    name.ends_with(".tftpl") || name.ends_with(".tpl")
}

/// Whether a file outside a Helm chart holds template syntax that rendering replaces: Go and
/// Jinja `{{ }}`, Jinja `{% %}`, Terraform `%{ }` directives, and in Terraform template files
/// `${…}` interpolations.
pub fn has_template_syntax(path: &str, text: &str) -> bool {
    text.contains("{{")
        || text.contains("{%")
        || text.contains("%{")
        || (is_terraform_template(path) && text.contains("${"))
}

/// The text with the template syntax [`has_template_syntax`] finds blanked, lines and columns
/// kept: statements, comments and directives become spaces, `{{ }}` actions spaces, and in
/// Terraform template files `${…}` interpolations a placeholder scalar.
pub fn mask_template(path: &str, text: &str) -> String {
    let masked = mask_template_actions(&mask_template_directives(text));
    if is_terraform_template(path) { mask_interpolations(&masked) } else { masked }
}

/// Terraform `${…}` interpolations (to the first `}`) replaced by as many `x`s: a plain scalar
/// where a value was, so `addresses: [${dns}]` and `${interface}:` stay valid YAML. `$${` is
/// Terraform's literal `${` and stays; an interpolation left open at the end stays too.
pub fn mask_interpolations(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(i) = rest.find("${") {
        let escaped = i > 0 && rest.as_bytes()[i - 1] == b'$';
        let close = rest[i + 2..].find('}');
        match close {
            Some(len) if !escaped => {
                let end = i + 2 + len + 1;
                out.push_str(&rest[..i]);
                out.extend(rest[i..end].chars().map(|c| if c == '\n' { '\n' } else { 'x' }));
                rest = &rest[end..];
            }
            Some(_) => {
                out.push_str(&rest[..i + 2]);
                rest = &rest[i + 2..];
            }
            None => break,
        }
    }
    out.push_str(rest);
    out
}

/// The text with Jinja `{% … %}` statements, `{# … #}` comments and Terraform `%{ … }` directives
/// replaced by spaces (newlines kept), so lines stay those of the file.
pub fn mask_template_directives(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    loop {
        let next = [rest.find("{%"), rest.find("{#"), rest.find("%{")].into_iter().flatten().min();
        let Some(i) = next else { break };
        let close = match &rest[i..i + 2] {
            "{%" => "%}",
            "{#" => "#}",
            _ => "}",
        };
        let Some(len) = rest[i + 2..].find(close) else { break };
        let end = i + 2 + len + close.len();
        out.push_str(&rest[..i]);
        out.extend(rest[i..end].chars().map(|c| if c == '\n' { '\n' } else { ' ' }));
        rest = &rest[end..];
    }
    out.push_str(rest);
    out
}

/// Parses `A=true,B=false` into pairs.
pub fn parse_gate_list(text: &str) -> Vec<(String, String)> {
    text.trim_matches(|c| c == '"' || c == '\'')
        .split(',')
        .filter_map(|kv| {
            let kv = kv.trim();
            if kv.is_empty() {
                return None;
            }
            let (k, v) = kv.split_once('=').unwrap_or((kv, "true"));
            Some((k.trim().to_string(), v.trim().to_string()))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn terraform_interpolations_become_scalars_of_the_same_width() {
        let text = "fqdn: ${host}.${domain}\nservers: [${ntp}]\n${iface}:\nliteral: $${HOME}\nopen: ${x";
        assert_eq!(
            mask_interpolations(text),
            "fqdn: xxxxxxx.xxxxxxxxx\nservers: [xxxxxx]\nxxxxxxxx:\nliteral: $${HOME}\nopen: ${x"
        );
        assert!(crate::parse::yaml::check_syntax(&mask_template("t/ci.yaml.tftpl", "a: [${b}]\n")).is_ok());
        // Only Terraform template files: `${VAR}` elsewhere is an envsubst placeholder or shell.
        assert!(has_template_syntax("cloud-init.tpl", "a: [${b}]") && has_template_syntax("x.TFTPL", "${b}"));
        assert!(!has_template_syntax("deploy.yaml", "image: ${IMAGE}"));
        assert_eq!(mask_template("deploy.yaml", "a: [${b}]"), "a: [${b}]");
    }

    #[test]
    fn postext_maps_lines_and_columns() {
        let t = PosText::new("ab\ncd", 10, 5);
        assert_eq!(t.at(1, 1), (10, 5));
        assert_eq!(t.at(1, 2), (10, 6));
        assert_eq!(t.at(2, 2), (11, 2));
        assert_eq!(t.at(9, 9), (11, 2));
        assert_eq!(PosText::default().at(1, 1), (1, 1));
    }

    #[test]
    fn words_unquote_and_keep_positions() {
        let t = PosText::new("KUBELET_EXTRA_ARGS=\"--a=b --c d\" x\\ y 'q r'", 3, 1);
        let w = t.words();
        let texts: Vec<&str> = w.iter().map(|w| w.text.as_str()).collect();
        assert_eq!(texts, ["KUBELET_EXTRA_ARGS=--a=b --c d", "x y", "q r"]);
        let inner = w[0].slice(19, w[0].len()).split_whitespace();
        assert_eq!(inner.iter().map(|w| w.text.as_str()).collect::<Vec<_>>(), ["--a=b", "--c", "d"]);
        assert_eq!(inner[0].start(), (3, 21));
        assert_eq!(inner[1].start(), (3, 27));
        // Continuation lines keep their own line numbers.
        let w = PosText::new("kubelet \\\n  --x=1", 1, 1).words();
        assert_eq!(w[1].text, "--x=1");
        assert_eq!(w[1].start(), (2, 3));
        // Unterminated quotes do not panic.
        assert_eq!(PosText::new("'abc", 1, 1).words()[0].text, "abc");
        assert_eq!(PosText::new("\"a\\", 1, 1).words()[0].text, "a\\");
        assert_eq!(PosText::new("\\", 1, 1).words()[0].text, "\\");
    }

    #[test]
    fn offsets_and_alignment() {
        let file = "a: 1\nscript:\n  - |\n    docker build .\n    docker push x\n";
        assert_eq!(offset_of(file, 2, 1), Some(5));
        assert_eq!(offset_of(file, 1, 5), Some(4));
        assert_eq!(offset_of(file, 99, 1), None);
        let t = align("docker build .\ndocker push x\n", file, 4, 1);
        assert_eq!(t.at(1, 1), (4, 5));
        assert_eq!(t.at(2, 1), (5, 5));
        assert_eq!(t.at(2, 8), (5, 12));
        // Folded: the decoded text is one line.
        let file = "run: >\n  docker build\n  -t x .\n";
        let t = align("docker build -t x .\n", file, 2, 1);
        assert_eq!(t.at(1, 14), (3, 3));
        assert!(align("x", "", 5, 5).at(1, 1) == (5, 5));
    }

    #[test]
    fn masks_groovy_comments_only_outside_strings() {
        let src = "sh 'docker ps' // docker build\n/* docker\n push */ x = \"a // b\"\ny = '''http://x''' /* c */";
        let masked = mask_groovy_comments(src);
        assert_eq!(masked.lines().count(), src.lines().count());
        assert_eq!(masked.chars().count(), src.chars().count());
        assert!(masked.contains("sh 'docker ps'"));
        assert!(!masked.contains("docker build"));
        assert!(!masked.contains("push"));
        assert!(masked.contains("\"a // b\""));
        assert!(masked.contains("'''http://x'''"));
        assert!(!masked.contains(" c "));
        // Nested strings inside an interpolation do not end the outer string.
        let src = "sh \"echo ${env.X ?: \"a\"} // kept\" // gone";
        let masked = mask_groovy_comments(src);
        assert!(masked.contains("// kept"));
        assert!(!masked.contains("gone"));
        // Unterminated constructs do not panic.
        for s in ["'''abc", "/* abc", "\"${", "'\\", "\"${'}"] {
            let _ = mask_groovy_comments(s);
        }
    }

    #[test]
    fn strips_common_indentation_keeping_lines() {
        assert_eq!(strip_common_indent("\n    a: 1\n      b: 2\n    "), "\na: 1\n  b: 2\n");
        assert_eq!(strip_common_indent("apiVersion: v1\n    kind: Pod\n"), "apiVersion: v1\nkind: Pod\n");
        assert_eq!(file_name("etc/systemd/system/kubelet.service.d/10-kubeadm.conf"), "10-kubeadm.conf");
        assert_eq!(indent_of("  \tx"), 3);
    }

    #[test]
    fn recognises_dind_images() {
        assert!(is_dind_image("docker:24-dind"));
        assert!(is_dind_image("docker:dind"));
        assert!(is_dind_image("registry.example.com/docker:20.10-dind-rootless"));
        assert!(!is_dind_image("docker:24"));
        assert!(!is_dind_image("postgres:15"));
        assert!(!is_dind_image(""));
    }
}
