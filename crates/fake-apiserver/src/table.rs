//! Minimal `meta.k8s.io/v1` Table answers, for `kubectl get` without `-o`.
//!
//! Place in the pipeline: inside the fake API server (test support). kubectl asks for
//! `Accept: application/json;as=Table;...` when it prints for people; this answers with a Name
//! column (plus the per-kind columns of the registry entry) and each row's object metadata.
//!
//! Must not: be used for anything but printing (the audit itself reads plain lists).

use serde_json::{Map, Value, json};

use super::handler::param;
use super::store::{Entry, Store};
use dockershim_audit::collect::cluster::kinds::ResourceKind;

/// A Table of `entries`.
pub(crate) fn table(
    res: &ResourceKind,
    api_version: &str,
    entries: &[&Entry],
    store: &Store,
    next: Option<&str>,
    query: Option<&str>,
) -> Value {
    let include = param(query, "includeObject").unwrap_or_else(|| "Metadata".to_string());
    let cols = res.columns;
    let mut defs = vec![json!({
        "name": "Name", "type": "string", "format": "name", "priority": 0,
        "description": "Name must be unique within a namespace.",
    })];
    for (name, _) in cols {
        defs.push(json!({"name": name, "type": "string", "format": "", "priority": 0, "description": name}));
    }
    let rows: Vec<Value> = entries
        .iter()
        .map(|e| {
            let obj: Value = serde_json::from_slice(&e.json).unwrap_or(Value::Null);
            let mut cells = vec![json!(e.name)];
            for (_, pointer) in cols {
                let cell = match obj.pointer(pointer) {
                    Some(Value::String(s)) => json!(s),
                    Some(Value::Number(n)) => json!(n.to_string()),
                    Some(Value::Bool(b)) => json!(b.to_string()),
                    _ => json!("<none>"),
                };
                cells.push(cell);
            }
            let object = match include.as_str() {
                "None" => Value::Null,
                "Object" => {
                    let mut m = Map::new();
                    m.insert("kind".into(), json!(res.kind));
                    m.insert("apiVersion".into(), json!(api_version));
                    if let Value::Object(o) = obj {
                        m.extend(o);
                    }
                    Value::Object(m)
                }
                _ => json!({
                    "kind": "PartialObjectMetadata",
                    "apiVersion": "meta.k8s.io/v1",
                    "metadata": obj.get("metadata").cloned().unwrap_or_else(|| json!({})),
                }),
            };
            json!({"cells": cells, "object": object})
        })
        .collect();
    let mut metadata = json!({"resourceVersion": store.resource_version.to_string()});
    if let Some(tok) = next {
        metadata["continue"] = json!(tok);
    }
    json!({
        "kind": "Table",
        "apiVersion": "meta.k8s.io/v1",
        "metadata": metadata,
        "columnDefinitions": defs,
        "rows": rows,
    })
}
