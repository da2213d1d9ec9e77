//! The target Kubernetes version and where it came from: one resolution order for every command,
//! decided once in `lib.rs` before the rules run and shown by every renderer with its source.
//!
//! Order: `--target-version` → the config file's `targetVersion` → the live cluster's `/version`
//! (next minor) → the snapshot's recorded server version (next minor) → the version the scanned
//! material declares (next minor of the highest: kubeadm `kubernetesVersion`, control-plane kubelet
//! versions, kubespray `kube_version`, KubeKey `version`) → the newest release in the data, labelled
//! as a fallback. Explicit versions outside the data are errors; derived ones are clamped to it, and
//! the label says so.

use std::fmt;

use crate::version::Version;

/// Where the target version came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    /// `--target-version`.
    Flag,
    /// `targetVersion` in the config file.
    Config,
    /// The live cluster's `/version`, whose next minor is the target.
    Cluster {
        /// The server's version.
        server: Version,
    },
    /// The server version recorded in a snapshot, whose next minor is the target.
    Snapshot {
        /// The recorded server version.
        server: Version,
    },
    /// A version the scanned material declares, whose next minor is the target.
    Declared {
        /// The declared version.
        version: Version,
        /// What declares it (`kubernetesVersion in kubeadm/config.yaml:3`).
        by: String,
    },
    /// Nothing said which version runs: the newest release the data knows.
    NewestKnown,
    /// Saved results merged by `report`, all scored at this target.
    Inputs,
}

impl Source {
    /// The short machine name used in JSON and SARIF (`flag`, `config`, `cluster`, `snapshot`,
    /// `declared`, `newest-known`, `inputs`).
    pub fn key(&self) -> &'static str {
        match self {
            Source::Flag => "flag",
            Source::Config => "config",
            Source::Cluster { .. } => "cluster",
            Source::Snapshot { .. } => "snapshot",
            Source::Declared { .. } => "declared",
            Source::NewestKnown => "newest-known",
            Source::Inputs => "inputs",
        }
    }
}

/// The target version with its source.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    /// `major.minor`.
    pub version: Version,
    /// Where it came from.
    pub source: Source,
    /// Set when a derived version was outside the data and was clamped to its newest or raised to
    /// its oldest release (the version the source asked for).
    pub clamped_from: Option<Version>,
}

impl Target {
    /// A target with no clamping.
    pub fn new(version: Version, source: Source) -> Target {
        Target { version, source, clamped_from: None }
    }

    /// Why this version, in words: `--target-version`, `cluster /version v1.24.3, next minor`,
    /// `no cluster version found; newest known`.
    pub fn reason(&self) -> String {
        let mut s = match &self.source {
            Source::Flag => "--target-version".to_string(),
            Source::Config => "targetVersion in the config file".to_string(),
            Source::Cluster { server } => format!("cluster /version v{server}, next minor"),
            Source::Snapshot { server } => format!("server version v{server} recorded in the snapshot, next minor"),
            Source::Declared { version, by } => format!("v{version} declared by {by}, next minor"),
            Source::NewestKnown => "no cluster version found; newest known".to_string(),
            Source::Inputs => "the target of every merged result".to_string(),
        };
        match &self.clamped_from {
            Some(c) if *c > self.version => {
                s.push_str(&format!("; {c} is newer than the rule data, which ends at {}", self.version))
            }
            Some(c) => s.push_str(&format!("; {c} is older than the rule data, which starts at {}", self.version)),
            None => {}
        }
        s
    }
}

impl fmt::Display for Target {
    /// `1.25 (cluster /version v1.24.3, next minor)`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({})", self.version, self.reason())
    }
}

/// The Kubernetes minor releases the rule data knows, oldest first (never empty).
#[derive(Debug, Clone)]
pub struct Known {
    versions: Vec<Version>,
    newest_released: Version,
}

impl Known {
    /// From the `kubernetes-releases` rows and the newest released one.
    pub fn new(mut versions: Vec<Version>, newest_released: Version) -> Known {
        versions.sort();
        versions.dedup();
        if versions.is_empty() {
            versions.push(newest_released.clone());
        }
        Known { versions, newest_released }
    }

    /// `1.19 to 1.37`.
    pub fn range(&self) -> String {
        format!("{} to {}", self.versions[0], self.versions[self.versions.len() - 1])
    }

    /// Parses an explicit version (`--target-version`, `targetVersion`): it must be a
    /// `major.minor[.patch]` the data knows. `what` names where it was written, for the error.
    pub fn parse_explicit(&self, text: &str, what: &str) -> Result<Version, String> {
        let t = text.trim();
        let numeric = t.trim_start_matches(['v', 'V']);
        let well_formed = numeric.split('.').count() >= 2
            && numeric.split('.').take(2).all(|p| !p.is_empty() && p.chars().all(|c| c.is_ascii_digit()));
        let v = Version::parse(t).filter(|_| well_formed).map(|v| v.minor());
        match v {
            Some(v) if self.versions.contains(&v) => Ok(v),
            Some(v) => Err(format!(
                "{what} `{text}`{} is outside the Kubernetes versions the rule data knows ({}); give one of those",
                if v.to_string() == t.trim_start_matches(['v', 'V']) { String::new() } else { format!(" ({v})") },
                self.range()
            )),
            None => Err(format!(
                "{what} `{text}` is not a Kubernetes version such as 1.24 (the rule data knows {})",
                self.range()
            )),
        }
    }

    /// A derived target (the next minor of a version seen): kept when known, clamped to the
    /// newest known when newer, raised to the oldest when older.
    pub fn derived(&self, next_minor: Version, source: Source) -> Target {
        let newest = &self.versions[self.versions.len() - 1];
        let oldest = &self.versions[0];
        if next_minor > *newest {
            Target { version: newest.clone(), source, clamped_from: Some(next_minor) }
        } else if next_minor < *oldest {
            Target { version: oldest.clone(), source, clamped_from: Some(next_minor) }
        } else {
            Target::new(next_minor, source)
        }
    }

    /// The releases an upgrade from `from` passes through, oldest first: every known minor after
    /// `from` (all of them when it is unknown) up to the newest released one, or to `target` when
    /// that is newer.
    pub fn releases_after(&self, from: Option<&Version>, target: &Version) -> Vec<Version> {
        let last = if *target > self.newest_released { target } else { &self.newest_released };
        self.versions.iter().filter(|v| from.is_none_or(|f| *v > f) && *v <= last).cloned().collect()
    }

    /// The fallback target.
    pub fn newest(&self) -> Target {
        Target::new(self.newest_released.clone(), Source::NewestKnown)
    }
}

/// What the collectors found about the running version, in resolution order after the explicit ones.
#[derive(Debug, Clone, Default)]
pub struct Seen {
    /// The live cluster's `/version`.
    pub live: Option<Version>,
    /// The server version a snapshot recorded.
    pub snapshot: Option<Version>,
    /// Versions the scanned material declares, with what declares each.
    pub declared: Vec<(Version, String)>,
}

impl Seen {
    /// The version the scanned cluster or material runs (`major.minor`), in resolution order: the
    /// live server, the snapshot's, the highest the material declares.
    pub fn running(&self) -> Option<Version> {
        self.live
            .as_ref()
            .or(self.snapshot.as_ref())
            .or_else(|| self.declared.iter().map(|(v, _)| v).max())
            .map(Version::minor)
    }
}

/// Resolves the target in the one order every command uses.
pub fn resolve(flag: Option<&str>, config: Option<&str>, seen: &Seen, known: &Known) -> Result<Target, String> {
    if let Some(t) = flag {
        return known.parse_explicit(t, "--target-version").map(|v| Target::new(v, Source::Flag));
    }
    if let Some(t) = config {
        return known.parse_explicit(t, "targetVersion in the config file").map(|v| Target::new(v, Source::Config));
    }
    // A version whose next minor cannot be computed is unusable: the next source decides.
    if let Some((s, next)) = seen.live.as_ref().and_then(|s| Some((s, s.next_minor()?))) {
        return Ok(known.derived(next, Source::Cluster { server: s.clone() }));
    }
    if let Some((s, next)) = seen.snapshot.as_ref().and_then(|s| Some((s, s.next_minor()?))) {
        return Ok(known.derived(next, Source::Snapshot { server: s.clone() }));
    }
    // The highest declared version: a cluster is upgraded to the next minor of its newest part.
    let usable = seen.declared.iter().filter_map(|(v, by)| Some((v, by, v.next_minor()?)));
    if let Some((v, by, next)) = usable.max_by(|a, b| a.0.cmp(b.0).then_with(|| b.1.cmp(a.1))) {
        return Ok(known.derived(next, Source::Declared { version: v.clone(), by: by.clone() }));
    }
    Ok(known.newest())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(s: &str) -> Version {
        Version::parse(s).unwrap()
    }

    fn known() -> Known {
        Known::new((19..=37).map(|m| v(&format!("1.{m}"))).collect(), v("1.37"))
    }

    // See: issue 13 (`--target-version 1` was read as 1.0 and gave READY).
    #[test]
    fn explicit_versions_outside_the_data_are_errors_naming_the_range() {
        let k = known();
        for bad in ["1", "2.0", "1.99", "banana", "", "1.x", "1.18"] {
            let e = k.parse_explicit(bad, "--target-version").unwrap_err();
            assert!(e.contains("1.19 to 1.37"), "{bad}: {e}");
        }
        assert_eq!(k.parse_explicit("v1.24.3", "--target-version").unwrap(), v("1.24"));
        assert_eq!(k.parse_explicit("1.37", "--target-version").unwrap(), v("1.37"));
    }

    #[test]
    fn one_order_for_every_source() {
        let k = known();
        let mut seen = Seen {
            live: Some(v("1.23.17")),
            snapshot: Some(v("1.22.1")),
            declared: vec![(v("1.21.0"), "kubeadm".into())],
        };
        assert_eq!(resolve(Some("1.30"), Some("1.29"), &seen, &k).unwrap().source, Source::Flag);
        assert_eq!(resolve(None, Some("1.29"), &seen, &k).unwrap().version, v("1.29"));
        assert_eq!(resolve(None, None, &seen, &k).unwrap().version, v("1.24"));
        seen.live = None;
        assert_eq!(resolve(None, None, &seen, &k).unwrap().version, v("1.23"));
        seen.snapshot = None;
        seen.declared.push((v("1.22.4"), "kubelet".into()));
        let t = resolve(None, None, &seen, &k).unwrap();
        assert_eq!(
            (t.version.clone(), t.to_string()),
            (v("1.23"), "1.23 (v1.22.4 declared by kubelet, next minor)".into())
        );
        seen.declared.clear();
        let t = resolve(None, None, &seen, &k).unwrap();
        assert_eq!(t.to_string(), "1.37 (no cluster version found; newest known)");
        // See: issue 14, item 11: an overflowing version is skipped, the next source decides.
        let huge = v("1.18446744073709551615");
        let t = resolve(None, None, &Seen { live: Some(huge.clone()), ..Seen::default() }, &k).unwrap();
        assert_eq!(t.source, Source::NewestKnown);
        let seen = Seen {
            snapshot: Some(huge.clone()),
            declared: vec![(huge, "a".into()), (v("1.22.0"), "b".into())],
            ..Seen::default()
        };
        assert_eq!(resolve(None, None, &seen, &k).unwrap().to_string(), "1.23 (v1.22.0 declared by b, next minor)");
        let t = resolve(None, None, &Seen { live: Some(v("1.37.2")), ..Seen::default() }, &k).unwrap();
        assert_eq!(t.version, v("1.37"));
        assert!(t.reason().contains("1.38 is newer than the rule data"), "{}", t.reason());
        // A repository declaring 1.9 is scored at the oldest release the data knows, and says so
        // (it used to read "1.19 (v1.9.5 declared by a, next minor)").
        let seen = Seen { declared: vec![(v("1.9.5"), "a".into())], ..Seen::default() };
        let t = resolve(None, None, &seen, &k).unwrap();
        assert_eq!(
            t.to_string(),
            "1.19 (v1.9.5 declared by a, next minor; 1.10 is older than the rule data, which starts at 1.19)"
        );
    }
}
