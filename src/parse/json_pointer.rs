//! JSON pointers (RFC 6901) into `serde_json` values, without an allocation per step.
//!
//! Place in the pipeline: below the evidence builders, which look up a few fixed paths in each of
//! tens of thousands of cluster objects (pod specs, owner references, containers' fields).
//! `serde_json::Value::pointer` unescapes every segment into a new `String`; at 15k pods those
//! copies were a visible share of the evidence step (issue 16).

use serde_json::Value;

/// `v.pointer(p)`, with the same answers: a path with an escape (`~0`, `~1`) goes to `pointer`
/// itself, array indexes follow its rules (digits only, no leading `+` or `0`).
pub fn at<'a>(v: &'a Value, p: &str) -> Option<&'a Value> {
    if p.contains('~') {
        return v.pointer(p);
    }
    if p.is_empty() {
        return Some(v);
    }
    let mut current = v;
    for segment in p.strip_prefix('/')?.split('/') {
        current = match current {
            Value::Object(map) => field(map, segment)?,
            Value::Array(list) => {
                if segment.starts_with('+') || (segment.starts_with('0') && segment.len() > 1) {
                    return None;
                }
                list.get(segment.parse::<usize>().ok()?)?
            }
            _ => return None,
        };
    }
    Some(current)
}

/// `map.get(key)`: a small map (every map of a pruned object) is scanned in order instead, which
/// costs less than hashing the key with `serde_json`'s SipHash (a third of a 15k-pod audit's
/// evidence step went to those hashes and their probes; issue 16). A repeated key cannot occur
/// in a map, so the first match is the only one.
pub fn field<'a>(map: &'a serde_json::Map<String, Value>, key: &str) -> Option<&'a Value> {
    if map.len() <= SCANNED {
        return map.iter().find_map(|(k, v)| (k == key).then_some(v));
    }
    map.get(key)
}

/// `v.get(key)` for an object, by [`field`]; `None` for anything else.
pub fn get<'a>(v: &'a Value, key: &str) -> Option<&'a Value> {
    match v {
        Value::Object(map) => field(map, key),
        _ => None,
    }
}

/// Maps up to this many keys are scanned rather than hashed ([`field`]).
const SCANNED: usize = 12;

#[cfg(test)]
mod tests {
    use super::at;
    use serde_json::json;

    #[test]
    fn answers_as_pointer_does() {
        let v = json!({"a": {"b/c": 1, "d~e": 2, "list": [10, 11, {"x": "y"}], "": 3}, "n": null});
        for p in [
            "",
            "/a",
            "/a/b~1c",
            "/a/d~0e",
            "/a/list/0",
            "/a/list/2/x",
            "/a/list/01",
            "/a/list/+1",
            "/a/list/3",
            "/a/list/x",
            "/a/",
            "/n",
            "/n/x",
            "a",
            "/missing/x",
            "/a/list/2/x/z",
        ] {
            assert_eq!(at(&v, p), v.pointer(p), "{p}");
        }
        assert_eq!(at(&v, "/a/list/1"), Some(&json!(11)));
        // Past the scanned size, the map's own lookup.
        let big: serde_json::Map<String, serde_json::Value> = (0..40).map(|i| (format!("k{i}"), json!(i))).collect();
        let big = serde_json::Value::Object(big);
        for i in [0, 11, 12, 39, 40] {
            assert_eq!(at(&big, &format!("/k{i}")), big.pointer(&format!("/k{i}")));
        }
    }
}
