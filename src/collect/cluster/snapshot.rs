//! The offline evidence format: everything `cluster` reads from the API, as one JSON document.
//!
//! Place in the pipeline: the output of the cluster collector (live, through `fetch`) and an input
//! in its own right (`cluster --snapshot FILE`, written by `snapshot -o FILE` or by
//! `kubectl get ... -A -o json`). Evidence builders read it; it is plain data.
//!
//! Must not: hold Secrets (they are dropped on load and noted in `skipped`), talk to a cluster, or
//! interpret the objects beyond sorting them by kind.

use std::collections::BTreeMap;
use std::path::Path;

use anyhow::{Context as _, bail};
use serde::de::{DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde::{Deserialize, Serialize, Serializer};
use serde_json::Value;

use super::kinds;
use super::kinds::Prune;
pub use super::pruned::FoldedPods;
pub use super::pruned::fill_type_meta;
use super::pruned::{ObjectSeedOf, PodOwners, Purpose};

/// `apiVersion` of a snapshot document.
pub const API_VERSION: &str = "dockershim-audit/v1";
/// `kind` of a snapshot document.
pub const KIND: &str = "ClusterSnapshot";

/// Everything `cluster` reads from the API, as one JSON document (`dockershim-audit snapshot -o FILE`).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ClusterSnapshot {
    /// Always `dockershim-audit/v1`.
    #[serde(default, serialize_with = "ser_api_version")]
    pub api_version: String,
    /// Always `ClusterSnapshot`.
    #[serde(default, serialize_with = "ser_kind")]
    pub kind: String,
    /// When the snapshot was taken (RFC 3339, UTC).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub captured_at: Option<String>,
    /// kubeconfig context the snapshot was taken through, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub context: Option<String>,
    /// The body of the server's `/version` answer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub server_version: Option<Value>,
    /// Objects by lowercase plural resource name: nodes, pods, deployments, daemonsets,
    /// statefulsets, replicasets, replicationcontrollers, jobs, cronjobs, configmaps. Objects are
    /// kept as dynamic JSON (clusters run 1.19-1.23, older than k8s-openapi's types) with `kind`
    /// and `apiVersion` filled in.
    #[serde(default)]
    pub resources: BTreeMap<String, Vec<Value>>,
    /// Live kubelet config per node name: the body of `/api/v1/nodes/NAME/proxy/configz`.
    #[serde(default)]
    pub configz: BTreeMap<String, Value>,
    /// What could not be read.
    #[serde(default)]
    pub gaps: Vec<Gap>,
    /// What was deliberately not read (e.g. configz without nodes/proxy rights, `--no-configz`), with why.
    #[serde(default)]
    pub skipped: Vec<Gap>,
    /// The pods a live `cluster` audit counted but did not keep (all after the first of their
    /// owner); never in a snapshot file, which keeps every pod.
    #[serde(skip)]
    pub folded_pods: FoldedPods,
}

/// Something that could not be read, or was deliberately not read.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Gap {
    /// Lowercase plural resource (`pods`, `nodes/proxy`), or `version`/`discovery` for API metadata.
    pub resource: String,
    /// Namespace the read was scoped to, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    /// Object name (a node for configz), if the gap concerns one object.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Why, in words (the API server's message where there was one).
    pub reason: String,
    /// The permission that would have allowed the read, in kubectl words,
    /// e.g. "list pods (core) at cluster scope".
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub missing_permission: Option<String>,
    /// HTTP status of the failed request, if one was answered.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub http_status: Option<u16>,
}

impl Gap {
    /// A gap on `resource` with a reason and nothing else.
    pub fn new(resource: impl Into<String>, reason: impl Into<String>) -> Gap {
        Gap {
            resource: resource.into(),
            namespace: None,
            name: None,
            reason: reason.into(),
            missing_permission: None,
            http_status: None,
        }
    }

    /// Sets the namespace.
    pub fn in_namespace(mut self, namespace: Option<&str>) -> Gap {
        self.namespace = namespace.map(str::to_string);
        self
    }

    /// Sets the object name.
    pub fn named(mut self, name: impl Into<String>) -> Gap {
        self.name = Some(name.into());
        self
    }

    /// Sets the missing permission.
    pub fn needing(mut self, permission: impl Into<String>) -> Gap {
        self.missing_permission = Some(permission.into());
        self
    }

    /// Sets the HTTP status.
    pub fn with_status(mut self, status: Option<u16>) -> Gap {
        self.http_status = status;
        self
    }
}

/// What kind of document a snapshot was loaded from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SourceFormat {
    /// A `dockershim-audit/v1` `ClusterSnapshot`.
    Snapshot,
    /// A `List` (or `PodList`, ...) such as `kubectl get ... -o json` writes.
    List,
    /// One Kubernetes object.
    Object,
}

/// What loading found besides the snapshot itself, for coverage reporting.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoadSummary {
    /// The shape of the input.
    pub format: SourceFormat,
    /// Objects kept.
    pub objects: usize,
    /// Objects of kinds the tool does not audit, by kind (also noted in `skipped`).
    pub ignored_kinds: BTreeMap<String, usize>,
    /// Secrets dropped (also noted in `skipped`).
    pub secrets_dropped: usize,
}

impl ClusterSnapshot {
    /// An empty snapshot with `apiVersion` and `kind` set.
    pub fn new() -> ClusterSnapshot {
        ClusterSnapshot { api_version: API_VERSION.into(), kind: KIND.into(), ..Default::default() }
    }

    /// Reads a snapshot written by `snapshot -o`, or the output of
    /// `kubectl get nodes,pods,deployments,... -A -o json` (a `v1/List` whose items carry `kind`),
    /// or a single object. Unknown kinds in a List are ignored but counted in `skipped` (see
    /// [`ClusterSnapshot::load_with_summary`] for the counts as data). Error messages name the file.
    pub fn load(path: &Path) -> anyhow::Result<ClusterSnapshot> {
        Ok(Self::load_with_summary(path)?.0)
    }

    /// Like [`ClusterSnapshot::load`], also returning what was ignored.
    pub fn load_with_summary(path: &Path) -> anyhow::Result<(ClusterSnapshot, LoadSummary)> {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read cluster snapshot {}", path.display()))?;
        Self::from_json_with_summary(&text)
            .with_context(|| format!("{} is not a usable cluster snapshot", path.display()))
    }

    /// Parses the text of a snapshot, a kubectl List or a single object (see [`ClusterSnapshot::load`]).
    pub fn from_json(text: &str) -> anyhow::Result<ClusterSnapshot> {
        Ok(Self::from_json_with_summary(text)?.0)
    }

    /// Like [`ClusterSnapshot::from_json`], also returning what was ignored.
    pub fn from_json_with_summary(text: &str) -> anyhow::Result<(ClusterSnapshot, LoadSummary)> {
        let trimmed = text.trim_start_matches('\u{feff}').trim_start();
        if !trimmed.starts_with('{') {
            bail!(
                "expected a JSON object: a dockershim-audit snapshot or the output of \
                 `kubectl get ... -o json`"
            );
        }
        let doc: Value = serde_json::from_str(trimmed).context("invalid JSON")?;
        let kind = doc.get("kind").and_then(Value::as_str).unwrap_or_default().to_string();
        let mut loader = Loader::default();
        let (mut snap, format) = if kind == KIND {
            let api_version = doc.get("apiVersion").and_then(Value::as_str).unwrap_or_default();
            if api_version != API_VERSION {
                bail!("unsupported snapshot apiVersion {api_version:?} (this build reads {API_VERSION:?})");
            }
            let raw: ClusterSnapshot =
                serde_json::from_value(doc).context("the snapshot does not have the expected fields")?;
            (loader.normalize(raw), SourceFormat::Snapshot)
        } else if kind.is_empty() {
            bail!("the document has no `kind`: it is neither a snapshot, a List nor a Kubernetes object");
        } else {
            let mut snap = ClusterSnapshot::new();
            let format = if doc.get("items").is_some_and(Value::is_array) && kind.ends_with("List") {
                SourceFormat::List
            } else {
                SourceFormat::Object
            };
            loader.add(&mut snap, doc, None, 0, None);
            (snap, format)
        };
        loader.note(&mut snap);
        let summary = LoadSummary {
            format,
            objects: snap.object_count(),
            ignored_kinds: loader.ignored,
            secrets_dropped: loader.secrets,
        };
        Ok((snap, summary))
    }

    /// Writes the snapshot as pretty JSON (fields in a fixed order, resources and configz sorted by
    /// name, objects' keys in the order they were read), atomically and never through a symlink
    /// unless `policy` allows it ([`crate::output_file`]).
    /// Streams to the file: a large cluster's snapshot is never held twice in memory.
    pub fn save(&self, path: &Path, policy: crate::output_file::Policy) -> anyhow::Result<()> {
        let staged = crate::output_file::Staged::new(path, policy, |out| {
            serde_json::to_writer_pretty(&mut *out, self).map_err(std::io::Error::other)?;
            out.write_all(b"\n")
        })
        .map_err(|e| anyhow::anyhow!("cluster snapshot: {e}"))?;
        staged.commit().map_err(|e| anyhow::anyhow!("cluster snapshot: {e}"))
    }

    /// The snapshot as pretty JSON.
    pub fn to_json_pretty(&self) -> anyhow::Result<String> {
        serde_json::to_string_pretty(self).context("cannot serialize the cluster snapshot")
    }

    /// Number of objects over all resources (folded pods included).
    pub fn object_count(&self) -> usize {
        self.resources.values().map(Vec::len).sum::<usize>() + self.folded_pods.count()
    }

    /// The objects of one resource (empty when absent).
    pub fn objects(&self, plural: &str) -> &[Value] {
        self.resources.get(plural).map(Vec::as_slice).unwrap_or(&[])
    }
}

fn ser_api_version<S: Serializer>(v: &str, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(if v.is_empty() { API_VERSION } else { v })
}

fn ser_kind<S: Serializer>(v: &str, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(if v.is_empty() { KIND } else { v })
}

/// Sorts loaded objects into resources, counting what it drops.
#[derive(Default)]
struct Loader {
    ignored: BTreeMap<String, usize>,
    secrets: usize,
    invalid: usize,
}

/// Lists nested deeper than this are ignored (a kubectl List never nests more than once).
const MAX_LIST_DEPTH: usize = 8;

impl Loader {
    /// Adds one object (or the items of a List) to `snap`. `item_kind` is the kind implied by an
    /// enclosing typed list (`PodList` items omit `kind`). With `prune`, objects are kept in
    /// their pruned form (ConfigMaps whole), pods reduced after the first of their owner.
    fn add(
        &mut self,
        snap: &mut ClusterSnapshot,
        obj: Value,
        item_kind: Option<&str>,
        depth: usize,
        mut prune: Option<&mut PodOwners>,
    ) {
        let Value::Object(mut map) = obj else {
            self.invalid += 1;
            return;
        };
        let kind = match map.get("kind").and_then(Value::as_str) {
            Some(k) => k.to_string(),
            None => match item_kind {
                Some(k) => k.to_string(),
                None => {
                    self.invalid += 1;
                    return;
                }
            },
        };
        if kind.ends_with("List")
            && let Some(Value::Array(_)) = map.get("items")
        {
            if depth >= MAX_LIST_DEPTH {
                self.invalid += 1;
                return;
            }
            let list_api_version = map.get("apiVersion").and_then(Value::as_str).map(str::to_string);
            let Some(Value::Array(items)) = map.remove("items") else { return };
            let inner = kind.strip_suffix("List").filter(|k| !k.is_empty()).map(str::to_string);
            for mut item in items {
                // Typed lists (PodList) omit kind and apiVersion on their items.
                if let (Some(k), Value::Object(m)) = (&inner, &mut item) {
                    if !m.contains_key("kind") {
                        m.insert("kind".into(), Value::String(k.clone()));
                    }
                    if let Some(av) = &list_api_version
                        && !m.contains_key("apiVersion")
                    {
                        m.insert("apiVersion".into(), Value::String(av.clone()));
                    }
                }
                self.add(snap, item, inner.as_deref(), depth + 1, prune.as_deref_mut());
            }
            return;
        }
        if kind == "Secret" {
            self.secrets += 1;
            return;
        }
        let Some(res) = kinds::by_kind(&kind) else {
            *self.ignored.entry(kind).or_default() += 1;
            return;
        };
        let av = res.api_version();
        let obj = match prune {
            Some(owners) => {
                let seed = ObjectSeedOf { res, api_version: &av, purpose: Purpose::Audit, listed_owners: None };
                let Ok(Some(mut obj)) = seed.deserialize(Value::Object(map)) else { return };
                if res.prune == Prune::PodSpec {
                    owners.reduce(&mut obj);
                }
                obj
            }
            None => fill_type_meta(map, res.kind, &av),
        };
        snap.resources.entry(res.plural.to_string()).or_default().push(obj);
    }

    /// Checks a deserialized snapshot: drops Secrets and unknown resources, fills type metadata.
    fn normalize(&mut self, mut raw: ClusterSnapshot) -> ClusterSnapshot {
        raw.api_version = API_VERSION.into();
        raw.kind = KIND.into();
        let resources = std::mem::take(&mut raw.resources);
        for (plural, objects) in resources {
            if plural == "secrets" {
                self.secrets += objects.len();
                continue;
            }
            let Some(res) = kinds::by_plural(&plural) else {
                *self.ignored.entry(plural).or_default() += objects.len();
                continue;
            };
            let mut kept = Vec::with_capacity(objects.len());
            for obj in objects {
                match obj {
                    Value::Object(map) => kept.push(fill_type_meta(map, res.kind, &res.api_version())),
                    _ => self.invalid += 1,
                }
            }
            raw.resources.insert(res.plural.to_string(), kept);
        }
        raw
    }

    /// Records what was dropped in `snap.skipped`.
    fn note(&self, snap: &mut ClusterSnapshot) {
        if self.secrets > 0 {
            snap.skipped.push(Gap::new(
                "secrets",
                format!("Secrets are never stored: {} Secret object(s) in the input were dropped", self.secrets),
            ));
        }
        for (kind, n) in &self.ignored {
            snap.skipped
                .push(Gap::new(kind.clone(), format!("{n} object(s) of kind {kind} are not audited and were ignored")));
        }
        if self.invalid > 0 {
            snap.skipped.push(Gap::new(
                "unknown",
                format!(
                    "{} entries were not Kubernetes objects (no kind, or not a JSON object) and were ignored",
                    self.invalid
                ),
            ));
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Loading straight into pruned objects (`cluster --snapshot`)
// ---------------------------------------------------------------------------------------------

impl ClusterSnapshot {
    /// Like [`ClusterSnapshot::load_with_summary`], reading the file as a stream straight into
    /// the pruned objects the rules need ([`pruned`]), as a live `cluster` run does: memory grows
    /// with the pruned objects, never with the file (a 1M-pod snapshot is read in one pass
    /// without holding its text or its full JSON). ConfigMaps are kept whole, as the full loader
    /// keeps them. What `cluster --snapshot` reads; `snapshot --snapshot` and the fake API server
    /// use the full loader.
    pub fn load_pruned(path: &Path) -> anyhow::Result<(ClusterSnapshot, LoadSummary)> {
        let what = || format!("{} is not a usable cluster snapshot", path.display());
        let file =
            std::fs::File::open(path).with_context(|| format!("cannot read cluster snapshot {}", path.display()))?;
        let mut reader = std::io::BufReader::with_capacity(1 << 20, file);
        // Like the full loader: a BOM and white space may precede the object.
        let first = loop {
            use std::io::BufRead as _;
            let buf = reader.fill_buf().with_context(|| format!("cannot read cluster snapshot {}", path.display()))?;
            let Some(&b) = buf.first() else { break None };
            let skip = if buf.starts_with(b"\xEF\xBB\xBF") {
                3
            } else if b.is_ascii_whitespace() {
                1
            } else {
                break Some(b);
            };
            reader.consume(skip);
        };
        if first != Some(b'{') {
            return Err(anyhow::anyhow!(
                "expected a JSON object: a dockershim-audit snapshot or the output of `kubectl get ... -o json`"
            ))
            .with_context(what);
        }
        let mut doc = StreamDoc::default();
        let mut de = serde_json::Deserializer::from_reader(reader);
        let parsed = serde::Deserializer::deserialize_map(&mut de, StreamVisitor(&mut doc))
            .and_then(|()| de.end())
            .context("invalid JSON");
        parsed.with_context(what)?;
        match doc.finish().with_context(what)? {
            Some(done) => Ok(done),
            // A single object (or a document whose kind came after fields read the other way):
            // small by nature; read it whole, then prune.
            None => {
                let (mut snap, summary) = Self::load_with_summary(path)?;
                snap.prune(Purpose::Audit);
                Ok((snap, summary))
            }
        }
    }
}

impl ClusterSnapshot {
    /// Prunes the objects of a fully loaded snapshot for `purpose` ([`Purpose::Audit`]: as
    /// [`ClusterSnapshot::load_pruned`] reads them; [`Purpose::Resave`]: as a live capture keeps
    /// them), pods reduced after the first of their owner.
    pub fn prune(&mut self, purpose: Purpose) {
        for (plural, objects) in self.resources.iter_mut() {
            let Some(res) = kinds::by_plural(plural) else { continue };
            let av = res.api_version();
            let seed = ObjectSeedOf { res, api_version: &av, purpose, listed_owners: None };
            let mut owners = PodOwners::default();
            for o in std::mem::take(objects) {
                if let Ok(Some(mut p)) = seed.deserialize(o) {
                    if res.prune == Prune::PodSpec {
                        owners.reduce(&mut p);
                    }
                    objects.push(p);
                }
            }
        }
    }
}

/// What one streaming pass over a snapshot file found, before its kind decides what it is.
#[derive(Default)]
struct StreamDoc {
    kind: Option<String>,
    api_version: Option<String>,
    /// `resources` of a `ClusterSnapshot`, already pruned.
    resources: BTreeMap<String, Vec<Value>>,
    resources_loader: Loader,
    pods: PodOwners,
    /// `items` of a List: pruned objects by resource, and items without `kind` (typed lists).
    list: ClusterSnapshot,
    list_loader: Loader,
    list_pods: PodOwners,
    untyped_items: Vec<Value>,
    had_items: bool,
    captured_at: Option<String>,
    context: Option<String>,
    server_version: Option<Value>,
    configz: BTreeMap<String, Value>,
    gaps: Vec<Gap>,
    skipped: Vec<Gap>,
}

impl StreamDoc {
    /// The snapshot, or `None` when the document is neither a `ClusterSnapshot` nor a List.
    fn finish(mut self) -> anyhow::Result<Option<(ClusterSnapshot, LoadSummary)>> {
        let kind = self.kind.clone().unwrap_or_default();
        let (mut snap, loader, format) = if kind == KIND {
            let api_version = self.api_version.as_deref().unwrap_or_default();
            if api_version != API_VERSION {
                bail!("unsupported snapshot apiVersion {api_version:?} (this build reads {API_VERSION:?})");
            }
            let snap = ClusterSnapshot {
                api_version: API_VERSION.into(),
                kind: KIND.into(),
                captured_at: self.captured_at,
                context: self.context,
                server_version: self.server_version,
                resources: self.resources,
                configz: self.configz,
                gaps: self.gaps,
                skipped: self.skipped,
                folded_pods: FoldedPods::default(),
            };
            (snap, self.resources_loader, SourceFormat::Snapshot)
        } else if kind.is_empty() {
            bail!("the document has no `kind`: it is neither a snapshot, a List nor a Kubernetes object");
        } else if self.had_items && kind.ends_with("List") {
            for item in std::mem::take(&mut self.untyped_items) {
                let (item, inner) = typed_item(&kind, self.api_version.as_deref(), item);
                self.list_loader.add(&mut self.list, item, inner.as_deref(), 1, Some(&mut self.list_pods));
            }
            (self.list, self.list_loader, SourceFormat::List)
        } else {
            return Ok(None);
        };
        loader.note(&mut snap);
        let summary = LoadSummary {
            format,
            objects: snap.object_count(),
            ignored_kinds: loader.ignored,
            secrets_dropped: loader.secrets,
        };
        Ok(Some((snap, summary)))
    }
}

/// An item of a typed list (`PodList`) completed as the full loader does: the list's kind
/// (without `List`) and apiVersion where the item has none. Also returns that kind.
fn typed_item(list_kind: &str, list_api_version: Option<&str>, mut item: Value) -> (Value, Option<String>) {
    let inner = list_kind.strip_suffix("List").filter(|k| !k.is_empty()).map(str::to_string);
    if let (Some(k), Value::Object(m)) = (&inner, &mut item) {
        if !m.contains_key("kind") {
            m.insert("kind".into(), Value::String(k.clone()));
        }
        if let Some(av) = list_api_version
            && !m.contains_key("apiVersion")
        {
            m.insert("apiVersion".into(), Value::String(av.to_string()));
        }
    }
    (item, inner)
}

struct StreamVisitor<'a>(&'a mut StreamDoc);

impl<'de> Visitor<'de> for StreamVisitor<'_> {
    type Value = ();
    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("a JSON object")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let doc = self.0;
        while let Some(key) = map.next_key::<String>()? {
            match key.as_str() {
                "kind" => doc.kind = map.next_value::<Option<Value>>()?.and_then(|v| v.as_str().map(str::to_string)),
                "apiVersion" => {
                    doc.api_version = map.next_value::<Option<Value>>()?.and_then(|v| v.as_str().map(str::to_string))
                }
                "resources" => map.next_value_seed(ResourcesSeed(doc))?,
                "items" => {
                    doc.had_items = map.next_value_seed(ItemsSeed(doc))?;
                }
                "capturedAt" => doc.captured_at = map.next_value()?,
                "context" => doc.context = map.next_value()?,
                "serverVersion" => doc.server_version = map.next_value()?,
                "configz" => doc.configz = map.next_value::<Option<_>>()?.unwrap_or_default(),
                "gaps" => doc.gaps = map.next_value::<Option<_>>()?.unwrap_or_default(),
                "skipped" => doc.skipped = map.next_value::<Option<_>>()?.unwrap_or_default(),
                _ => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok(())
    }
}

/// A snapshot's `resources`: plural name -> objects, each read straight into its pruned form.
struct ResourcesSeed<'a>(&'a mut StreamDoc);

impl<'de> DeserializeSeed<'de> for ResourcesSeed<'_> {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for ResourcesSeed<'_> {
    type Value = ();
    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("a map of resource names to objects")
    }
    fn visit_unit<E: serde::de::Error>(self) -> Result<(), E> {
        Ok(())
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let doc = self.0;
        while let Some(plural) = map.next_key::<String>()? {
            let res = kinds::by_plural(&plural).filter(|_| plural != "secrets");
            let seed = ObjectsSeed { doc: &mut *doc, res, plural: &plural };
            map.next_value_seed(seed)?;
        }
        Ok(())
    }
}

/// One resource's array of objects in a snapshot.
struct ObjectsSeed<'a> {
    doc: &'a mut StreamDoc,
    res: Option<&'static kinds::ResourceKind>,
    plural: &'a str,
}

impl<'de> DeserializeSeed<'de> for ObjectsSeed<'_> {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_seq(self)
    }
}

impl<'de> Visitor<'de> for ObjectsSeed<'_> {
    type Value = ();
    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("an array of objects")
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        let loader = &mut self.doc.resources_loader;
        let Some(res) = self.res else {
            let mut n = 0;
            while seq.next_element::<IgnoredAny>()?.is_some() {
                n += 1;
            }
            if self.plural == "secrets" {
                loader.secrets += n;
            } else {
                *loader.ignored.entry(self.plural.to_string()).or_default() += n;
            }
            return Ok(());
        };
        let kept = self.doc.resources.entry(res.plural.to_string()).or_default();
        let av = res.api_version();
        let seed = ObjectSeedOf { res, api_version: &av, purpose: Purpose::Audit, listed_owners: None };
        while let Some(obj) = seq.next_element_seed(seed)? {
            match obj {
                Some(mut o) => {
                    if res.prune == Prune::PodSpec {
                        self.doc.pods.reduce(&mut o);
                    }
                    kept.push(o);
                }
                None => loader.invalid += 1,
            }
        }
        Ok(())
    }
}

/// A List's `items`, each read whole (its `kind` decides how it is pruned) and pruned at once.
/// Yields whether `items` was an array.
struct ItemsSeed<'a>(&'a mut StreamDoc);

impl<'de> DeserializeSeed<'de> for ItemsSeed<'_> {
    type Value = bool;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<bool, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for ItemsSeed<'_> {
    type Value = bool;
    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("any JSON value")
    }
    fn visit_bool<E: serde::de::Error>(self, _: bool) -> Result<bool, E> {
        Ok(false)
    }
    fn visit_i64<E: serde::de::Error>(self, _: i64) -> Result<bool, E> {
        Ok(false)
    }
    fn visit_u64<E: serde::de::Error>(self, _: u64) -> Result<bool, E> {
        Ok(false)
    }
    fn visit_f64<E: serde::de::Error>(self, _: f64) -> Result<bool, E> {
        Ok(false)
    }
    fn visit_str<E: serde::de::Error>(self, _: &str) -> Result<bool, E> {
        Ok(false)
    }
    fn visit_unit<E: serde::de::Error>(self) -> Result<bool, E> {
        Ok(false)
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<bool, A::Error> {
        while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
        Ok(false)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<bool, A::Error> {
        let doc = self.0;
        while let Some(item) = seq.next_element::<Value>()? {
            // Items a typed list (PodList) completes with its kind and apiVersion wait for the
            // list's own kind when it comes after `items` (kubectl writes keys in order).
            let typed = item.is_object()
                && (item.get("kind").and_then(Value::as_str).is_none() || item.get("apiVersion").is_none());
            if !typed {
                doc.list_loader.add(&mut doc.list, item, None, 1, Some(&mut doc.list_pods));
            } else if doc.kind.is_some() {
                let (item, inner) = typed_item(doc.kind.as_deref().unwrap_or(""), doc.api_version.as_deref(), item);
                doc.list_loader.add(&mut doc.list, item, inner.as_deref(), 1, Some(&mut doc.list_pods));
            } else {
                doc.untyped_items.push(item);
            }
        }
        Ok(true)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn kubectl_list_sorted_by_kind_secrets_dropped_unknown_counted() {
        let text = json!({
            "apiVersion": "v1", "kind": "List", "metadata": {"resourceVersion": ""},
            "items": [
                {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "a", "namespace": "x"}},
                {"apiVersion": "batch/v1beta1", "kind": "CronJob", "metadata": {"name": "c", "namespace": "x"}},
                {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "s"}, "data": {"k": "djE="}},
                {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "svc"}},
                {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "svc2"}},
                {"kind": "PodList", "apiVersion": "v1", "items": [{"metadata": {"name": "b"}}]},
                42
            ]
        })
        .to_string();
        let (snap, summary) = ClusterSnapshot::from_json_with_summary(&text).unwrap();
        assert_eq!(summary.format, SourceFormat::List);
        assert_eq!(snap.objects("pods").len(), 2);
        assert_eq!(snap.objects("pods")[1]["kind"], "Pod");
        assert_eq!(snap.objects("pods")[1]["apiVersion"], "v1");
        assert_eq!(snap.objects("cronjobs")[0]["apiVersion"], "batch/v1beta1");
        assert_eq!(summary.secrets_dropped, 1);
        assert_eq!(summary.ignored_kinds.get("Service"), Some(&2));
        assert!(!snap.to_json_pretty().unwrap().contains("djE="));
        assert!(snap.skipped.iter().any(|g| g.resource == "secrets"));
        assert!(snap.skipped.iter().any(|g| g.resource == "Service" && g.reason.contains('2')));
        assert!(snap.skipped.iter().any(|g| g.resource == "unknown"));
    }

    #[test]
    fn single_object_and_errors() {
        let (snap, s) =
            ClusterSnapshot::from_json_with_summary(r#"{"apiVersion":"v1","kind":"Node","metadata":{"name":"n1"}}"#)
                .unwrap();
        assert_eq!(s.format, SourceFormat::Object);
        assert_eq!(snap.objects("nodes").len(), 1);
        assert!(ClusterSnapshot::from_json("").is_err());
        assert!(ClusterSnapshot::from_json("[1]").is_err());
        assert!(ClusterSnapshot::from_json("{\"a\":1}").is_err());
        assert!(ClusterSnapshot::from_json("{\"kind\":").is_err());
        let err =
            ClusterSnapshot::from_json(r#"{"apiVersion":"dockershim-audit/v9","kind":"ClusterSnapshot"}"#).unwrap_err();
        assert!(err.to_string().contains("v9"), "{err}");
        let err =
            ClusterSnapshot::from_json(r#"{"apiVersion":"dockershim-audit/v1","kind":"ClusterSnapshot","gaps":3}"#)
                .unwrap_err();
        assert!(format!("{err:#}").contains("expected"), "{err:#}");
    }

    #[test]
    fn snapshot_roundtrip_and_normalize() {
        let mut snap = ClusterSnapshot::default();
        snap.resources.insert("pods".into(), vec![json!({"metadata": {"name": "p"}})]);
        snap.resources.insert("secrets".into(), vec![json!({"metadata": {"name": "s"}})]);
        snap.gaps
            .push(Gap::new("nodes", "forbidden").needing("list nodes (core) at cluster scope").with_status(Some(403)));
        let text = snap.to_json_pretty().unwrap();
        assert!(text.contains("\"apiVersion\": \"dockershim-audit/v1\""));
        let back = ClusterSnapshot::from_json(&text).unwrap();
        assert_eq!(back.kind, KIND);
        assert_eq!(back.objects("pods")[0]["kind"], "Pod");
        assert!(!back.resources.contains_key("secrets"));
        assert_eq!(back.gaps, snap.gaps);
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("s.json");
        back.save(&p, crate::output_file::Policy::default()).unwrap();
        let again = ClusterSnapshot::load(&p).unwrap();
        assert_eq!(again.to_json_pretty().unwrap(), back.to_json_pretty().unwrap());
        let missing = dir.path().join("missing.json");
        let err = ClusterSnapshot::load(&missing).unwrap_err();
        assert!(format!("{err:#}").contains("missing.json"));
    }
}
