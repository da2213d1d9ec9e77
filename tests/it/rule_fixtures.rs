//! Every rule has fixtures that must fire (at exactly the listed places) and near-misses that must
//! not fire, under `fixtures/rules/<rule-id>/{fire,near-miss}/`. A `fire/expect.txt` lists one
//! `path:line` (files) or `Kind/namespace/name` (cluster objects) per expected finding; an optional
//! `target.txt` sets the Kubernetes target version. A `snapshot.json` makes the folder a cluster
//! snapshot; a `node-root/` folder a node filesystem.

use std::collections::{BTreeSet, HashMap};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use rayon::prelude::*;

use dockershim_audit::collect::{self, cluster::snapshot::ClusterSnapshot, repo::RepoOptions};
use dockershim_audit::finding::Finding;
use dockershim_audit::rules::{Catalogue, engine, prefilter::Prefilters};
use dockershim_audit::version::Version;

fn fixtures() -> PathBuf {
    crate::common::fixture("rules")
}

fn target_for(dir: &Path, catalogue: &Catalogue) -> Version {
    std::fs::read_to_string(dir.join("target.txt"))
        .ok()
        .and_then(|t| Version::parse(t.trim()))
        .unwrap_or_else(|| catalogue.newest_release())
}

/// The prefilters of each target version, built once: building them is most of a small scan.
type PrefilterCache = Mutex<HashMap<String, Arc<Prefilters>>>;

/// Runs the whole pipeline (collect + engine) on a fixture folder.
fn findings(dir: &Path, catalogue: &Catalogue, cache: &PrefilterCache) -> Vec<Finding> {
    let target = target_for(dir, catalogue);
    let evidence = if dir.join("snapshot.json").is_file() {
        let snap = ClusterSnapshot::load(&dir.join("snapshot.json")).expect("snapshot loads");
        collect::objects::evidence(&snap)
    } else if dir.join("node-root").is_dir() {
        collect::node::scan(&dir.join("node-root"), Some("fixture-node"), &catalogue.node_files)
    } else {
        let cached = cache.lock().unwrap().get(&target.to_string()).cloned();
        let prefilters = cached.unwrap_or_else(|| {
            let built = Arc::new(Prefilters::build(catalogue, &target));
            cache.lock().unwrap().insert(target.to_string(), Arc::clone(&built));
            built
        });
        // `expect.txt` paths are relative to the fixture folder, not to this repository.
        let opts = RepoOptions { root: Some(dir.to_path_buf()), ..RepoOptions::default() };
        collect::repo::scan(&[dir.to_path_buf()], &opts, prefilters.as_ref())
    };
    assert!(evidence.gaps.is_empty(), "{}: fixture has unreadable parts: {:?}", dir.display(), evidence.gaps);
    engine::evaluate(catalogue, &target, &evidence.records)
}

fn key(f: &Finding) -> String {
    match (&f.location.path, f.location.line, &f.location.object) {
        (Some(p), Some(l), _) => format!("{p}:{l}"),
        (_, _, Some(o)) => o.to_string(),
        _ => f.location.describe(),
    }
}

#[test]
fn every_rule_has_fixtures_that_fire_and_near_misses_that_do_not() {
    let catalogue = Catalogue::builtin().expect("built-in rules load");
    let cache = PrefilterCache::default();
    // Rules are checked in parallel (each folder is an independent scan), problems kept in rule order.
    let problems: Vec<String> =
        catalogue.rules.par_iter().flat_map_iter(|rule| check(&rule.id, &catalogue, &cache)).collect();
    assert!(problems.is_empty(), "rule fixture problems:\n  {}", problems.join("\n  "));
}

/// The problems of one rule's fixtures.
fn check(id: &str, catalogue: &Catalogue, cache: &PrefilterCache) -> Vec<String> {
    let mut problems = Vec::new();
    {
        let base = fixtures().join(id);
        let fire = base.join("fire");
        let near = base.join("near-miss");
        if !fire.is_dir() || !near.is_dir() {
            problems.push(format!("{}: missing fixtures/rules/{}/fire or near-miss", id, id));
            return problems;
        }
        let expected: BTreeSet<String> = std::fs::read_to_string(fire.join("expect.txt"))
            .unwrap_or_default()
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty() && !l.starts_with('#'))
            .map(str::to_string)
            .collect();
        if expected.is_empty() {
            problems.push(format!("{}: fire/expect.txt lists no finding", id));
        }
        let got: BTreeSet<String> =
            findings(&fire, catalogue, cache).iter().filter(|f| f.rule_id == id).map(key).collect();
        if got != expected {
            problems.push(format!("{}: fired at {:?}, expected {:?}", id, got, expected));
        }
        let near_hits: Vec<String> =
            findings(&near, catalogue, cache).iter().filter(|f| f.rule_id == id).map(key).collect();
        if !near_hits.is_empty() {
            problems.push(format!("{}: near-miss fired at {near_hits:?}", id));
        }
    }
    problems
}

#[test]
fn no_fixture_folder_without_a_rule() {
    let catalogue = Catalogue::builtin().expect("built-in rules load");
    for entry in std::fs::read_dir(fixtures()).expect("fixtures/rules exists") {
        let name = entry.expect("entry").file_name().to_string_lossy().to_string();
        assert!(catalogue.get(&name).is_some(), "fixtures/rules/{name} has no rule");
    }
}
