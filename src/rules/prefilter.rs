//! Literal prefilters: per file kind, one Aho-Corasick automaton over the `prefilter` literals of
//! every rule that can see that kind, so a file that cannot match any rule is never parsed.

use std::collections::HashMap;
use std::sync::Arc;

use aho_corasick::{AhoCorasick, AhoCorasickBuilder};

use super::catalogue::Catalogue;
use crate::evidence::Subject;
use crate::evidence::file_kind::{self, FileKind};
use crate::version::Version;

/// Prefilters for every kind; a kind without one is always analysed.
#[derive(Debug, Default)]
pub struct Prefilters {
    by_kind: HashMap<FileKind, Arc<AhoCorasick>>,
}

impl Prefilters {
    /// Builds the prefilters for the rules active at `target`. A kind gets one only when every rule
    /// that applies to it declares literals.
    pub fn build(catalogue: &Catalogue, target: &Version) -> Prefilters {
        let mut by_kind = HashMap::new();
        let mut built: HashMap<Vec<String>, Arc<AhoCorasick>> = HashMap::new();
        for kind in FileKind::all() {
            // Rules on `node` records are left out: those records come only from cluster objects
            // and from the per-node summary of a node scan, never from analysing one file, so
            // such a rule (which has no literals) must not switch prefiltering off for file kinds.
            let rules: Vec<_> = catalogue
                .rules
                .iter()
                .filter(|r| r.active_for(target) && r.subject() != Subject::Node)
                .filter(|r| r.applies_to_kind(kind.name()) || kind.embeds_others())
                .collect();
            if rules.is_empty() || rules.iter().any(|r| r.spec.prefilter.is_empty()) {
                continue;
            }
            let mut literals: Vec<&str> = rules
                .iter()
                .flat_map(|r| {
                    r.spec.prefilter.iter().chain(r.spec.prefilter_for.get(kind.name()).into_iter().flatten())
                })
                .map(String::as_str)
                .collect();
            literals.sort_unstable();
            literals.dedup();
            // Many kinds share one literal set (every embedding kind sees every rule): build each
            // distinct automaton once, since building dominates the start-up of a small scan.
            let key: Vec<String> = literals.iter().map(|l| l.to_string()).collect();
            if let Some(ac) = built.get(&key) {
                by_kind.insert(kind, Arc::clone(ac));
            } else if let Ok(ac) = AhoCorasickBuilder::new().ascii_case_insensitive(true).build(&literals) {
                let ac = Arc::new(ac);
                built.insert(key, Arc::clone(&ac));
                by_kind.insert(kind, ac);
            }
        }
        Prefilters { by_kind }
    }

    /// Whether a file of `kind` with this text may produce a finding.
    pub fn may_match(&self, kind: FileKind, text: &str) -> bool {
        match self.by_kind.get(&kind) {
            Some(ac) => ac.is_match(text),
            None => true,
        }
    }
}

impl file_kind::Prefilter for Prefilters {
    fn may_match(&self, kind: FileKind, text: &str) -> bool {
        Prefilters::may_match(self, kind, text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn node_rules_do_not_switch_file_prefilters_off() {
        // The `node-*` rules have no literals and apply to every kind, but `node` records never
        // come from a file: a shell script without any rule's literal is still skipped.
        let catalogue = Catalogue::builtin().expect("built-in catalogue");
        let target = catalogue.newest_release();
        let p = Prefilters::build(&catalogue, &target);
        assert!(!p.may_match(FileKind::Shell, "#!/bin/sh\necho hello\n"));
        assert!(p.may_match(FileKind::Shell, "#!/bin/sh\ndocker ps\n"));
    }

    #[test]
    fn per_kind_literals_apply_to_their_kind_only() {
        // `removed-kubelet-flag` adds "--" for kubelet environment files (a variable need not be
        // named KUBELET_*), but that does not let a manifest with container args through.
        let catalogue = Catalogue::builtin().expect("built-in catalogue");
        let target = catalogue.newest_release();
        let p = Prefilters::build(&catalogue, &target);
        assert!(p.may_match(FileKind::KubeletEnv, "EXTRA_ARGS=--network-plugin=cni\n"));
        assert!(!p.may_match(FileKind::KubeletEnv, "# nothing set here\n"));
        let manifest = "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: api\nspec:\n  template:\n    spec:\n      containers:\n        - name: api\n          image: example/api:1.2\n          args: [--port=8080]\n";
        assert!(!p.may_match(FileKind::K8sManifest, manifest));
        assert!(p.may_match(FileKind::K8sManifest, &manifest.replace("--port=8080", "--kubelet-extra-args=x")));
    }

    #[test]
    fn kinds_with_the_same_literals_share_one_automaton() {
        let catalogue = Catalogue::builtin().expect("built-in catalogue");
        let p = Prefilters::build(&catalogue, &catalogue.newest_release());
        let (a, b) = (&p.by_kind[&FileKind::K8sManifest], &p.by_kind[&FileKind::HelmTemplate]);
        assert!(Arc::ptr_eq(a, b), "embedding kinds see the same rules, so the same literal set");
    }
}
