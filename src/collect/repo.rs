//! The repository walker: finds the files rules read under one or more roots, in parallel and
//! respecting `.gitignore`, reads each once, and hands it to the analyser for its kind.
//!
//! Policy skips (binary, over the size limit, gitignored) are counted; files that cannot be read
//! are gaps. Helm charts are analysed as a unit so templates can resolve `.Values` references.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use rayon::prelude::*;

use super::callgraph;
use super::files::source::Source;
use super::files::{self, helm};
use crate::bounded_read::{self as read, ReadError};
use crate::evidence::file_kind::{self as kinds, FileKind, PathClass, Prefilter, Syntax};
use crate::evidence::{Evidence, Gap, inline_ignore};

/// Options of a repository scan.
#[derive(Debug, Clone)]
pub struct RepoOptions {
    /// Files larger than this are skipped (counted, not a gap).
    pub max_file_size: u64,
    /// Also read files that `.gitignore` excludes.
    pub no_ignore: bool,
    /// Follow symbolic links (loops are detected by the walker and reported).
    pub follow_links: bool,
    /// Also read third-party trees ([`THIRD_PARTY_DIRS`]), skipped by default.
    pub include_third_party: bool,
    /// The directory reported paths are relative to; `None`: [`source_root`] of the first path.
    pub root: Option<PathBuf>,
}

/// Directories that hold other people's code (vendored modules, installed packages, provider
/// caches): their docker commands and manifests are not the audited repository's dependencies,
/// so they are skipped unless asked for, and each skipped tree is listed as skipped on purpose.
pub const THIRD_PARTY_DIRS: &[&str] = &["vendor", "third_party", "node_modules", ".terraform"];

impl Default for RepoOptions {
    fn default() -> Self {
        RepoOptions {
            max_file_size: 8 * 1024 * 1024,
            no_ignore: false,
            follow_links: false,
            include_third_party: false,
            root: None,
        }
    }
}

struct Candidate {
    abs: PathBuf,
    rel: String,
    class: PathClass,
    size: u64,
    /// Named on the command line or reached through a followed link: read through links.
    follow: bool,
}

/// The directory reported paths are relative to, for a scan whose first path is `first`: the git
/// top level containing it (the nearest ancestor holding `.git`, a directory or a worktree's
/// file), else the working directory when it contains `first`, else `first` itself (its folder
/// for a file). Canonical, so every scanned path can be expressed against it.
pub fn source_root(first: &Path) -> PathBuf {
    let abs = std::fs::canonicalize(first).unwrap_or_else(|_| first.to_path_buf());
    let start = if abs.is_file() { abs.parent().map(Path::to_path_buf).unwrap_or_default() } else { abs };
    if let Some(top) = start.ancestors().find(|a| a.join(".git").exists()) {
        return top.to_path_buf();
    }
    match std::env::current_dir().and_then(std::fs::canonicalize) {
        Ok(cwd) if start.starts_with(&cwd) => cwd,
        _ => start,
    }
}

/// How `path` is shown: relative to `base` (`/`-separated) when under it, else absolute.
fn relative_to(base: &Path, path: &Path) -> String {
    let abs = std::fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf());
    match abs.strip_prefix(base) {
        Ok(_) => slash_rel(base, &abs),
        Err(_) if cfg!(windows) => abs.to_string_lossy().replace('\\', "/"),
        Err(_) => abs.to_string_lossy().into_owned(),
    }
}

/// Scans `roots`. Paths in findings are relative to [`source_root`] of the first root, so one
/// file has one path (and one fingerprint) whichever part of the repository was scanned.
pub fn scan(roots: &[PathBuf], opts: &RepoOptions, prefilters: &dyn Prefilter) -> Evidence {
    let mut evidence = Evidence::default();
    let base = match &opts.root {
        Some(r) => std::fs::canonicalize(r).unwrap_or_else(|_| r.clone()),
        None => roots.first().map(|r| source_root(r)).unwrap_or_default(),
    };
    for root in roots {
        let prefix = Some(relative_to(&base, root)).filter(|p| !p.is_empty());
        let meta = match std::fs::metadata(root) {
            Ok(m) => m,
            Err(e) => {
                let reason = if e.kind() == std::io::ErrorKind::NotFound {
                    "no such file or directory".to_string()
                } else {
                    format!("cannot read: {e}")
                };
                evidence.gaps.push(Gap { source: root.display().to_string(), reason, ..Gap::default() });
                continue;
            }
        };
        if !meta.is_dir() {
            evidence.count("files_seen", 1);
            let rel = if meta.is_file() { relative_to(&base, root) } else { root.display().to_string() };
            evidence.merge(scan_named_file(root, &rel, meta.is_file(), opts, prefilters));
            continue;
        }
        evidence.merge(scan_root(root, prefix.as_deref(), opts, prefilters));
    }
    callgraph::apply(&mut evidence, Vec::new());
    nothing_to_audit(&mut evidence);
    bound_skipped(&mut evidence.skipped);
    evidence
}

/// A scan that analysed no file at all saw nothing it could judge: that is a gap (exit 3), never
/// a clean READY.
fn nothing_to_audit(ev: &mut Evidence) {
    let analysed = ev.counts.get("files_analyzed").copied().unwrap_or(0);
    if analysed == 0 && ev.gaps.is_empty() {
        let seen = ev.counts.get("files_seen").copied().unwrap_or(0);
        ev.gaps.push(Gap {
            source: "scanned paths".into(),
            reason: format!(
                "nothing to audit: {seen} file{} seen, none of a kind the rules read (manifests, charts, \
                 pipelines, scripts, node and installer configs)",
                if seen == 1 { "" } else { "s" }
            ),
            ..Gap::default()
        });
    }
}

/// Keeps the coverage section readable on large trees: at most [`MAX_SKIPPED_LISTED`] files per
/// reason are named (sorted), then one entry says how many more share that reason.
fn bound_skipped(skipped: &mut Vec<Gap>) {
    let mut by_reason: BTreeMap<String, Vec<Gap>> = BTreeMap::new();
    for g in skipped.drain(..) {
        by_reason.entry(g.reason.clone()).or_default().push(g);
    }
    for (reason, mut list) in by_reason {
        list.sort();
        let more = list.len().saturating_sub(MAX_SKIPPED_LISTED);
        list.truncate(MAX_SKIPPED_LISTED);
        skipped.extend(list);
        if more > 0 {
            skipped.push(Gap { source: format!("... and {more} more"), reason, ..Gap::default() });
        }
    }
}

/// A file named on the command line. A regular file is read like any other; anything else (a
/// FIFO, `/dev/stdin`, a process substitution such as `<(cat pod.yaml)`) is read as a stream up to
/// the size cap. A stream whose name says nothing is recognised by its content; one that still
/// cannot be recognised, or that could not be read, is a gap: a run never reads nothing and looks
/// clean.
fn scan_named_file(path: &Path, rel: &str, regular: bool, opts: &RepoOptions, prefilters: &dyn Prefilter) -> Evidence {
    let rel = rel.to_string();
    let name = path.file_name().map(|n| n.to_string_lossy().to_string()).unwrap_or_default();
    let mut class = kinds::classify_path(&name, None);
    if regular {
        let c = Candidate { abs: path.to_path_buf(), rel, class, size: 0, follow: true };
        return analyze_file(&c, None, opts, prefilters);
    }
    let mut ev = Evidence::default();
    let gap = |reason: String| Gap { source: path.display().to_string(), reason, ..Gap::default() };
    let bytes = match read::stream(path, opts.max_file_size) {
        Ok(b) => b,
        Err(e) => {
            ev.gaps.push(gap(format!("a stream: {e}")));
            return ev;
        }
    };
    let text = read::decode_text(bytes);
    let lower = name.to_ascii_lowercase();
    if kinds::classify_content(class, &lower, &text).is_none() {
        class = sniff(&text);
    }
    if kinds::classify_content(class, &lower, &text).is_none() {
        ev.gaps.push(gap("a stream whose kind cannot be told from its name or content: not read (save it to a file \
                          named for its kind, such as pod.yaml)"
            .into()));
        return ev;
    }
    ev.count("files_read", 1);
    ev.merge(analyze_text(&rel, class, &text, prefilters));
    ev
}

/// The class of an unnamed text: a Kubernetes manifest, a shell script, or nothing known.
fn sniff(text: &str) -> PathClass {
    if text.starts_with("#!") {
        PathClass::Conf
    } else if (text.lines().any(|l| l.starts_with("apiVersion:")) && text.lines().any(|l| l.starts_with("kind:")))
        || (text.trim_start().starts_with('{') && text.contains("\"apiVersion\""))
    {
        PathClass::Yaml
    } else {
        PathClass::Ignore
    }
}

/// A path relative to `root` with `/` between components. A `\` inside a Unix file name is part of
/// the name and stays a `\`; on Windows it is the separator.
fn slash_rel(root: &Path, path: &Path) -> String {
    let rel = path.strip_prefix(root).unwrap_or(path);
    let parts: Vec<String> = rel.components().map(|c| c.as_os_str().to_string_lossy().into_owned()).collect();
    let joined = parts.join("/");
    if cfg!(windows) { joined.replace('\\', "/") } else { joined }
}

fn display_rel(root: &Path, path: &Path, prefix: Option<&str>) -> String {
    let rel = slash_rel(root, path);
    match prefix {
        Some(p) => format!("{}/{rel}", p.trim_end_matches('/')),
        None => rel,
    }
}

/// Third-party directories the walker left out, shared with its filter.
type SkippedTrees = std::sync::Arc<Mutex<Vec<PathBuf>>>;

fn walker(
    root: &Path,
    opts: &RepoOptions,
    ignore_rules: bool,
    third_party: Option<SkippedTrees>,
) -> ignore::WalkBuilder {
    let mut b = ignore::WalkBuilder::new(root);
    b.hidden(false)
        .git_ignore(ignore_rules)
        .git_exclude(ignore_rules)
        .git_global(false)
        .ignore(ignore_rules)
        .parents(ignore_rules)
        .require_git(false)
        .follow_links(opts.follow_links)
        .filter_entry(move |e| {
            if e.file_name() == ".git" {
                return false;
            }
            let Some(skipped) = &third_party else { return true };
            let is_third_party = e.depth() > 0
                && e.file_type().is_some_and(|t| t.is_dir())
                && e.file_name().to_str().is_some_and(|n| THIRD_PARTY_DIRS.contains(&n));
            if is_third_party {
                skipped.lock().unwrap_or_else(|p| p.into_inner()).push(e.path().to_path_buf());
            }
            !is_third_party
        });
    b
}

/// Longest list of skipped files of one reason kept in the coverage section (the count is exact).
const MAX_SKIPPED_LISTED: usize = 200;

fn scan_root(root: &Path, prefix: Option<&str>, opts: &RepoOptions, prefilters: &dyn Prefilter) -> Evidence {
    let candidates: Mutex<Vec<Candidate>> = Mutex::new(Vec::new());
    let charts: Mutex<Vec<PathBuf>> = Mutex::new(Vec::new());
    let dockerfiles: Mutex<Vec<PathBuf>> = Mutex::new(Vec::new());
    let errors: Mutex<Vec<Gap>> = Mutex::new(Vec::new());
    let walked: Mutex<Vec<PathBuf>> = Mutex::new(Vec::new());
    let special: Mutex<Vec<Gap>> = Mutex::new(Vec::new());
    let ignore_rules = !opts.no_ignore;
    let third_party: Option<SkippedTrees> =
        (!opts.include_third_party).then(|| std::sync::Arc::new(Mutex::new(Vec::new())));
    let consider = |path: &Path, follow: bool, size: u64| {
        if path.file_name().is_some_and(|n| n == "Chart.yaml")
            && let Some(dir) = path.parent()
        {
            charts.lock().unwrap_or_else(|p| p.into_inner()).push(dir.to_path_buf());
        }
        if path.file_name().and_then(|n| n.to_str()).is_some_and(callgraph::is_dockerfile) {
            dockerfiles.lock().unwrap_or_else(|p| p.into_inner()).push(path.to_path_buf());
        }
        let root_rel = display_rel(root, path, None);
        let class = kinds::classify_path(&root_rel, None);
        if class != PathClass::Ignore || root_rel.contains("templates/") || root_rel.contains("values") {
            let rel = display_rel(root, path, prefix);
            candidates.lock().unwrap_or_else(|p| p.into_inner()).push(Candidate {
                abs: path.to_path_buf(),
                rel,
                class,
                size,
                follow,
            });
        }
    };
    walker(root, opts, ignore_rules, third_party.clone()).build_parallel().run(|| {
        Box::new(|entry| {
            match entry {
                Ok(e) => match e.file_type() {
                    Some(t) if t.is_file() => {
                        walked.lock().unwrap_or_else(|p| p.into_inner()).push(e.path().to_path_buf());
                        let size = e.metadata().map(|m| m.len()).unwrap_or(0);
                        consider(e.path(), e.path_is_symlink(), size);
                    }
                    Some(t) if t.is_dir() || t.is_symlink() => {}
                    _ => {
                        // FIFOs, sockets and devices are never opened (reading one could block or
                        // never end); they are listed.
                        let reason = match e.metadata() {
                            Ok(m) => format!("not a regular file ({})", read::kind_name(&m)),
                            Err(_) => "not a regular file".into(),
                        };
                        let source = display_rel(root, e.path(), prefix);
                        special.lock().unwrap_or_else(|p| p.into_inner()).push(Gap {
                            source,
                            reason,
                            ..Gap::default()
                        });
                    }
                },
                Err(err) => errors.lock().unwrap_or_else(|p| p.into_inner()).push(walk_gap(root, &err)),
            }
            ignore::WalkState::Continue
        })
    });
    let mut evidence = Evidence::default();
    evidence.gaps.extend(errors.into_inner().unwrap_or_default());
    if let Some(trees) = &third_party {
        let mut trees = std::mem::take(&mut *trees.lock().unwrap_or_else(|p| p.into_inner()));
        trees.sort();
        if !trees.is_empty() {
            evidence.count("dirs_skipped_third_party", trees.len() as u64);
        }
        for t in trees {
            evidence.skipped.push(Gap {
                source: format!("{}/", display_rel(root, &t, prefix)),
                reason: "third-party tree, skipped by policy (--include-third-party reads it)".into(),
                ..Gap::default()
            });
        }
    }
    let special = special.into_inner().unwrap_or_default();
    if !special.is_empty() {
        evidence.count("files_skipped_not_regular", special.len() as u64);
    }
    evidence.skipped.extend(special);
    let walked: HashSet<PathBuf> = walked.into_inner().unwrap_or_default().into_iter().collect();
    let mut files_seen = walked.len() as u64;
    if ignore_rules {
        // What ignore files (.gitignore, .ignore) hide needs a second walk without them; it runs in
        // parallel too (a serial walk here was a fixed serial phase of every scan). A hidden file
        // that Git tracks is part of the repository and is read; the others are listed.
        let hidden: Mutex<Vec<(PathBuf, u64)>> = Mutex::new(Vec::new());
        walker(root, opts, false, third_party.as_ref().map(|_| SkippedTrees::default())).build_parallel().run(|| {
            Box::new(|entry| {
                if let Ok(e) = entry
                    && e.file_type().is_some_and(|t| t.is_file())
                    && !walked.contains(e.path())
                {
                    let size = e.metadata().map(|m| m.len()).unwrap_or(0);
                    hidden.lock().unwrap_or_else(|p| p.into_inner()).push((e.path().to_path_buf(), size));
                }
                ignore::WalkState::Continue
            })
        });
        let mut hidden = hidden.into_inner().unwrap_or_default();
        hidden.sort();
        let tracked = if hidden.is_empty() { None } else { super::git_index::tracked(root) };
        // Where `root` sits in the work tree, to name hidden files as the index does.
        let base = tracked.as_ref().and_then(|(top, _)| {
            root.canonicalize().ok().and_then(|r| r.strip_prefix(top).ok().map(Path::to_path_buf))
        });
        let mut ignored = 0u64;
        for (path, size) in hidden {
            let is_tracked = match (&tracked, &base) {
                (Some((_, set)), Some(base)) => {
                    let rel = slash_rel(Path::new(""), &base.join(path.strip_prefix(root).unwrap_or(&path)));
                    set.contains(rel.as_bytes())
                }
                _ => false,
            };
            if is_tracked {
                evidence.count("files_ignored_but_tracked", 1);
                files_seen += 1;
                consider(&path, false, size);
            } else {
                ignored += 1;
                evidence.skipped.push(Gap {
                    source: display_rel(root, &path, prefix),
                    reason: "matched by an ignore file (.gitignore, .ignore) and not tracked by Git".into(),
                    ..Gap::default()
                });
            }
        }
        evidence.count("files_ignored", ignored);
    }
    evidence.count("files_seen", files_seen);

    // Group chart files under their chart root (the deepest ancestor holding a Chart.yaml: found
    // by walking up the path's ancestors, so this is linear in files, not files x charts);
    // everything else is analysed alone.
    let chart_roots: HashSet<PathBuf> = charts.into_inner().unwrap_or_default().into_iter().collect();
    let mut by_chart: BTreeMap<PathBuf, Vec<Candidate>> = BTreeMap::new();
    let mut singles = Vec::new();
    for mut c in candidates.into_inner().unwrap_or_default() {
        let chart_root =
            if chart_roots.is_empty() { None } else { c.abs.ancestors().skip(1).find(|a| chart_roots.contains(*a)) };
        match chart_root.map(Path::to_path_buf) {
            Some(chart) => {
                let chart_rel = slash_rel(&chart, &c.abs);
                let root_rel = display_rel(root, &c.abs, None);
                c.class = kinds::classify_path(&root_rel, Some(&chart_rel));
                if c.class != PathClass::Ignore {
                    by_chart.entry(chart).or_default().push(c);
                }
            }
            None if c.class != PathClass::Ignore => singles.push(c),
            None => {}
        }
    }
    let results: Vec<Evidence> = singles
        .par_iter()
        .map(|c| analyze_file(c, None, opts, prefilters))
        .chain(by_chart.par_iter().map(|(_, files)| analyze_chart(files, opts, prefilters)))
        .collect();
    for r in results {
        evidence.merge(r);
    }
    let role_vars_files = |p: &PathBuf| {
        let parent = p.parent().and_then(Path::file_name).and_then(|n| n.to_str());
        matches!(parent, Some("vars" | "defaults"))
            && matches!(p.file_name().and_then(|n| n.to_str()), Some("main.yml" | "main.yaml"))
    };
    if walked.iter().any(role_vars_files) {
        // Package tasks that install a list their role sets in vars/ or defaults/.
        let files: BTreeMap<String, PathBuf> =
            walked.iter().map(|p| (display_rel(root, p, prefix), p.clone())).collect();
        let may_match = |text: &str| prefilters.may_match(FileKind::K8sManifest, text);
        let analyze_tasks = |rel: &str, text: &str| {
            let mut ev = Evidence::default();
            files::analyze(&Source::file(rel, FileKind::K8sManifest, text), &mut ev);
            ev
        };
        super::role_vars::apply(&mut evidence, &files, opts.max_file_size, &may_match, &analyze_tasks);
    }
    if !evidence.template_uses.is_empty() {
        let files: BTreeMap<String, PathBuf> =
            walked.iter().map(|p| (display_rel(root, p, prefix), p.clone())).collect();
        let analyze = |rel: &str, kind: Option<FileKind>, text: &str, written_to: Option<&str>| {
            // The destination's kind, else the template's own (as when it is read unrendered).
            let kind =
                kind.or_else(|| written_to.and_then(|dest| kinds::classify_body(Some(dest), text))).or_else(|| {
                    let name = rel.rsplit('/').next().unwrap_or(rel).to_ascii_lowercase();
                    kinds::classify_content(kinds::classify_path(rel, None), &name, text)
                });
            kind.map(|kind| analyze_kind(rel, kind, text, written_to, prefilters))
        };
        super::rendered::apply(&mut evidence, &files, opts.max_file_size, &analyze);
    }
    // Dockerfiles are read only for the scripts they run (the call graph), not for findings.
    for path in dockerfiles.into_inner().unwrap_or_default() {
        let small = std::fs::metadata(&path).is_ok_and(|m| m.len() <= opts.max_file_size);
        if let Some(text) = small.then(|| std::fs::read_to_string(&path).ok()).flatten() {
            evidence.calls.extend(callgraph::dockerfile_calls(&display_rel(root, &path, prefix), &text));
        }
    }
    evidence
}

fn walk_gap(root: &Path, err: &ignore::Error) -> Gap {
    let text = err.to_string();
    let reason = if text.contains("loop") { format!("symbolic link loop: {text}") } else { text };
    Gap { source: root.display().to_string(), reason, missing_permission: None, node: None }
}

/// Reads a candidate: `None` when skipped by policy (listed in `ev.skipped`) or unreadable (a gap).
fn read(c: &Candidate, opts: &RepoOptions, ev: &mut Evidence) -> Option<String> {
    let skip = |ev: &mut Evidence, counter: &str, reason: String| {
        ev.count(counter, 1);
        ev.skipped.push(Gap { source: c.rel.clone(), reason, ..Gap::default() });
    };
    // The walker reports links it followed by their own path: read what they point to.
    let result = if c.size > opts.max_file_size {
        Err(ReadError::TooLarge(opts.max_file_size))
    } else if c.follow {
        // Named on the command line, or a link the walker followed: read what it points to.
        read::regular(&c.abs.canonicalize().unwrap_or_else(|_| c.abs.clone()), opts.max_file_size)
    } else {
        read::walked_regular(&c.abs, opts.max_file_size)
    };
    let bytes = match result {
        Ok(b) => b,
        Err(ReadError::TooLarge(cap)) => {
            skip(ev, "files_skipped_too_large", format!("larger than {cap} bytes"));
            return None;
        }
        Err(e @ ReadError::NotRegular(_)) => {
            skip(ev, "files_skipped_not_regular", e.to_string());
            return None;
        }
        Err(ReadError::NotFound) => {
            ev.gaps.push(Gap {
                source: c.rel.clone(),
                reason: "cannot read: vanished during the scan".into(),
                ..Gap::default()
            });
            return None;
        }
        Err(e) => {
            ev.gaps.push(Gap { source: c.rel.clone(), reason: e.to_string(), ..Gap::default() });
            return None;
        }
    };
    if read::looks_binary(&bytes) {
        skip(ev, "files_skipped_binary", "binary".into());
        return None;
    }
    ev.count("files_read", 1);
    Some(read::decode_text(bytes))
}

fn analyze_file(
    c: &Candidate,
    _chart: Option<&helm::Values>,
    opts: &RepoOptions,
    prefilters: &dyn Prefilter,
) -> Evidence {
    let mut ev = Evidence::default();
    let Some(text) = read(c, opts, &mut ev) else { return ev };
    ev.merge(analyze_text(&c.rel, c.class, &text, prefilters));
    ev
}

/// Analyses the text of one file (outside a chart) of path class `class`.
fn analyze_text(rel: &str, class: PathClass, text: &str, prefilters: &dyn Prefilter) -> Evidence {
    let mut ev = Evidence::default();
    let name = rel.rsplit('/').next().unwrap_or(rel).to_ascii_lowercase();
    let Some(kind) = kinds::classify_content(class, &name, text) else { return ev };
    ev.count("files_analyzed", 1);
    if kind.is_yaml() {
        files::declared::versions(rel, text, &mut ev);
    }
    // Before the prefilter: a call passing `var.runtime` need not say docker itself.
    ev.template_uses.extend(files::template_uses(rel, kind, text));
    ev.merge(analyze_kind(rel, kind, text, None, prefilters));
    ev
}

/// Analyses a text of a known kind (a file, or a template rendered with its caller's values and
/// written to `written_to`).
fn analyze_kind(
    rel: &str,
    kind: FileKind,
    text: &str,
    written_to: Option<&str>,
    prefilters: &dyn Prefilter,
) -> Evidence {
    let mut ev = Evidence::default();
    let mut src = Source::file(rel, kind, text);
    src.written_to = written_to;
    if !prefilters.may_match(kind, text) {
        if !is_unrendered_template(&src) {
            check_yaml_syntax(&src, &mut ev);
        }
        return ev;
    }
    if is_unrendered_template(&src) {
        analyze_unrendered_template(&src, &mut ev);
        inline_ignore::collect_inline(rel, text, &mut ev.inline_ignores);
        return ev;
    }
    files::analyze(&src, &mut ev);
    files::agent_config::mark_cri_configured(&mut ev.records);
    inline_ignore::collect_inline(rel, text, &mut ev.inline_ignores);
    ev
}

/// A template outside a Helm chart (Go `{{ }}`, Jinja `{% %}`, Terraform `%{ }` and `${}`: Ansible
/// roles, kubespray, KubeKey, Salt, Terraform `templatefile`) whose text is not valid in its kind's
/// format until rendered. Such a file is not broken.
fn is_unrendered_template(src: &Source<'_>) -> bool {
    if !files::text::has_template_syntax(src.path, src.text) {
        return false;
    }
    match src.kind.syntax() {
        Syntax::Yaml => crate::parse::yaml::check_syntax(src.text).is_err(),
        Syntax::Json => serde_json::from_str::<serde::de::IgnoredAny>(src.text).is_err(),
        Syntax::Toml => src.text.parse::<toml::Table>().is_err(),
        Syntax::Template | Syntax::Text | Syntax::NotAFile => false,
    }
}

/// YAML templates are read like Helm templates (actions blanked, text mode when the rest still
/// does not parse); JSON and TOML templates are listed as skipped, with the reason.
fn analyze_unrendered_template(src: &Source<'_>, ev: &mut Evidence) {
    if src.kind.is_yaml() {
        // Jinja/Salt/Terraform templates are often valid YAML once their statements and actions
        // are blanked (`{% for %}` lines, `{{ var }}` values): read them as YAML at the same lines.
        let masked = files::text::mask_template(src.path, src.text);
        if crate::parse::yaml::check_syntax(&masked).is_ok() {
            ev.count("templates_outside_charts", 1);
            let mut sub = Evidence::default();
            files::analyze(&Source { text: &masked, ..src.clone() }, &mut sub);
            for r in &mut sub.records {
                // Snippets show the template as written, not the blanked text.
                if let Some(line) = r.location.line.filter(|_| r.location.path.as_deref() == Some(src.path)) {
                    r.snippet = src.line(line).trim().to_string();
                }
            }
            ev.merge(sub);
            return;
        }
        ev.count("templates_outside_charts", 1);
        helm::analyze_template(src, None, ev);
    } else {
        ev.count("files_skipped_template", 1);
        ev.skipped.push(Gap {
            source: src.path.to_string(),
            reason: format!("a template ({{{{ }}}} or {{% %}}): not valid {} until rendered", src.kind),
            ..Gap::default()
        });
    }
}

/// For a file the prefilter skipped: a YAML syntax error is still a gap naming the line, exactly
/// as when the file is analysed.
fn check_yaml_syntax(src: &Source<'_>, ev: &mut Evidence) {
    if src.kind.is_yaml()
        && let Err(e) = crate::parse::yaml::check_syntax(src.text)
    {
        ev.gaps.push(src.gap(Some(e.line), format!("invalid YAML: {}", e.message)));
    }
}

fn analyze_chart(files_in_chart: &[Candidate], opts: &RepoOptions, prefilters: &dyn Prefilter) -> Evidence {
    let mut ev = Evidence::default();
    let mut texts: HashMap<usize, String> = HashMap::new();
    for (i, c) in files_in_chart.iter().enumerate() {
        if let Some(t) = read(c, opts, &mut ev) {
            texts.insert(i, t);
        }
    }
    // The chart is analysed as a unit (templates read values), so it is skipped only when no file
    // of it passes the literal prefilter of its kind: then no rendering can produce a match.
    let kind_of = |i: usize, text: &str| {
        let c = &files_in_chart[i];
        let name = c.rel.rsplit('/').next().unwrap_or(&c.rel).to_ascii_lowercase();
        kinds::classify_content(c.class, &name, text)
    };
    if !texts.iter().any(|(&i, t)| kind_of(i, t).is_some_and(|k| prefilters.may_match(k, t))) {
        for (&i, text) in &texts {
            if let Some(kind) = kind_of(i, text) {
                ev.count("files_analyzed", 1);
                check_yaml_syntax(&Source::file(&files_in_chart[i].rel, kind, text), &mut ev);
            }
        }
        return ev;
    }
    let mut values = helm::Values::default();
    for (i, c) in files_in_chart.iter().enumerate() {
        if c.class == PathClass::Kind(FileKind::HelmValues)
            && let Some(t) = texts.get(&i)
        {
            values.add_file(&c.rel, t);
        }
    }
    for (i, c) in files_in_chart.iter().enumerate() {
        let Some(text) = texts.get(&i) else { continue };
        let name = c.rel.rsplit('/').next().unwrap_or(&c.rel).to_ascii_lowercase();
        let Some(kind) = kinds::classify_content(c.class, &name, text) else { continue };
        ev.count("files_analyzed", 1);
        let src = Source::file(&c.rel, kind, text);
        if kind == FileKind::HelmTemplate {
            helm::analyze_template(&src, Some(&values), &mut ev);
        } else {
            files::analyze(&src, &mut ev);
        }
        inline_ignore::collect_inline(&c.rel, text, &mut ev.inline_ignores);
    }
    // Mounts in values (sidecars, extra mounts) of the hostPath volumes the templates define.
    let values_files: Vec<(&str, &str)> = files_in_chart
        .iter()
        .enumerate()
        .filter(|(_, c)| c.class == PathClass::Kind(FileKind::HelmValues))
        .filter_map(|(i, c)| Some((c.rel.as_str(), texts.get(&i)?.as_str())))
        .collect();
    let mounts = files::helm_mounts::values_mounts(&values_files, &ev.records);
    ev.records.extend(mounts);
    let containers = files::helm_mounts::values_containers(&values_files, &ev.records);
    ev.records.extend(containers);
    files::agent_config::mark_cri_configured(&mut ev.records);
    ev
}
