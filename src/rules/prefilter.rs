//! Literal prefilters: per file kind, one Aho-Corasick automaton over the `prefilter` literals of
//! every rule that can see that kind, so a file that cannot match any rule is never parsed.

use std::collections::HashMap;

use aho_corasick::{AhoCorasick, AhoCorasickBuilder};

use super::catalogue::Catalogue;
use crate::collect::kinds;
use crate::evidence::Subject;
use crate::version::Version;

/// Prefilters for every kind; a kind without one is always analysed.
#[derive(Debug, Default)]
pub struct Prefilters {
    by_kind: HashMap<&'static str, AhoCorasick>,
}

impl Prefilters {
    /// Builds the prefilters for the rules active at `target`. A kind gets one only when every rule
    /// that applies to it declares literals.
    pub fn build(catalogue: &Catalogue, target: &Version) -> Prefilters {
        let mut by_kind = HashMap::new();
        for kind in kinds::ALL {
            // Rules on `node` records are left out: those records come only from cluster objects
            // and from the per-node summary of a node scan, never from analysing one file, so
            // such a rule (which has no literals) must not switch prefiltering off for file kinds.
            let rules: Vec<_> = catalogue
                .rules
                .iter()
                .filter(|r| r.active_for(target) && r.subject() != Subject::Node)
                .filter(|r| r.applies_to_kind(kind) || kinds::embeds_others(kind))
                .collect();
            if rules.is_empty() || rules.iter().any(|r| r.spec.prefilter.is_empty()) {
                continue;
            }
            let mut literals: Vec<&str> =
                rules.iter().flat_map(|r| r.spec.prefilter.iter().map(String::as_str)).collect();
            literals.sort_unstable();
            literals.dedup();
            if let Ok(ac) = AhoCorasickBuilder::new().ascii_case_insensitive(true).build(&literals) {
                by_kind.insert(*kind, ac);
            }
        }
        Prefilters { by_kind }
    }

    /// No prefiltering at all.
    pub fn none() -> Prefilters {
        Prefilters::default()
    }

    /// Whether a file of `kind` with this text may produce a finding.
    pub fn may_match(&self, kind: &str, text: &str) -> bool {
        match self.by_kind.get(kind) {
            Some(ac) => ac.is_match(text),
            None => true,
        }
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
        assert!(!p.may_match("shell", "#!/bin/sh\necho hello\n"));
        assert!(p.may_match("shell", "#!/bin/sh\ndocker ps\n"));
    }
}
