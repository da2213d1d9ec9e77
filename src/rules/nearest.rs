//! "Did you mean …": the known name nearest to a misspelt one, for load-time errors about rule
//! files, `steps.yaml` and record fields. Pure.

/// The candidate closest to `word` by edit distance, when it is close enough to be a likely typo
/// (at most a third of the word's length, at least 1), or when one name contains the other.
/// Ties go to the first candidate.
pub fn nearest<'a>(word: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    let limit = (word.chars().count() / 3).max(1);
    let mut best: Option<(usize, &str)> = None;
    for c in candidates {
        let d = distance(word, c);
        let close = d <= limit || (word.len() >= 4 && (c.contains(word) || word.contains(c)) && c.len() >= 4);
        if close && best.is_none_or(|(b, _)| d < b) {
            best = Some((d, c));
        }
    }
    best.map(|(_, c)| c)
}

/// ` (did you mean `NAME`?)`, or nothing when no name is near.
pub fn did_you_mean<'a>(word: &str, candidates: impl IntoIterator<Item = &'a str>) -> String {
    nearest(word, candidates).map(|n| format!(" (did you mean `{n}`?)")).unwrap_or_default()
}

/// Levenshtein distance over chars.
fn distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    let mut cur = vec![0; b.len() + 1];
    for (i, ca) in a.chars().enumerate() {
        cur[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let subst = prev[j] + usize::from(ca != *cb);
            cur[j + 1] = subst.min(prev[j + 1] + 1).min(cur[j] + 1);
        }
        std::mem::swap(&mut prev, &mut cur);
    }
    prev[b.len()]
}

#[cfg(test)]
mod tests {
    use super::{distance, nearest};

    #[test]
    fn finds_likely_typos_only() {
        assert_eq!(distance("kitten", "sitting"), 3);
        let known = ["host_path", "raw_path", "mount_paths", "workload"];
        assert_eq!(nearest("hostpath", known), Some("host_path"));
        assert_eq!(nearest("mount_path", known), Some("mount_paths"));
        assert_eq!(nearest("wrkload", known), Some("workload"));
        assert_eq!(nearest("image", known), None);
        assert_eq!(nearest("x", ["y", "xy"]), Some("y"));
    }
}
