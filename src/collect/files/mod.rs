//! File analysers: one text of a known kind in, records out. Shared by the repository walker, the
//! node scanner and the cluster collector (for configuration held in ConfigMaps), so a file is
//! checked the same way wherever it is found. Pure: the caller reads the file.

pub mod ansible;
pub mod config;
pub mod declared;
pub mod embedded;
pub mod fluent;
pub mod helm;
pub mod jenkins;
pub mod manifest;
pub mod metrics;
pub mod node_config;
pub mod scripts;
pub mod text;

use crate::evidence::{Evidence, Gap, Location, ObjectRef, Record, Subject};

/// A text to analyse and where it comes from.
#[derive(Debug, Clone)]
pub struct Source<'a> {
    /// Display path (repository-relative, or the absolute path on the node).
    pub path: &'a str,
    /// Detected kind (one of [`crate::evidence::file_kind::ALL`]).
    pub kind: &'static str,
    /// The text.
    pub text: &'a str,
    /// Lines before `text` starts in the file (for content embedded in another file).
    pub line_offset: u32,
    /// Node the file was read from.
    pub node: Option<&'a str>,
    /// Node pool of `node`.
    pub pool: Option<&'a str>,
    /// Object holding the text (a ConfigMap in the cluster), if any.
    pub object: Option<ObjectRef>,
    /// True when the text comes from the API (no file lines to point at).
    pub from_cluster: bool,
    /// How many files deep this text is embedded (a heredoc in a script: 1; a script written by
    /// cloud-init that writes a unit with a heredoc: 2). Bounded by [`embedded::MAX_DEPTH`].
    pub depth: u8,
    /// The path a body embedded in this file is written to (`/etc/systemd/system/kubelet.service`
    /// for a heredoc `cat > /etc/systemd/system/kubelet.service`), which names the unit, the env file
    /// or the crontab instead of the outer file's path.
    pub written_to: Option<&'a str>,
}

impl<'a> Source<'a> {
    /// A plain file.
    pub fn file(path: &'a str, kind: &'static str, text: &'a str) -> Source<'a> {
        Source {
            path,
            kind,
            text,
            line_offset: 0,
            node: None,
            pool: None,
            object: None,
            from_cluster: false,
            depth: 0,
            written_to: None,
        }
    }

    /// The path that names what this text is: where an embedded body is written, else the file.
    pub fn name_path(&self) -> &'a str {
        self.written_to.unwrap_or(self.path)
    }

    /// Content embedded in this source (a block scalar, a Groovy string) starting after `line_offset`
    /// lines of this source's text.
    pub fn embedded(&self, kind: &'static str, text: &'a str, line_offset: u32) -> Source<'a> {
        Source { kind, text, line_offset: self.line_offset + line_offset, object: self.object.clone(), ..*self }
    }

    /// The location of a 1-based line and column of `text`.
    pub fn loc(&self, line: u32, column: u32) -> Location {
        if self.from_cluster {
            return Location {
                object: self.object.clone(),
                node: self.node.map(str::to_string),
                pool: self.pool.map(str::to_string),
                ..Location::default()
            };
        }
        Location {
            path: Some(self.path.to_string()),
            line: Some(line + self.line_offset),
            column: Some(column.max(1)),
            object: self.object.clone(),
            node: self.node.map(str::to_string),
            pool: self.pool.map(str::to_string),
            pods: None,
        }
    }

    /// A record at a 1-based line of `text`, with `file_kind` set and the line as snippet.
    pub fn record(&self, subject: Subject, line: u32, column: u32) -> Record {
        Record::new(subject, self.loc(line, column), self.line(line).trim()).with("file_kind", self.kind)
    }

    /// The text of a 1-based line (empty when out of range).
    pub fn line(&self, line: u32) -> &'a str {
        if line == 0 {
            return "";
        }
        self.text.lines().nth(line as usize - 1).unwrap_or("")
    }

    /// Parses the text as a YAML stream; a parse error becomes a gap naming the line, and `None`.
    pub fn yaml_documents(&self, out: &mut Evidence) -> Option<Vec<crate::parse::yaml::YamlDoc>> {
        match crate::parse::yaml::parse_documents(self.text) {
            Ok(docs) => Some(docs),
            Err(e) => {
                out.gaps.push(self.gap(Some(e.line), format!("invalid YAML: {}", e.message)));
                None
            }
        }
    }

    /// A gap for this source.
    pub fn gap(&self, line: Option<u32>, reason: impl Into<String>) -> Gap {
        let mut source = match &self.object {
            Some(o) if self.from_cluster => format!("{o} ({})", self.path),
            _ => self.path.to_string(),
        };
        if let (Some(l), false) = (line, self.from_cluster) {
            source.push_str(&format!(":{}", l + self.line_offset));
        }
        if let Some(node) = self.node {
            source = format!("node {node}: {source}");
        }
        Gap { source, reason: reason.into(), missing_permission: None, node: self.node.map(str::to_string) }
    }
}

/// Analyses one source of a known kind, appending records and gaps to `out`.
pub fn analyze(src: &Source<'_>, out: &mut Evidence) {
    match src.kind {
        "k8s-manifest"
        | "kubeadm-config"
        | "kubelet-config"
        | "prometheus-rule"
        | "installer-kubekey"
        | "installer-kubespray"
        | "installer-rke"
        | "promtail"
        | "filebeat"
        | "crictl-config" => manifest::analyze(src, out),
        "helm-values" => helm::analyze_values(src, out),
        "helm-template" => helm::analyze_template(src, None, out),
        "jenkinsfile" => jenkins::analyze(src, out),
        "shell" | "cron" | "systemd-unit" | "kubelet-env" => scripts::analyze(src, out),
        "gitlab-ci" | "github-workflow" => scripts::analyze_ci(src, out),
        "gitlab-runner-config" => config::analyze_toml(src, out),
        "containerd-config" => node_config::analyze_containerd(src, out),
        "docker-daemon-json" => config::analyze_daemon_json(src, out),
        "kernel-modules" | "sysctl" => node_config::analyze_node_settings(src, out),
        "fluent-bit" => fluent::analyze_fluent_bit(src, out),
        "fluentd" => fluent::analyze_fluentd(src, out),
        "grafana-dashboard" => metrics::analyze_dashboard(src, out),
        _ => {}
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

/// Test-only helpers shared by the analysers' test modules.
#[cfg(test)]
pub(crate) mod testutil {
    /// A deterministic xorshift64 generator: the same seed gives the same numbers on every run
    /// (no extra dependencies).
    pub(crate) struct XorShift(u64);

    impl XorShift {
        /// The next number of the sequence.
        pub(crate) fn next(&mut self) -> u64 {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            self.0
        }
    }

    /// Calls `check` on `rounds` pseudo-random texts, each of fewer than `max_len` `pieces` drawn by an
    /// [`XorShift`] seeded with `seed`; a panic in `check` fails the calling test.
    pub(crate) fn for_each_generated_text(
        seed: u64,
        rounds: usize,
        max_len: u64,
        pieces: &[&str],
        mut check: impl FnMut(&str),
    ) {
        let mut rng = XorShift(seed);
        for _ in 0..rounds {
            let len = (rng.next() % max_len) as usize;
            let text: String = (0..len).map(|_| pieces[(rng.next() % pieces.len() as u64) as usize]).collect();
            check(&text);
        }
    }
}
