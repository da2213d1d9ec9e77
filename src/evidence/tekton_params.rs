//! Tekton parameter substitution, before the workload rules read a Task, Pipeline or Run: a
//! step's or sidecar's `image: $(params.dind_image)` with `default: docker:dind` in the same
//! spec's `params` is read as `docker:dind`, as Tekton would run it when nobody overrides it.
//!
//! Only scalar defaults (and a Run's or pipeline task's `params[].value`) are substituted; a
//! reference without a value stays as written. Nothing here changes where a record points: the
//! object keeps its shape, only string values change.

use std::collections::HashMap;

use serde_json::Value as Json;

/// Whether the object is a Tekton resource (`tekton.dev/*`).
pub fn is_tekton(object: &Json) -> bool {
    object.get("apiVersion").and_then(Json::as_str).is_some_and(|v| v.starts_with("tekton.dev/"))
}

/// Substitutes `$(params.NAME)`, `$(params['NAME'])`, `$(params["NAME"])` and
/// `$(inputs.params.NAME)` in every string of `object`, with the values of the nearest enclosing
/// mapping's `params` list that declares NAME.
pub fn resolve(object: &mut Json) {
    walk(object, &HashMap::new(), 0);
}

fn walk(v: &mut Json, outer: &HashMap<String, String>, depth: usize) {
    if depth > 16 {
        return;
    }
    match v {
        Json::Object(m) => {
            let mut scope = outer.clone();
            if let Some(params) = m.get("params").and_then(Json::as_array) {
                for p in params {
                    let Some(name) = p.get("name").and_then(Json::as_str) else { continue };
                    let value = p.get("value").or_else(|| p.get("default"));
                    if let Some(text) = value.and_then(scalar) {
                        // A value may itself name an outer parameter (a pipeline task passing
                        // `$(params.x)` of its pipeline on to its task spec).
                        scope.insert(name.to_string(), substitute(&text, outer));
                    }
                }
            }
            for (k, child) in m.iter_mut() {
                // The declarations read from the outer scope; everything else from this one.
                let s = if k == "params" { outer } else { &scope };
                walk(child, s, depth + 1);
            }
        }
        Json::Array(items) => {
            for child in items {
                walk(child, outer, depth + 1);
            }
        }
        Json::String(s) if !outer.is_empty() && s.contains("$(") => {
            let new = substitute(s, outer);
            *s = new;
        }
        _ => {}
    }
}

fn scalar(v: &Json) -> Option<String> {
    match v {
        Json::String(s) => Some(s.clone()),
        Json::Number(n) => Some(n.to_string()),
        Json::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

/// `text` with every known parameter reference replaced by its value.
fn substitute(text: &str, scope: &HashMap<String, String>) -> String {
    if scope.is_empty() || !text.contains("$(") {
        return text.to_string();
    }
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find("$(") {
        out.push_str(&rest[..at]);
        let tail = &rest[at..];
        match reference(tail).and_then(|(name, len)| scope.get(name).map(|v| (v, len))) {
            Some((value, len)) => {
                out.push_str(value);
                rest = &tail[len..];
            }
            None => {
                out.push_str("$(");
                rest = &tail[2..];
            }
        }
    }
    out.push_str(rest);
    out
}

/// The parameter name of a reference at the start of `s` (`$(params.x)` ...) and its length.
fn reference(s: &str) -> Option<(&str, usize)> {
    let body = s.strip_prefix("$(")?;
    let body = body.strip_prefix("inputs.").unwrap_or(body);
    let skipped = s.len() - body.len();
    let body = body.strip_prefix("params")?;
    let skipped = skipped + "params".len();
    if let Some(dotted) = body.strip_prefix('.') {
        let end = dotted.find(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == '-'))?;
        if end == 0 || !dotted[end..].starts_with(')') {
            return None;
        }
        return Some((&dotted[..end], skipped + 1 + end + 1));
    }
    let quote = body.strip_prefix('[')?.chars().next().filter(|c| *c == '\'' || *c == '"')?;
    let inner = &body[2..];
    let end = inner.find(quote)?;
    if !inner[end + 1..].starts_with("])") {
        return None;
    }
    Some((&inner[..end], skipped + 2 + end + 3))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn substitutes_defaults_in_steps_and_sidecars() {
        let mut task = json!({
            "apiVersion": "tekton.dev/v1beta1", "kind": "Task",
            "spec": {
                "params": [{"name": "dind_image", "default": "docker:dind"}, {"name": "image"}],
                "steps": [{"name": "b", "image": "docker", "script": "docker push $(params.image) $(params['dind_image'])"}],
                "sidecars": [{"name": "server", "image": "$(params.dind_image)"}]
            }
        });
        resolve(&mut task);
        assert_eq!(task.pointer("/spec/sidecars/0/image").unwrap(), "docker:dind");
        assert_eq!(task.pointer("/spec/steps/0/script").unwrap(), "docker push $(params.image) docker:dind");
        // The declarations themselves keep their text.
        assert_eq!(task.pointer("/spec/params/0/default").unwrap(), "docker:dind");
    }

    #[test]
    fn pipeline_task_values_pass_pipeline_params_on() {
        let mut pipeline = json!({
            "spec": {
                "params": [{"name": "daemon", "default": "docker:24-dind"}],
                "tasks": [{"name": "t", "params": [{"name": "img", "value": "$(params.daemon)"}],
                           "taskSpec": {"params": [{"name": "img"}],
                                        "sidecars": [{"name": "d", "image": "$(params.img)"}]}}]
            }
        });
        resolve(&mut pipeline);
        assert_eq!(pipeline.pointer("/spec/tasks/0/taskSpec/sidecars/0/image").unwrap(), "docker:24-dind");
    }

    #[test]
    fn leaves_unknown_and_malformed_references() {
        let scope: HashMap<String, String> = [("a".to_string(), "x".to_string())].into();
        assert_eq!(substitute("$(params.b) $(params.a", &scope), "$(params.b) $(params.a");
        assert_eq!(substitute("$(inputs.params.a)$(params[\"a\"])$(", &scope), "xx$(");
        assert_eq!(substitute("$(params.a)/$(workspaces.src.path)", &scope), "x/$(workspaces.src.path)");
    }
}
