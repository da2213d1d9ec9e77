//! dockershim-audit: finds what still depends on Docker Engine or dockershim before a Kubernetes
//! upgrade, in the live cluster, on the nodes and in repositories.
//!
//! The pipeline, top to bottom: collect (async, I/O) -> evidence (plain data) -> rules engine
//! (pure) -> findings -> ignores and baseline -> report renderers -> gate (exit code).
//!
//! # Layers
//!
//! Modules sit in layers, lowest first. A module imports (`crate::`, `super::`) only from layers
//! below its own: never from above, never from another module of its own layer. Inside a module,
//! no two files import each other (no file cycles at all). This file wires the layers together and
//! is the only place that sees them all. `tests/it/layering.rs` reads the imports and enforces this.
//!
//! 1. `version`, `parse`, `clock`, `bounded_read`, `output_file`, `terminal`, `redact`,
//!    `percent`: leaves, importing nothing from the crate.
//! 2. `evidence`: the plain data collectors produce (records, gaps, file kinds, node file list,
//!    inline ignores); `target`: the target version and where it came from.
//! 3. `finding`: what the engine concludes (with `Severity`).
//! 4. `collect`, `rules`: the collectors (I/O) and the rule engine (pure). They never import each
//!    other: the caller hands the collectors what the rules decide (prefilters, node file list).
//! 5. `suppress`, `baseline`, `score`: what happens to findings after the engine.
//! 6. `report`: the renderers.
//! 7. `cli`, `config`: the command line and the configuration file.
//! 8. `gate`: exit codes and the error type that carries them; `invocation`: the name the tool
//!    answers to (kubectl plugin), shell completions and the man page, all drawn from `cli`.

mod baseline;
mod bounded_read;
pub mod cli;
pub mod clock;
pub mod collect;
mod config;
pub mod evidence;
pub mod finding;
mod gate;
pub mod invocation;
pub mod output_file;
mod parse;
mod percent;
pub mod redact;
pub mod report;
pub mod rules;
pub mod score;
mod suppress;
mod target;
pub mod terminal;
pub mod version;

use std::ffi::OsString;
use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context as _;
use clap::FromArgMatches;

use cli::{Cli, Command, Common};
use evidence::Evidence;
use report::format::{Format, render};
use report::{Report, RuleInfo};
use rules::Catalogue;

/// Runs the tool with these arguments (the first is the program name); returns the exit code.
/// This wrapper exists so tests can drive the whole tool in-process.
pub fn main_with_args<I, T>(args: I) -> ExitCode
where
    I: IntoIterator<Item = T>,
    T: Into<OsString> + Clone,
{
    ExitCode::from(exit_status(args))
}

/// [`main_with_args`] as the number the process exits with (the binary ends the process itself
/// once everything is written).
pub fn exit_status<I, T>(args: I) -> u8
where
    I: IntoIterator<Item = T>,
    T: Into<OsString> + Clone,
{
    let args: Vec<T> = args.into_iter().collect();
    let bin_name = args.first().and_then(|a| invocation::plugin_bin_name(&a.clone().into()));
    let matches = match invocation::command(bin_name).try_get_matches_from(args) {
        Ok(m) => m,
        Err(e) => {
            let _ = e.print();
            return if e.use_stderr() { gate::EXIT_USAGE } else { gate::EXIT_OK };
        }
    };
    let cli = match Cli::from_arg_matches(&matches) {
        Ok(c) => c,
        Err(e) => {
            let _ = e.print();
            return gate::EXIT_USAGE;
        }
    };
    match &cli.command {
        Command::Completions(a) => {
            invocation::write_completions(a.shell, &mut std::io::stdout().lock());
            return gate::EXIT_OK;
        }
        Command::Man => {
            return match invocation::write_man(&mut std::io::stdout().lock()) {
                Ok(()) => gate::EXIT_OK,
                Err(e) => {
                    terminal::eprint(format_args!("dockershim-audit: error: writing the manual page: {e}"));
                    gate::EXIT_USAGE
                }
            };
        }
        _ => {}
    }
    let outputs = output_plan(&matches, &cli.common);
    if let Err(e) = check_outputs(&cli, &outputs) {
        eprintln!("dockershim-audit: error: {e}");
        return gate::EXIT_USAGE;
    }
    match run(cli, outputs) {
        Ok(code) => code,
        Err(e) => {
            match e {
                gate::Error::Interrupted(_) => terminal::eprint(format_args!("dockershim-audit: {e}")),
                _ => terminal::eprint(format_args!("dockershim-audit: error: {e}")),
            }
            e.exit_code()
        }
    }
}

/// Rejects output options the command would ignore: `--format` for commands that write one fixed
/// kind of file (`rules`, `baseline write`, `snapshot`), `--baseline` where no scan is scored, and
/// two outputs to one file.
fn check_outputs(cli: &Cli, outputs: &OutputPlan) -> Result<(), String> {
    let fixed = match &cli.command {
        Command::Rules(_) => Some("`rules` prints text"),
        Command::Baseline(_) => Some("`baseline write` writes the baseline file"),
        Command::Snapshot(_) => Some("`snapshot` writes a JSON snapshot"),
        _ => None,
    };
    // `snapshot --format json` names what it writes anyway.
    let stated =
        cli.common.format.iter().find(|f| !(matches!(cli.command, Command::Snapshot(_)) && **f == Format::Json));
    if let (Some(what), Some(f)) = (fixed, stated) {
        let name = clap::ValueEnum::to_possible_value(f).map(|v| v.get_name().to_string()).unwrap_or_default();
        return Err(format!("{what}; --format {name} does not apply to it"));
    }
    // `--baseline` filters the findings of one scan; elsewhere it would be silently ignored.
    let no_baseline = match &cli.command {
        Command::Rules(_) | Command::Snapshot(_) | Command::Baseline(_) => Some("it scores no findings"),
        Command::Report(_) => Some("pass it to the scans whose results are merged"),
        _ => None,
    };
    if let (Some(why), Some(_)) = (no_baseline, &cli.common.baseline) {
        return Err(format!("--baseline does not apply to `{}`: {why}", command_name(&cli.command)));
    }
    let mut seen = std::collections::BTreeSet::new();
    for path in outputs.iter().filter_map(|(_, o)| o.as_ref()) {
        let key = std::path::absolute(path).unwrap_or_else(|_| path.clone());
        if !seen.insert(key) {
            return Err(format!("-o {} is given twice; give each format its own file", path.display()));
        }
    }
    Ok(())
}

/// The format a `-o` file's extension names, where that is unambiguous.
fn format_of_extension(path: &Path) -> Option<Format> {
    match path.extension()?.to_str()?.to_ascii_lowercase().as_str() {
        "html" | "htm" => Some(Format::Html),
        "json" => Some(Format::Json),
        "sarif" => Some(Format::Sarif),
        "md" | "markdown" => Some(Format::Markdown),
        "xml" => Some(Format::Junit),
        _ => None,
    }
}

/// Where each requested format goes: `None` is standard output.
type OutputPlan = Vec<(Format, Option<PathBuf>)>;

/// Pairs each `-o FILE` with the `--format` written before it (or the first one, if none is).
fn output_plan(matches: &clap::ArgMatches, common: &Common) -> OutputPlan {
    let sub = matches.subcommand().map(|(_, m)| m).unwrap_or(matches);
    let idx = |name: &str| -> Vec<usize> {
        sub.indices_of(name).or_else(|| matches.indices_of(name)).map(|i| i.collect()).unwrap_or_default()
    };
    let f_idx = idx("format");
    let o_idx = idx("output");
    if common.format.is_empty() && !common.output.is_empty() {
        // No --format: each file's extension says what to write (a table when it says nothing).
        return common
            .output
            .iter()
            .map(|o| {
                let to_stdout = o.as_os_str() == "-";
                let format = if to_stdout { Format::Table } else { format_of_extension(o).unwrap_or(Format::Table) };
                (format, (!to_stdout).then(|| o.clone()))
            })
            .collect();
    }
    let formats: Vec<Format> = if common.format.is_empty() { vec![Format::Table] } else { common.format.clone() };
    let mut plan: OutputPlan = formats.iter().map(|f| (*f, None)).collect();
    for (oi, out) in o_idx.iter().zip(common.output.iter()) {
        let slot = f_idx.iter().rposition(|fi| fi < oi).unwrap_or(0);
        // `-o -` is standard output, as for most command-line tools.
        if out.as_os_str() == "-" {
            continue;
        }
        if slot < plan.len() {
            if plan[slot].1.is_none() {
                plan[slot].1 = Some(out.clone());
            } else {
                plan.push((plan[slot].0, Some(out.clone())));
            }
        }
    }
    plan
}

/// What a command collected, before rules run.
struct Collected {
    evidence: Evidence,
    scanned: Vec<String>,
    nodes: Vec<evidence::NodeInfo>,
    /// What the collectors learnt about the running version (for the target's resolution).
    seen: target::Seen,
    /// The API server's `gitVersion` (`cluster` only; the fleet section shows it).
    server_git_version: Option<String>,
}

fn run(cli: Cli, outputs: OutputPlan) -> Result<u8, gate::Error> {
    let common = cli.common.clone();
    // A path that does not exist is a usage error, not an empty scan: nothing was looked at.
    let inputs: Vec<(&Path, &str)> = match &cli.command {
        Command::Repo(a) => a.paths.iter().map(|p| (p.as_path(), "path")).collect(),
        Command::Baseline(cli::BaselineArgs { action: cli::BaselineAction::Write { paths, from, .. } }) => {
            paths.iter().map(|p| (p.as_path(), "path")).chain(from.iter().map(|p| (p.as_path(), "result"))).collect()
        }
        Command::Node(a) => vec![(a.root.as_path(), "node root")],
        _ => Vec::new(),
    };
    for (p, what) in inputs {
        if std::fs::metadata(p).is_err() {
            return Err(gate::Error::Usage(format!("{what} {} does not exist", p.display())));
        }
    }
    let near = match &cli.command {
        Command::Repo(a) => a.paths.first().cloned(),
        Command::Baseline(cli::BaselineArgs { action: cli::BaselineAction::Write { paths, .. } }) => {
            paths.first().cloned()
        }
        _ => None,
    };
    let config = config::Config::discover(common.config.as_deref(), near.as_deref())?;
    // Rules named by a config file found in a scanned repository must stay inside it.
    let (rules_dir, confine) = match &common.rules {
        Some(dir) => (Some(dir.clone()), None),
        None => (config.rules.clone(), config.confine.clone()),
    };
    let catalogue = Catalogue::load_confined(rules_dir.as_deref(), confine.as_deref())?;
    // An override or ignore of a rule that does not exist would silently do nothing.
    config.check_rule_ids(catalogue.rules.iter().map(|r| r.id.as_str()))?;
    let known = catalogue.known_versions();
    // Explicit versions are checked before anything is read, so a typo fails fast.
    let explicit = explicit_target(&common, &config, &known)?;
    // Until the scanned material has said which version runs, literal prefilters are built for
    // the newest version: rules only switch on with newer targets, so that set is the widest.
    let prefilter_target = explicit.clone().unwrap_or_else(|| known.newest()).version;

    let collected = match &cli.command {
        Command::Rules(a) => return Ok(rules_command(&catalogue, a)?),
        Command::Repo(a) => {
            let opts = collect::repo::RepoOptions {
                max_file_size: a.max_file_size,
                no_ignore: a.no_ignore,
                follow_links: a.follow,
                include_third_party: a.include_third_party,
                root: None,
            };
            let prefilters = rules::prefilter::Prefilters::build(&catalogue, &prefilter_target);
            Collected {
                evidence: collect::repo::scan(&a.paths, &opts, &prefilters),
                scanned: a.paths.iter().map(|p| p.display().to_string()).collect(),
                nodes: Vec::new(),
                seen: target::Seen::default(),
                server_git_version: None,
            }
        }
        Command::Baseline(cli::BaselineArgs { action: cli::BaselineAction::Write { file, from, .. } })
            if !from.is_empty() =>
        {
            return Ok(baseline_from_results(file, from, &common)?);
        }
        Command::Baseline(cli::BaselineArgs { action: cli::BaselineAction::Write { file, paths, .. } }) => {
            let prefilters = rules::prefilter::Prefilters::build(&catalogue, &prefilter_target);
            let ev = collect::repo::scan(paths, &collect::repo::RepoOptions::default(), &prefilters);
            // A baseline of a scan that could not see records "no findings" for what it missed,
            // and a later run would call them new or, worse, never look: nothing is written.
            if !ev.gaps.is_empty() {
                let shown: Vec<String> = ev
                    .gaps
                    .iter()
                    .take(10)
                    .map(|g| format!("\n  - {}: {}", g.source, redact::secrets(&g.reason)))
                    .collect();
                let more = ev.gaps.len().saturating_sub(shown.len());
                terminal::eprint(format_args!(
                    "dockershim-audit: baseline {} not written: the scan was incomplete ({} source(s) could not be \
                     read), and a baseline must hold every finding of a complete scan{}{}",
                    file.display(),
                    ev.gaps.len(),
                    shown.concat(),
                    if more > 0 { format!("\n  ... and {more} more") } else { String::new() }
                ));
                return Ok(gate::EXIT_INCOMPLETE);
            }
            let seen = target::Seen { declared: ev.declared_versions.clone(), ..target::Seen::default() };
            let target = resolve_target(explicit, &seen, &known);
            let findings = rules::engine::evaluate(&catalogue, &target.version, &ev.records);
            let today = clock::today();
            let applied = suppress::apply(findings, &ev.inline_ignores, &config.ignore, &today);
            let grouped = rules::engine::group(applied.findings);
            baseline::Baseline::of(&grouped).save(file, output_policy(&common))?;
            terminal::eprint(format_args!(
                "dockershim-audit: wrote {} finding(s) to baseline {} (target Kubernetes {}: {})",
                grouped.len(),
                file.display(),
                target.version,
                target.reason()
            ));
            return Ok(gate::EXIT_OK);
        }
        Command::Cluster(a) if a.is_fleet() => {
            return fleet_command(a, &common, &config, &catalogue, explicit.as_ref(), &outputs);
        }
        Command::Cluster(a) => collect_cluster(a, &catalogue.node_files, std::io::stderr().is_terminal(), Scans::One)?,
        Command::Node(a) => {
            let c = collect::node::scan(&a.root, a.node_name.as_deref(), &catalogue.node_files);
            Collected {
                evidence: c,
                scanned: vec![a.root.display().to_string()],
                nodes: Vec::new(),
                seen: target::Seen::default(),
                server_git_version: None,
            }
        }
        Command::Snapshot(a) => return Ok(snapshot_command(a, &outputs, output_policy(&common))?),
        Command::Report(a) => return report_command(a, &common, &config, &outputs),
        // Answered by `main_with_args` before a run starts (they read no configuration).
        Command::Completions(_) | Command::Man => return Ok(gate::EXIT_OK),
    };

    let report = score_collected(&cli.command, &common, &config, &catalogue, explicit, collected)?;
    write_outputs(&report, &outputs, &common)?;
    Ok(gate::exit_code(&report, gate::fail_on(common.fail_on, &config)))
}

/// `baseline write FILE --from RESULT.json...`: the findings of saved JSON results (of `cluster`,
/// `node`, `repo` or `report`) become the baseline, so every scan can be baselined without a
/// second set of scan flags here. A result written under `--baseline` holds only the new findings,
/// so it is refused rather than silently making a baseline that forgets the known ones; a result
/// of an incomplete scan is refused like an incomplete `baseline write` scan (exit 3).
fn baseline_from_results(file: &Path, from: &[PathBuf], common: &Common) -> anyhow::Result<u8> {
    let mut entries = Vec::new();
    let mut seen = std::collections::BTreeSet::new();
    for path in from {
        let name = path.display();
        let text = std::fs::read_to_string(path).with_context(|| format!("--from {name}"))?;
        let value: serde_json::Value = serde_json::from_str(&text)
            .with_context(|| format!("--from {name}: not JSON; expected a JSON result (a scan with --format json)"))?;
        if !baseline::is_result(&value) {
            anyhow::bail!(
                "--from {name} is {}\n  expected a JSON result of `cluster`, `node`, `repo` or `report` (--format json)",
                baseline::describe(&value)
            );
        }
        let doc: report::json::JsonReport =
            serde_json::from_value(value).with_context(|| format!("--from {name}: a damaged JSON result"))?;
        if let Some(b) = &doc.summary.baseline {
            anyhow::bail!(
                "--from {name} was written with --baseline {}: it holds only the {} new finding(s), not the {} \
                 already in that baseline\n  write the baseline from a run without --baseline",
                b.file,
                b.new,
                b.unchanged
            );
        }
        // As for a scan: a baseline must hold every finding of a complete scan.
        if !doc.coverage.gaps.is_empty() {
            let shown: Vec<String> = doc
                .coverage
                .gaps
                .iter()
                .take(10)
                .map(|g| format!("\n  - {}: {}", g.source, redact::secrets(&g.reason)))
                .collect();
            let more = doc.coverage.gaps.len().saturating_sub(shown.len());
            terminal::eprint(format_args!(
                "dockershim-audit: baseline {} not written: {name} is the result of an incomplete scan ({} source(s) \
                 could not be read), and a baseline must hold every finding of a complete scan{}{}",
                file.display(),
                doc.coverage.gaps.len(),
                shown.concat(),
                if more > 0 { format!("\n  ... and {more} more") } else { String::new() }
            ));
            return Ok(gate::EXIT_INCOMPLETE);
        }
        for f in doc.findings {
            if seen.insert(f.fingerprint.clone()) {
                let location = evidence::Location::from(&f.location).describe();
                entries.push(baseline::Entry { fingerprint: f.fingerprint, rule_id: f.rule_id, location });
            }
        }
    }
    let count = entries.len();
    baseline::Baseline::of_entries(entries).save(file, output_policy(common))?;
    terminal::eprint(format_args!(
        "dockershim-audit: wrote {count} finding(s) from {} result(s) to baseline {}",
        from.len(),
        file.display()
    ));
    Ok(gate::EXIT_OK)
}

/// Everything after collection, for one scan: target resolution, the engine at the target (and
/// along the horizon), ignores, baseline and scores. A fleet audit runs it once per cluster.
fn score_collected(
    command: &Command,
    common: &Common,
    config: &config::Config,
    catalogue: &Catalogue,
    explicit: Option<target::Target>,
    collected: Collected,
) -> Result<Report, gate::Error> {
    let known = catalogue.known_versions();
    let Collected { evidence, scanned, nodes, mut seen, .. } = collected;
    seen.declared.extend(evidence.declared_versions.iter().cloned());
    let target = resolve_target(explicit, &seen, &known);
    // Build-machine commands do not touch a cluster: no finding unless asked for (counted).
    let opts = rules::engine::Options {
        include_build_scripts: matches!(command, Command::Repo(a) if a.include_build_scripts),
    };
    let today = clock::today();
    // The engine, severity overrides and ignores at one target version.
    let score_records = |version: &version::Version, records: &[&evidence::Record]| {
        let (mut findings, hidden) = rules::engine::evaluate_with(catalogue, version, records, &opts);
        for f in &mut findings {
            if let Some(s) = config.severity.get(&f.rule_id) {
                f.severity = *s;
            }
        }
        (suppress::apply(findings, &evidence.inline_ignores, &config.ignore, &today), hidden)
    };
    let all: Vec<&evidence::Record> = evidence.records.iter().collect();
    let score_at = |version: &version::Version| score_records(version, &all);
    let (applied, hidden) = score_at(&target.version);
    // The same records at every release on the way (no second collection).
    let horizon = common.horizon.then(|| {
        let at = |v: &version::Version| rules::engine::group(score_at(v).0.findings);
        let from = seen.running();
        let before = from.as_ref().map(&at).unwrap_or_default();
        let steps: Vec<score::horizon::Step> = known
            .releases_after(from.as_ref(), &target.version)
            .into_iter()
            .map(|version| score::horizon::Step { findings: at(&version), version })
            .collect();
        score::horizon::build(from.as_ref(), &before, &steps, &target.version, evidence.gaps.is_empty())
    });
    let grouped = rules::engine::group(applied.findings);
    // Without the horizon, what breaks only after the target is still said: the records behind
    // it and the releases it breaks at are found without rendering anything, then only those
    // records are scored, at the target and at those releases.
    let due_later = if common.horizon {
        None
    } else {
        let releases = known.releases_after(Some(&target.version), &target.version);
        let configured = |rule: &str, s: finding::Severity| config.severity.get(rule).copied().unwrap_or(s);
        let later =
            rules::engine::breaking_after(catalogue, &target.version, &releases, &evidence.records, &configured);
        match releases.last() {
            Some(through) if !later.releases.is_empty() => {
                let at = |v: &version::Version| rules::engine::group(score_records(v, &later.records).0.findings);
                let before = at(&target.version);
                let steps = later
                    .releases
                    .iter()
                    .map(|v| score::horizon::Step { findings: at(v), version: v.clone() })
                    .collect();
                score::horizon::due_later(&target.version, through, &before, steps)
            }
            _ => None,
        }
    };
    let (findings, baseline) = match &common.baseline {
        Some(path) => {
            let b = baseline::Baseline::load(path)?;
            let (new, summary) = b.filter(&path.display().to_string(), grouped);
            (new, Some(summary))
        }
        None => (grouped, None),
    };
    let mut counts = evidence.counts;
    if hidden > 0 {
        counts.insert("findings_on_build_machines_hidden".into(), hidden as u64);
    }
    let node_list: Vec<(String, Option<String>)> = nodes.iter().map(|n| (n.name.clone(), n.pool.clone())).collect();
    let scores = score::Scores::compute(&findings, &evidence.gaps, &node_list);
    let source_root = match command {
        Command::Repo(a) => a.paths.first().map(|p| collect::repo::source_root(p).display().to_string()),
        _ => None,
    };
    let report = Report {
        command: command_name(command).to_string(),
        scanned,
        source_root,
        fail_on: gate::fail_on(common.fail_on, config),
        target: target.clone(),
        findings,
        suppressed: applied.suppressed,
        baseline,
        gaps: evidence.gaps.into_iter().map(redacted_gap).collect(),
        skipped: evidence.skipped,
        ignore_problems: applied.problems,
        counts,
        scores,
        nodes,
        rules: RuleInfo::from_catalogue(catalogue, &target.version),
        horizon,
        due_later,
        steps: catalogue.steps.clone(),
        rule_overrides: catalogue.overrides.clone(),
    };
    Ok(report)
}

fn command_name(c: &Command) -> &'static str {
    match c {
        Command::Repo(_) => "repo",
        Command::Cluster(_) => "cluster",
        Command::Node(_) => "node",
        Command::Snapshot(_) => "snapshot",
        Command::Rules(_) => "rules",
        Command::Report(_) => "report",
        Command::Baseline(_) => "baseline",
        Command::Completions(_) => "completions",
        Command::Man => "man",
    }
}

/// `--target-version`, else the config file's `targetVersion`, checked against the data; both are
/// checked even when the flag wins, so a bad config file never waits for the day it is used.
fn explicit_target(
    common: &Common,
    config: &config::Config,
    known: &target::Known,
) -> anyhow::Result<Option<target::Target>> {
    let from_config = match config.target_version.as_deref() {
        Some(t) => Some(known.parse_explicit(t, "targetVersion in the config file").map_err(anyhow::Error::msg)?),
        None => None,
    };
    if let Some(t) = common.target_version.as_deref() {
        let v = known.parse_explicit(t, "--target-version").map_err(anyhow::Error::msg)?;
        return Ok(Some(target::Target::new(v, target::Source::Flag)));
    }
    Ok(from_config.map(|v| target::Target::new(v, target::Source::Config)))
}

/// The explicit target, else the first the collectors found (see [`target::resolve`]).
fn resolve_target(explicit: Option<target::Target>, seen: &target::Seen, known: &target::Known) -> target::Target {
    explicit.unwrap_or_else(|| target::resolve(None, None, seen, known).unwrap_or_else(|_| known.newest()))
}

fn use_color(common: &Common) -> bool {
    !common.no_color && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty()) && std::io::stdout().is_terminal()
}

fn write_outputs(report: &Report, outputs: &OutputPlan, common: &Common) -> anyhow::Result<()> {
    let color = use_color(common);
    emit(outputs, common, |format, to_stdout| render(report, format, to_stdout && format == Format::Table && color))
}

/// What `--follow-output-symlinks` asks of every file the run writes.
fn output_policy(common: &Common) -> output_file::Policy {
    output_file::Policy { through_symlinks: common.follow_output_symlinks }
}

/// Renders every output first, then writes the files all or nothing ([`output_file::write_all`]:
/// each atomically, never through a symlink unless asked), then standard output.
fn emit(
    outputs: &OutputPlan,
    common: &Common,
    render_one: impl Fn(Format, bool) -> anyhow::Result<String>,
) -> anyhow::Result<()> {
    let stdout_count = outputs.iter().filter(|(_, o)| o.is_none()).count();
    if stdout_count > 1 {
        anyhow::bail!("only one --format can go to standard output; give the others `-o FILE`");
    }
    let mut files = Vec::new();
    let mut to_stdout = None;
    for (format, out) in outputs {
        let text = render_one(*format, out.is_none())?;
        match out {
            Some(path) => files.push((path.clone(), text.into_bytes())),
            None => to_stdout = Some(text),
        }
    }
    output_file::write_all(&files, output_policy(common)).map_err(anyhow::Error::msg)?;
    if let Some(text) = to_stdout {
        let mut stdout = std::io::stdout().lock();
        if let Err(e) = stdout.write_all(text.as_bytes()).and_then(|_| stdout.flush())
            && e.kind() != std::io::ErrorKind::BrokenPipe
        {
            return Err(e.into());
        }
    }
    Ok(())
}

fn rules_command(catalogue: &Catalogue, args: &cli::RulesArgs) -> anyhow::Result<u8> {
    let mut out = String::new();
    match &args.action {
        None | Some(cli::RulesAction::List) => {
            for r in &catalogue.rules {
                out.push_str(&format!(
                    "{:<36} {:<8} {:<13} {}{}\n",
                    r.id,
                    r.spec.severity.name(),
                    r.spec.on.name(),
                    r.spec.title,
                    r.spec.since.as_ref().map(|s| format!(" (since {s})")).unwrap_or_default()
                ));
            }
        }
        Some(cli::RulesAction::Explain { id }) => {
            let Some(r) = catalogue.get(id) else {
                let close: Vec<&str> = catalogue
                    .rules
                    .iter()
                    .map(|r| r.id.as_str())
                    .filter(|x| x.contains(id.as_str()) || id.contains(*x))
                    .collect();
                anyhow::bail!(
                    "no rule `{id}`{}",
                    if close.is_empty() { String::new() } else { format!(" (did you mean: {})", close.join(", ")) }
                );
            };
            out.push_str(&format!("{}\n{}\n\n", r.id, r.spec.title));
            out.push_str(&format!("severity:    {}\n", r.spec.severity.name()));
            out.push_str(&format!(
                "applies to:  {}{}\n",
                r.spec.on.name(),
                if r.spec.kinds.is_empty() { String::new() } else { format!(" in {}", r.spec.kinds.join(", ")) }
            ));
            if let Some(s) = &r.spec.since {
                out.push_str(&format!("since:       Kubernetes {s}\n"));
            }
            for sw in &r.spec.severity_when {
                out.push_str(&format!("becomes {} under some conditions (see the rule file)\n", sw.severity.name()));
                let _ = sw;
            }
            out.push_str(&format!(
                "\nmessage:     {}\n\nremediation:\n  {}\n",
                rules::compile::unescape(&r.spec.message),
                rules::compile::unescape(r.spec.remediation.trim()).replace('\n', "\n  ")
            ));
            if !r.spec.docs.is_empty() {
                out.push_str("\ndocs:\n");
                for d in &r.spec.docs {
                    out.push_str(&format!("  {d}\n"));
                }
            }
            out.push_str(&format!("\ndefined in:  {}\n", r.origin));
        }
    }
    let mut stdout = std::io::stdout().lock();
    let _ = stdout.write_all(out.as_bytes());
    Ok(gate::EXIT_OK)
}

fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread().enable_all().build().context("starting the async runtime")
}

/// Whether a run scans one cluster or a fleet of them (which frees each cluster's memory).
#[derive(Clone, Copy, PartialEq)]
enum Scans {
    One,
    Many,
}

/// Set by the binary: the process ends with `_exit` once everything is written (`src/main.rs`).
static ENDS_WITH_EXIT: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// Says that the process ends with `_exit` as soon as [`exit_status`] returns: memory a one-cluster
/// run no longer needs is then left for the kernel to take back at exit instead of being freed
/// object by object. In-process callers (the tests) do not call it, and free everything.
pub fn process_ends_with_exit() {
    ENDS_WITH_EXIT.store(true, std::sync::atomic::Ordering::Relaxed);
}

/// Reads one cluster (live or a snapshot); `progress` draws progress lines on a terminal.
fn collect_cluster(
    a: &cli::ClusterArgs,
    node_files: &[evidence::NodeFile],
    progress: bool,
    scans: Scans,
) -> anyhow::Result<Collected> {
    if a.node_files && a.snapshot.is_some() {
        anyhow::bail!(
            "--node-files reads node files from a live cluster with collector pods; it cannot be used with \
             --snapshot (audit saved node files with `node --root DIR`)"
        );
    }
    let (snapshot, node_files) = match &a.snapshot {
        Some(path) => {
            let (mut snap, summary) = collect::cluster::snapshot::ClusterSnapshot::load_pruned(path)?;
            // Kinds the file does not hold are coverage, not an empty cluster.
            collect::cluster::coverage::note_missing(&mut snap, &summary);
            if !a.namespace.is_empty() {
                collect::objects::restrict_to_namespaces(&mut snap, &a.namespace);
            }
            (snap, None)
        }
        None => fetch_live(a, a.node_files.then_some(node_files), progress, Pods::Folded)?,
    };
    let mut ev = collect::objects::evidence(&snapshot);
    if let Some(r) = node_files {
        merge_node_files(&mut ev, r, &a.collector_namespace);
    }
    // A `/version` that says nothing usable (unparsable, or a minor with no next) is a gap, and
    // the target comes from the next source in the documented order.
    let server = collect::objects::server_version(&snapshot).filter(|v| v.next_minor().is_some());
    if let Some(body) = &snapshot.server_version
        && server.is_none()
    {
        let shown: String = body.get("gitVersion").map_or_else(|| body.to_string(), |g| g.to_string());
        let shown: String = shown.chars().filter(|c| !c.is_control()).take(80).collect();
        ev.gaps.push(evidence::Gap {
            source: "/version".into(),
            reason: format!(
                "the server's version ({shown}) is not a usable Kubernetes version, so the target comes from \
                 what the objects declare; pass --target-version to choose it"
            ),
            ..evidence::Gap::default()
        });
    }
    let collected = Collected {
        nodes: collect::objects::node_infos(&snapshot),
        server_git_version: snapshot
            .server_version
            .as_ref()
            .and_then(|v| v.get("gitVersion"))
            .and_then(serde_json::Value::as_str)
            .map(str::to_string),
        seen: match (server, a.snapshot.is_some()) {
            (Some(v), false) => target::Seen { live: Some(v), ..target::Seen::default() },
            (Some(v), true) => target::Seen { snapshot: Some(v), ..target::Seen::default() },
            (None, _) => target::Seen::default(),
        },
        scanned: vec![
            snapshot
                .context
                .clone()
                .or_else(|| a.snapshot.as_ref().map(|p| p.display().to_string()))
                .unwrap_or_else(|| "cluster".into()),
        ],
        evidence: ev,
    };
    // The evidence holds what the rules need. Freeing the snapshot's objects (tens of thousands of
    // JSON trees, ≈ 20 ms of CPU at 15k pods) takes a core from the scoring even on another
    // thread, so a one-cluster run of the binary leaves them to the kernel at its `_exit`
    // (issue 16). Otherwise they are freed on another thread (or here, if none can be started).
    if scans == Scans::One && ENDS_WITH_EXIT.load(std::sync::atomic::Ordering::Relaxed) {
        std::mem::forget(snapshot);
    } else {
        let _ = std::thread::Builder::new().name("free-snapshot".into()).spawn(move || drop(snapshot));
    }
    Ok(collected)
}

/// `cluster --context A --context B ...` / `--all-contexts`: the single-cluster path
/// ([`collect_cluster`] then [`score_collected`]) once per context, `--parallel` at a time on
/// worker threads; one result for the fleet, exit code the worst of the clusters.
fn fleet_command(
    a: &cli::ClusterArgs,
    common: &Common,
    config: &config::Config,
    catalogue: &Catalogue,
    explicit: Option<&target::Target>,
    outputs: &OutputPlan,
) -> Result<u8, gate::Error> {
    let mut contexts: Vec<String> = if a.all_contexts {
        collect::cluster::fetch::context_names(a.kubeconfig.as_deref())?
    } else {
        a.context.clone()
    };
    let mut seen = std::collections::BTreeSet::new();
    contexts.retain(|c| seen.insert(c.clone()));
    if contexts.is_empty() {
        return Err(gate::Error::Usage("--all-contexts: the kubeconfig has no contexts".into()));
    }
    if a.snapshot.is_some() {
        return Err(gate::Error::Usage(
            "--snapshot audits one saved cluster; a fleet audit (several --context, --all-contexts) reads live clusters"
                .into(),
        ));
    }
    if common.baseline.is_some() {
        return Err(gate::Error::Usage(
            "--baseline compares one scan with its baseline; audit each cluster with its own --context".into(),
        ));
    }
    if let Some((f, _)) = outputs.iter().find(|(f, _)| matches!(f, Format::Sarif | Format::Junit)) {
        return Err(gate::Error::Usage(format!(
            "--format {}: {}",
            if *f == Format::Sarif { "sarif" } else { "junit" },
            "SARIF and JUnit describe one scan; a fleet audit writes table, json, markdown or html (audit each \
             cluster with its own --context for SARIF or JUnit)"
        )));
    }
    let fail_on = gate::fail_on(common.fail_on, config);
    let total = contexts.len();
    let queue = std::sync::Mutex::new(contexts.into_iter().collect::<std::collections::VecDeque<_>>());
    let done = std::sync::Mutex::new(Vec::new());
    let audit_one = |context: String| -> report::fleet::Member {
        let args = cli::ClusterArgs { context: vec![context.clone()], all_contexts: false, ..a.clone() };
        let scored = collect_cluster(&args, &catalogue.node_files, false, Scans::Many)
            .map_err(gate::Error::from)
            .and_then(|c| {
                let server = c.server_git_version.clone();
                let command = Command::Cluster(args.clone());
                score_collected(&command, common, config, catalogue, explicit.cloned(), c).map(|r| (server, r))
            });
        match scored {
            Ok((server_version, r)) => {
                let exit_code = gate::exit_code(&r, fail_on);
                report::fleet::Member {
                    kind: report::fleet::Kind::Cluster,
                    context,
                    inputs: Vec::new(),
                    server_version,
                    outcome: Ok(r),
                    exit_code,
                }
            }
            Err(e) => {
                terminal::eprint(format_args!("dockershim-audit: warning: context {context}: not audited: {e}"));
                report::fleet::Member {
                    kind: report::fleet::Kind::Cluster,
                    context,
                    inputs: Vec::new(),
                    server_version: None,
                    outcome: Err(e.to_string()),
                    exit_code: gate::EXIT_INCOMPLETE,
                }
            }
        }
    };
    std::thread::scope(|s| {
        for _ in 0..usize::from(a.parallel).min(total) {
            s.spawn(|| {
                loop {
                    let next = queue.lock().unwrap_or_else(|p| p.into_inner()).pop_front();
                    let Some(context) = next else { break };
                    let member = audit_one(context);
                    done.lock().unwrap_or_else(|p| p.into_inner()).push(member);
                }
            });
        }
    });
    let mut members = done.into_inner().unwrap_or_else(|p| p.into_inner());
    report::fleet::sort_worst_first(&mut members);
    let codes: Vec<u8> = members.iter().map(|m| m.exit_code).collect();
    let exit = gate::fleet_exit_code(&codes);
    write_fleet_outputs(&members, exit, outputs, common)?;
    Ok(exit)
}

fn write_fleet_outputs(
    members: &[report::fleet::Member],
    exit: u8,
    outputs: &OutputPlan,
    common: &Common,
) -> anyhow::Result<()> {
    emit(outputs, common, |format, _| report::fleet::render(members, exit, format, report::fleet::Document::Fleet))
}

fn fetch_snapshot(a: &cli::ClusterArgs) -> anyhow::Result<collect::cluster::snapshot::ClusterSnapshot> {
    if a.node_files {
        terminal::eprint(format_args!(
            "dockershim-audit: warning: --node-files is ignored by `snapshot` (node files are not part of a snapshot)"
        ));
    }
    fetch_live(a, None, std::io::stderr().is_terminal(), Pods::Every).map(|(snap, _)| snap)
}

/// Which pods a live read keeps.
#[derive(Clone, Copy, PartialEq)]
enum Pods {
    /// Every pod: a snapshot file holds the cluster as listed.
    Every,
    /// The first pod of each owner, the others counted ([`collect::cluster::fetch::FetchOptions::audit_only`]):
    /// an audit, which reads one pod per workload.
    Folded,
}

/// What a live read returns: the snapshot, and the collector's result with `--node-files`.
type LiveRead = (collect::cluster::snapshot::ClusterSnapshot, Option<collect::cluster::collector::CollectorResult>);

/// Reads the live cluster and, with `node_files` (the node file list), runs the collector pods
/// (`cluster --node-files`). A fleet audit passes `progress: false`: several clusters read at once
/// would draw over each other's progress lines.
fn fetch_live(
    a: &cli::ClusterArgs,
    node_files: Option<&[evidence::NodeFile]>,
    progress: bool,
    pods: Pods,
) -> anyhow::Result<LiveRead> {
    let rt = runtime()?;
    let started = std::time::Instant::now();
    rt.block_on(async {
        let conn =
            collect::cluster::fetch::connect(a.kubeconfig.as_deref(), a.context.first().map(String::as_str)).await?;
        let wait_scale = collect::cluster::fetch::wait_scale_from_env();
        let opts = collect::cluster::fetch::FetchOptions {
            namespaces: if a.namespace.is_empty() { None } else { Some(a.namespace.clone()) },
            page_size: a.page_size,
            configz: !a.no_configz,
            progress,
            limits: a.limits(),
            audit_only: pods == Pods::Folded,
            ..collect::cluster::fetch::FetchOptions::for_client(&conn)
        }
        .scale_waits(wait_scale);
        let mut snap = collect::cluster::fetch::fetch_pruned(&conn.client, &opts).await?;
        if snap.context.is_none() {
            snap.context = conn.context.clone();
        }
        let Some(node_files) = node_files else {
            return Ok((snap, None));
        };
        let copts = collect::cluster::collector::CollectorOptions {
            namespace: a.collector_namespace.clone(),
            image: a.collector_image.clone(),
            node_selector: a.node_selector.clone(),
            progress: opts.progress,
            node_files: node_files.to_vec(),
            // --timeout bounds the whole run: the collector gets what the reads left of it.
            limits: collect::cluster::Limits {
                max_retries: 3,
                run_timeout: a.limits().run_timeout.map(|t| t.saturating_sub(started.elapsed())),
                ..a.limits()
            },
            ..collect::cluster::collector::CollectorOptions::default()
        }
        .scale_waits(wait_scale);
        let result = collect::cluster::collector::collect_or_interrupt(&conn.client, &copts).await?;
        Ok((snap, Some(result)))
    })
}

/// Adds the collector's node-file evidence (locations already carry node and pool) and gaps.
fn merge_node_files(ev: &mut Evidence, r: collect::cluster::collector::CollectorResult, namespace: &str) {
    if !r.left_behind.is_empty() {
        terminal::eprint(format_args!(
            "dockershim-audit: warning: {} collector pod(s) could not be deleted ({}); run `kubectl -n {namespace} \
             delete pods -l {}={}`",
            r.left_behind.len(),
            r.left_behind.join(", "),
            collect::cluster::collector::RUN_LABEL,
            r.run_id
        ));
    }
    ev.count("collector_pods", r.created.len() as u64);
    for n in r.nodes {
        ev.merge(n.evidence);
    }
    ev.gaps.extend(r.gaps);
    ev.skipped.extend(r.skipped);
}

fn snapshot_command(a: &cli::SnapshotArgs, outputs: &OutputPlan, policy: output_file::Policy) -> anyhow::Result<u8> {
    if a.cluster.is_fleet() {
        anyhow::bail!("snapshot captures one cluster: give one --context (and run it once per cluster)");
    }
    let snap = match &a.cluster.snapshot {
        Some(p) => {
            let mut snap = collect::cluster::snapshot::ClusterSnapshot::load(p)?;
            collect::objects::prune_snapshot(&mut snap);
            snap
        }
        None => fetch_snapshot(&a.cluster)?,
    };
    let Some(path) = outputs.iter().find_map(|(_, o)| o.clone()) else {
        anyhow::bail!("snapshot needs -o FILE");
    };
    snap.save(&path, policy)?;
    let objects = snap.object_count();
    terminal::eprint(format_args!(
        "dockershim-audit: wrote {objects} objects to {} ({} gap(s))",
        path.display(),
        snap.gaps.len()
    ));
    Ok(if snap.gaps.is_empty() { gate::EXIT_OK } else { gate::EXIT_INCOMPLETE })
}

/// `report FILE.json...`: merges saved JSON results into one report and renders it.
fn report_command(
    a: &cli::ReportArgs,
    common: &Common,
    config: &config::Config,
    outputs: &OutputPlan,
) -> Result<u8, gate::Error> {
    let catalogue = Catalogue::load(common.rules.as_deref())?;
    let mut report = match report::merge::load_grouped(&a.inputs, &catalogue)? {
        report::merge::Merged::One(report) => report,
        report::merge::Merged::Groups(members) => {
            return organisation_report(members, &catalogue, common, config, outputs);
        }
    };
    report.fail_on = gate::fail_on(common.fail_on, config);
    if let Some(t) = &common.target_version {
        let v = catalogue.known_versions().parse_explicit(t, "--target-version").map_err(gate::Error::Usage)?;
        if v != report.target.version {
            return Err(gate::Error::Usage(format!(
                "--target-version {v} does not match the results, which were scored at {}: saved results cannot \
                 be re-scored; re-run the scans with --target-version {v}",
                report.target.version
            )));
        }
        report.target.source = target::Source::Flag;
    }
    write_outputs(&report, outputs, common)?;
    Ok(gate::exit_code(&report, gate::fail_on(common.fail_on, config)))
}

/// `report` over several repositories or clusters: one group each, the gate applied to each
/// (this run's `--fail-on`), the exit code the worst of them, the groups worst first.
fn organisation_report(
    mut members: Vec<report::fleet::Member>,
    catalogue: &Catalogue,
    common: &Common,
    config: &config::Config,
    outputs: &OutputPlan,
) -> Result<u8, gate::Error> {
    let target = members.iter().find_map(|m| m.outcome.as_ref().ok()).map(|r| r.target.version.clone());
    if let (Some(t), Some(target)) = (&common.target_version, &target) {
        let v = catalogue.known_versions().parse_explicit(t, "--target-version").map_err(gate::Error::Usage)?;
        if v != *target {
            return Err(gate::Error::Usage(format!(
                "--target-version {v} does not match the results, which were scored at {target}: saved results cannot \
                 be re-scored; re-run the scans with --target-version {v}"
            )));
        }
    }
    let fail_on = gate::fail_on(common.fail_on, config);
    for m in &mut members {
        match &mut m.outcome {
            Ok(r) => {
                if common.target_version.is_some() {
                    r.target.source = target::Source::Flag;
                }
                r.fail_on = fail_on;
                m.exit_code = gate::exit_code(r, fail_on);
            }
            Err(_) => m.exit_code = gate::EXIT_INCOMPLETE,
        }
    }
    report::fleet::sort_worst_first(&mut members);
    let codes: Vec<u8> = members.iter().map(|m| m.exit_code).collect();
    let exit = gate::fleet_exit_code(&codes);
    emit(outputs, common, |format, _| {
        report::fleet::render(&members, exit, format, report::fleet::Document::Organisation)
    })?;
    Ok(exit)
}

/// Reads a path for error messages.
pub fn display(p: &Path) -> String {
    p.display().to_string()
}

/// A gap whose reason may quote what it could not read (a parse error showing the offending
/// line, a server's message): credential values in it are masked like those in findings, so a
/// coverage section never prints a secret either.
fn redacted_gap(mut g: evidence::Gap) -> evidence::Gap {
    if let std::borrow::Cow::Owned(r) = redact::secrets(&g.reason) {
        g.reason = r;
    }
    g
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gap_reasons_never_carry_a_credential() {
        let gap = |reason: &str| evidence::Gap {
            source: "values.yaml:12".into(),
            reason: reason.into(),
            missing_permission: None,
            node: None,
        };
        for (reason, secret) in [
            ("invalid YAML near `registry-login --token abcdef123456`", "abcdef123456"),
            ("invalid YAML near `curl -u ci:s3cr3t-pass https://registry.example.com`", "s3cr3t-pass"),
            ("GET https://admin:hunter2@10.0.0.1:6443/api failed", "hunter2"),
        ] {
            let r = redacted_gap(gap(reason)).reason;
            assert!(!r.contains(secret) && r.contains(redact::MASK), "{r}");
        }
        let plain = "invalid YAML: did not find expected node content";
        assert_eq!(redacted_gap(gap(plain)).reason, plain);
    }
}
