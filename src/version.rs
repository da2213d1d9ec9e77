//! Kubernetes and runtime version numbers, parsed leniently and compared numerically.
//! Used by the rule engine (`since`, `version_below`, data rows' `removed_in`) and by the CLI.

use std::cmp::Ordering;
use std::fmt;

/// A dotted version such as `1.23`, `v1.23.17`, `1.6.20-rc.1` or `20.10.21`, compared by its numeric parts.
/// Missing parts count as zero, so `1.24` equals `1.24.0`; anything after the numbers (`-rc.1`, `+k3s1`) is ignored.
#[derive(Debug, Clone)]
pub struct Version {
    parts: Vec<u64>,
}

impl PartialEq for Version {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}

impl Eq for Version {}

impl std::hash::Hash for Version {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        // Equal versions (1.24 and 1.24.0) must hash alike: drop trailing zeros.
        let end = self.parts.iter().rposition(|p| *p != 0).map_or(0, |i| i + 1);
        self.parts[..end].hash(state);
    }
}

impl Version {
    /// Parses the leading numeric parts of `text`, with an optional `v` and an optional `<runtime>://` prefix.
    /// Returns `None` when no number is found.
    pub fn parse(text: &str) -> Option<Version> {
        let text = text.trim();
        let text = text.rsplit_once("://").map_or(text, |(_, v)| v);
        let text = text.trim_start_matches(['v', 'V']);
        let mut parts = Vec::new();
        for piece in text.split('.') {
            let digits: String = piece.chars().take_while(|c| c.is_ascii_digit()).collect();
            if digits.is_empty() {
                break;
            }
            parts.push(digits.parse().ok()?);
            if digits.len() != piece.len() {
                break;
            }
        }
        if parts.is_empty() { None } else { Some(Version { parts }) }
    }

    /// The `major.minor` of this version.
    pub fn minor(&self) -> Version {
        Version { parts: vec![self.part(0), self.part(1)] }
    }

    /// The next minor release (`1.23.17` -> `1.24`); `None` when the minor is the largest number
    /// a version part holds (a hostile `/version` must not wrap around to `1.0`).
    pub fn next_minor(&self) -> Option<Version> {
        Some(Version { parts: vec![self.part(0), self.part(1).checked_add(1)?] })
    }

    fn part(&self, i: usize) -> u64 {
        self.parts.get(i).copied().unwrap_or(0)
    }
}

impl Ord for Version {
    fn cmp(&self, other: &Self) -> Ordering {
        let n = self.parts.len().max(other.parts.len());
        (0..n).map(|i| self.part(i).cmp(&other.part(i))).find(|o| o.is_ne()).unwrap_or(Ordering::Equal)
    }
}

impl PartialOrd for Version {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl fmt::Display for Version {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let text: Vec<String> = self.parts.iter().map(u64::to_string).collect();
        f.write_str(&text.join("."))
    }
}

impl std::str::FromStr for Version {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Version::parse(s).ok_or_else(|| format!("`{s}` is not a version such as 1.24"))
    }
}

#[cfg(test)]
mod tests {
    use super::Version;

    fn v(s: &str) -> Version {
        Version::parse(s).unwrap()
    }

    #[test]
    fn parses_the_forms_clusters_report() {
        assert_eq!(v("v1.23.17").to_string(), "1.23.17");
        assert_eq!(v("docker://20.10.21").to_string(), "20.10.21");
        assert_eq!(v("containerd://1.6.20-0ubuntu1").to_string(), "1.6.20");
        assert_eq!(v("v1.24.3+k3s1").to_string(), "1.24.3");
        assert_eq!(v("cri-o://1.21.6-2.rhaos4.8.gitb948fcd.2.el8").to_string(), "1.21.6");
        assert!(Version::parse("latest").is_none());
        assert!(Version::parse("").is_none());
    }

    #[test]
    fn compares_numerically_not_lexically() {
        assert!(v("1.9") < v("1.10"));
        assert!(v("1.24") == v("1.24.0"));
        assert!(v("1.23.17") < v("1.24"));
        assert!(v("1.5.9") < v("1.6"));
        // See: issue 14, item 11 (the minor wrapped to 0, the debug build panicked).
        assert_eq!(v("1.18446744073709551615").next_minor(), None);
        assert!(Version::parse("1.18446744073709551616").is_none(), "too large to hold is unparsable");
        assert_eq!(v("1.23.17").next_minor(), Some(v("1.24")));
        assert_eq!(v("1.23.17").minor(), v("1.23"));
    }
}
