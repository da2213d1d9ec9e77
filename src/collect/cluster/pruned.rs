//! LIST pages and snapshot files read straight into the pruned objects the rules need.
//!
//! Place in the pipeline: inside the cluster collector, between the bytes of an answer (or of a
//! snapshot file) and the [`ClusterSnapshot`](super::snapshot::ClusterSnapshot). Each object is
//! deserialised field by field into the reduced form the evidence builders read
//! (`collect::objects`): what no rule reads is skipped with [`IgnoredAny`] as the parser passes
//! it, never built as a JSON value and freed again. The result is the same `serde_json::Value`
//! shape the evidence builders always read, so nothing downstream changes.
//!
//! What a pruned object keeps (everything the evidence builders read, nothing else):
//! `apiVersion`, `kind`; `metadata` name, generateName, namespace, uid, ownerReferences, the
//! mirror-pod and cri-socket annotations (and labels on nodes); nodes' three `nodeInfo` versions;
//! pod specs (of pods, and of controllers' templates at the registry's pointer) reduced by
//! `PodSpecFields`; ConfigMaps whole (from a live list, only those the registry's `keep` filter
//! selects). What each kind keeps is its [`Prune`] in the registry (`kinds.rs`). Pods after the
//! first of their owner keep only `spec.nodeName` ([`PodOwners`]): the others only add to their
//! workload's pod count. A live audit does not keep them at all, only their count under their
//! owner ([`FoldedPods`]); a snapshot file keeps every pod.
//!
//! Must not: keep env values other than `DOCKER_HOST` and those that mention Docker, or drop
//! anything an evidence builder reads (`tests/it/cluster_pruned.rs` compares the evidence of both).
//! It tolerates any JSON shape: a field of an unexpected type is read as the dynamic path would
//! (an object where one is expected, anything else as absent), never an error.

use std::borrow::Cow;
use std::fmt;

use serde::Deserialize as _;
use serde::de::{self, DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde_json::value::RawValue;
use serde_json::{Map, Value};

use super::super::files::manifest;
use super::kinds::{Prune, ResourceKind};

/// Annotations the evidence builders read; all others are dropped.
const KEPT_ANNOTATIONS: &[&str] = &["kubernetes.io/config.mirror", "kubeadm.alpha.kubernetes.io/cri-socket"];

/// Drops what no rule reads and only costs memory: `metadata.managedFields` and the
/// `kubectl.kubernetes.io/last-applied-configuration` annotation (a copy of the spec).
pub fn slim(mut obj: Value) -> Value {
    if let Some(meta) = obj.get_mut("metadata").and_then(Value::as_object_mut) {
        meta.remove("managedFields");
        if let Some(ann) = meta.get_mut("annotations").and_then(Value::as_object_mut) {
            ann.remove("kubectl.kubernetes.io/last-applied-configuration");
        }
    }
    obj
}

/// Whether an env entry is kept: `DOCKER_HOST`, or a value that mentions Docker (the
/// `container.env` evidence reads those); every other value stays out of memory and snapshots.
fn keep_env(e: &Value) -> bool {
    e.get("name").and_then(Value::as_str) == Some("DOCKER_HOST")
        || e.get("value").and_then(Value::as_str).is_some_and(|v| v.to_ascii_lowercase().contains("docker"))
}

/// Puts `apiVersion` and `kind` first in the object, keeping values already there.
pub fn fill_type_meta(mut map: Map<String, Value>, kind: &str, api_version: &str) -> Value {
    if map.contains_key("kind") && map.contains_key("apiVersion") {
        return Value::Object(map);
    }
    let av = map.remove("apiVersion").unwrap_or_else(|| Value::String(api_version.to_string()));
    let k = map.remove("kind").unwrap_or_else(|| Value::String(kind.to_string()));
    let mut out = Map::with_capacity(map.len() + 2);
    out.insert("apiVersion".into(), av);
    out.insert("kind".into(), k);
    out.extend(map);
    Value::Object(out)
}

// ---------------------------------------------------------------------------------------------
// The machinery: an object's entries handed to a `Fields` one by one, unknown keys skipped.
// ---------------------------------------------------------------------------------------------

/// The entries of one JSON object, read as they are parsed.
trait Fields {
    /// Which kept field `key` is, or `None` to skip its value unbuilt.
    fn id(&mut self, key: &str) -> Option<u8>;
    /// Reads the value of field `id`. A repeated key is read again and replaces the first (as a
    /// JSON value's map would).
    fn field<'de, D: Deserializer<'de>>(&mut self, id: u8, value: D) -> Result<(), D::Error>;
}

/// Reads a value into `F` when it is an object; anything else is skipped. Yields whether it was.
struct ObjectSeed<'a, F>(&'a mut F);

impl<'de, F: Fields> DeserializeSeed<'de> for ObjectSeed<'_, F> {
    type Value = bool;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<bool, D::Error> {
        d.deserialize_any(ObjectVisitor(self.0))
    }
}

struct ObjectVisitor<'a, F>(&'a mut F);

/// Skips a non-object value (`ObjectVisitor` and `ArrayVisitor` answer `false`/`None` for those).
macro_rules! skip_scalars {
    ($out:expr) => {
        fn visit_bool<E: de::Error>(self, _: bool) -> Result<Self::Value, E> {
            Ok($out)
        }
        fn visit_i64<E: de::Error>(self, _: i64) -> Result<Self::Value, E> {
            Ok($out)
        }
        fn visit_u64<E: de::Error>(self, _: u64) -> Result<Self::Value, E> {
            Ok($out)
        }
        fn visit_f64<E: de::Error>(self, _: f64) -> Result<Self::Value, E> {
            Ok($out)
        }
        fn visit_str<E: de::Error>(self, _: &str) -> Result<Self::Value, E> {
            Ok($out)
        }
        fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
            Ok($out)
        }
        fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
            Ok($out)
        }
    };
}

impl<'de, F: Fields> Visitor<'de> for ObjectVisitor<'_, F> {
    type Value = bool;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("any JSON value")
    }
    skip_scalars!(false);
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<bool, A::Error> {
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(false)
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<bool, A::Error> {
        while let Some(id) = map.next_key_seed(KeySeed(&mut *self.0))? {
            match id {
                Some(id) => map.next_value_seed(FieldSeed(&mut *self.0, id))?,
                None => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok(true)
    }
}

/// A key, matched without allocating.
struct KeySeed<'a, F>(&'a mut F);

impl<'de, F: Fields> DeserializeSeed<'de> for KeySeed<'_, F> {
    type Value = Option<u8>;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Option<u8>, D::Error> {
        d.deserialize_str(self)
    }
}

impl<'de, F: Fields> Visitor<'de> for KeySeed<'_, F> {
    type Value = Option<u8>;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("an object key")
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<Option<u8>, E> {
        Ok(self.0.id(v))
    }
}

struct FieldSeed<'a, F>(&'a mut F, u8);

impl<'de, F: Fields> DeserializeSeed<'de> for FieldSeed<'_, F> {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        self.0.field(self.1, d)
    }
}

/// Reads an array element by element with `S` (made anew for each element); anything else is
/// skipped and yields `None`.
struct ArraySeed<S>(fn() -> S);

trait Element<'de>: Sized {
    type Out;
    fn read<D: Deserializer<'de>>(self, d: D) -> Result<Option<Self::Out>, D::Error>;
}

impl<'de, S: Element<'de>> DeserializeSeed<'de> for ArraySeed<S> {
    type Value = Option<Vec<S::Out>>;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de, S: Element<'de>> Visitor<'de> for ArraySeed<S> {
    type Value = Option<Vec<S::Out>>;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("any JSON value")
    }
    skip_scalars!(None);
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
        Ok(None)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        let mut out = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(64));
        while let Some(item) = seq.next_element_seed(ElementSeed(self.0()))? {
            out.extend(item);
        }
        Ok(Some(out))
    }
}

struct ElementSeed<S>(S);

impl<'de, S: Element<'de>> DeserializeSeed<'de> for ElementSeed<S> {
    type Value = Option<S::Out>;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        self.0.read(d)
    }
}

/// Keeps some keys of an object whole, in the order given (a missing key is left out).
struct Pick<const N: usize> {
    keys: [&'static str; N],
    values: [Option<Value>; N],
}

impl<const N: usize> Pick<N> {
    fn new(keys: [&'static str; N]) -> Self {
        Pick { keys, values: std::array::from_fn(|_| None) }
    }
    fn into_map(self) -> Map<String, Value> {
        let mut m = Map::new();
        for (k, v) in self.keys.iter().zip(self.values) {
            if let Some(v) = v {
                m.insert((*k).to_string(), v);
            }
        }
        m
    }
}

impl<const N: usize> Fields for Pick<N> {
    fn id(&mut self, key: &str) -> Option<u8> {
        self.keys.iter().position(|k| *k == key).map(|i| i as u8)
    }
    fn field<'de, D: Deserializer<'de>>(&mut self, id: u8, value: D) -> Result<(), D::Error> {
        self.values[id as usize] = Some(Value::deserialize(value)?);
        Ok(())
    }
}

/// Reads one key of an object whole: `Some(value)` when the value is an object holding `key`.
fn pick_one<'de, D: Deserializer<'de>>(d: D, key: &'static str) -> Result<Option<Value>, D::Error> {
    let mut p = Pick::new([key]);
    ObjectSeed(&mut p).deserialize(d)?;
    let [v] = p.values;
    Ok(v)
}

// ---------------------------------------------------------------------------------------------
// Pod specs
// ---------------------------------------------------------------------------------------------

/// The container lists of a pod spec, in the order they are kept.
const CONTAINER_LISTS: [&str; 3] = ["initContainers", "containers", "ephemeralContainers"];

/// What the workload rules read from a pod spec: `nodeName`; each volume's name and hostPath (or
/// its kind as an empty object); each container's name, image, command, args, volumeMounts,
/// script/source, `securityContext.privileged`, the env entries [`keep_env`] keeps, and the
/// `exec` of its probes and lifecycle hooks.
#[derive(Default)]
struct PodSpecFields {
    node_name: Option<Value>,
    volumes: Option<Vec<Value>>,
    lists: [Option<Vec<Value>>; 3],
}

impl Fields for PodSpecFields {
    fn id(&mut self, key: &str) -> Option<u8> {
        match key {
            "nodeName" => Some(0),
            "volumes" => Some(1),
            "initContainers" => Some(2),
            "containers" => Some(3),
            "ephemeralContainers" => Some(4),
            _ => None,
        }
    }
    fn field<'de, D: Deserializer<'de>>(&mut self, id: u8, value: D) -> Result<(), D::Error> {
        match id {
            0 => self.node_name = Some(Value::deserialize(value)?),
            1 => self.volumes = ArraySeed(|| VolumeElement).deserialize(value)?,
            i => self.lists[usize::from(i - 2)] = ArraySeed(|| ContainerElement).deserialize(value)?,
        }
        Ok(())
    }
}

impl PodSpecFields {
    fn into_value(self) -> Value {
        let mut out = Map::new();
        if let Some(n) = self.node_name {
            out.insert("nodeName".into(), n);
        }
        if let Some(v) = self.volumes.filter(|v| !v.is_empty()) {
            out.insert("volumes".into(), Value::Array(v));
        }
        for (name, list) in CONTAINER_LISTS.iter().zip(self.lists) {
            if let Some(list) = list {
                out.insert((*name).to_string(), Value::Array(list));
            }
        }
        Value::Object(out)
    }
}

/// A pod spec read from any value (a non-object gives an empty spec, as the dynamic path did).
fn pod_spec<'de, D: Deserializer<'de>>(d: D) -> Result<PodSpecFields, D::Error> {
    let mut spec = PodSpecFields::default();
    ObjectSeed(&mut spec).deserialize(d)?;
    Ok(spec)
}

/// One volume: `{name, hostPath}` for host paths, else `{name, KIND: {}}` with its first key
/// other than `name` (emptyDir, configMap, ...).
struct VolumeElement;

#[derive(Default)]
struct VolumeFields {
    name: Option<Value>,
    host_path: Option<Value>,
    first_kind: Option<String>,
}

impl Fields for VolumeFields {
    fn id(&mut self, key: &str) -> Option<u8> {
        if key != "name" && self.first_kind.is_none() {
            self.first_kind = Some(key.to_string());
        }
        match key {
            "name" => Some(0),
            "hostPath" => Some(1),
            _ => None,
        }
    }
    fn field<'de, D: Deserializer<'de>>(&mut self, id: u8, value: D) -> Result<(), D::Error> {
        let v = Some(Value::deserialize(value)?);
        if id == 0 {
            self.name = v
        } else {
            self.host_path = v
        }
        Ok(())
    }
}

impl<'de> Element<'de> for VolumeElement {
    type Out = Value;
    fn read<D: Deserializer<'de>>(self, d: D) -> Result<Option<Value>, D::Error> {
        let mut f = VolumeFields::default();
        ObjectSeed(&mut f).deserialize(d)?;
        let mut m = Map::new();
        if let Some(n) = f.name {
            m.insert("name".into(), n);
        }
        match (f.host_path, f.first_kind) {
            (Some(hp), _) => {
                m.insert("hostPath".into(), hp);
            }
            (None, Some(kind)) => {
                m.insert(kind, Value::Object(Map::new()));
            }
            (None, None) => {}
        }
        Ok(Some(Value::Object(m)))
    }
}

/// The probes whose `exec` is kept, in output order.
const PROBES: [&str; 3] = ["livenessProbe", "readinessProbe", "startupProbe"];
/// The lifecycle hooks whose `exec` is kept, in output order.
const HOOKS: [&str; 2] = ["postStart", "preStop"];
/// Container keys kept whole, in output order.
const CONTAINER_KEYS: [&str; 7] = ["name", "image", "command", "args", "volumeMounts", "script", "source"];

struct ContainerElement;

#[derive(Default)]
struct ContainerFields {
    whole: [Option<Value>; 7],
    privileged: Option<Value>,
    env: Option<Vec<Value>>,
    probes: [Option<Value>; 3],
    hooks: Option<[Option<Value>; 2]>,
}

impl Fields for ContainerFields {
    fn id(&mut self, key: &str) -> Option<u8> {
        if let Some(i) = CONTAINER_KEYS.iter().position(|k| *k == key) {
            return Some(i as u8);
        }
        match key {
            "securityContext" => Some(20),
            "env" => Some(21),
            "lifecycle" => Some(22),
            _ => PROBES.iter().position(|p| *p == key).map(|i| 30 + i as u8),
        }
    }
    fn field<'de, D: Deserializer<'de>>(&mut self, id: u8, value: D) -> Result<(), D::Error> {
        match id {
            20 => self.privileged = pick_one(value, "privileged")?,
            21 => self.env = ArraySeed(|| EnvElement).deserialize(value)?,
            22 => {
                let mut h = HookFields([None, None]);
                ObjectSeed(&mut h).deserialize(value)?;
                self.hooks = Some(h.0);
            }
            30..=32 => self.probes[usize::from(id - 30)] = pick_one(value, "exec")?,
            i => self.whole[usize::from(i)] = Some(Value::deserialize(value)?),
        }
        Ok(())
    }
}

/// The hooks of a container's `lifecycle`: the `exec` of each.
struct HookFields([Option<Value>; 2]);

impl Fields for HookFields {
    fn id(&mut self, key: &str) -> Option<u8> {
        HOOKS.iter().position(|h| *h == key).map(|i| i as u8)
    }
    fn field<'de, D: Deserializer<'de>>(&mut self, id: u8, value: D) -> Result<(), D::Error> {
        self.0[usize::from(id)] = pick_one(value, "exec")?;
        Ok(())
    }
}

impl<'de> Element<'de> for ContainerElement {
    type Out = Value;
    fn read<D: Deserializer<'de>>(self, d: D) -> Result<Option<Value>, D::Error> {
        let mut c = ContainerFields::default();
        ObjectSeed(&mut c).deserialize(d)?;
        let mut k = Map::new();
        for (key, v) in CONTAINER_KEYS.iter().zip(c.whole) {
            if let Some(v) = v {
                k.insert((*key).to_string(), v);
            }
        }
        if let Some(p) = c.privileged {
            k.insert("securityContext".into(), Value::Object(Map::from_iter([("privileged".to_string(), p)])));
        }
        if let Some(env) = c.env.filter(|e| !e.is_empty()) {
            k.insert("env".into(), Value::Array(env));
        }
        for (probe, exec) in PROBES.iter().zip(c.probes) {
            if let Some(e) = exec {
                k.insert((*probe).to_string(), exec_of(e));
            }
        }
        if let Some(hooks) = c.hooks {
            let mut m = Map::new();
            for (hook, exec) in HOOKS.iter().zip(hooks) {
                if let Some(e) = exec {
                    m.insert((*hook).to_string(), exec_of(e));
                }
            }
            if !m.is_empty() {
                k.insert("lifecycle".into(), Value::Object(m));
            }
        }
        Ok(Some(Value::Object(k)))
    }
}

fn exec_of(e: Value) -> Value {
    Value::Object(Map::from_iter([("exec".to_string(), e)]))
}

/// One env entry, kept only when [`keep_env`] says so.
struct EnvElement;

impl<'de> Element<'de> for EnvElement {
    type Out = Value;
    fn read<D: Deserializer<'de>>(self, d: D) -> Result<Option<Value>, D::Error> {
        let e = Value::deserialize(d)?;
        Ok(keep_env(&e).then_some(e))
    }
}

// ---------------------------------------------------------------------------------------------
// Objects
// ---------------------------------------------------------------------------------------------

/// The kept part of `metadata`.
struct MetaFields {
    pick: Pick<5>,
    labels: Option<Value>,
    annotations: Option<Map<String, Value>>,
    with_labels: bool,
}

impl MetaFields {
    fn new(with_labels: bool) -> MetaFields {
        MetaFields {
            pick: Pick::new(["name", "generateName", "namespace", "uid", "ownerReferences"]),
            labels: None,
            annotations: None,
            with_labels,
        }
    }
    /// `namespace`, once read.
    fn namespace(&self) -> Option<&Value> {
        self.pick.values[2].as_ref()
    }

    /// `ownerReferences`, once read.
    fn owner_references(&self) -> Option<&Value> {
        self.pick.values[4].as_ref()
    }

    fn into_value(self) -> Value {
        let mut m = self.pick.into_map();
        if let Some(l) = self.labels {
            m.insert("labels".into(), l);
        }
        if let Some(a) = self.annotations.filter(|a| !a.is_empty()) {
            m.insert("annotations".into(), Value::Object(a));
        }
        Value::Object(m)
    }
}

impl Fields for MetaFields {
    fn id(&mut self, key: &str) -> Option<u8> {
        match key {
            "labels" if self.with_labels => Some(10),
            "annotations" => Some(11),
            _ => self.pick.id(key),
        }
    }
    fn field<'de, D: Deserializer<'de>>(&mut self, id: u8, value: D) -> Result<(), D::Error> {
        match id {
            10 => self.labels = Some(Value::deserialize(value)?),
            11 => {
                let mut a = AnnotationFields(Map::new());
                let is_object = ObjectSeed(&mut a).deserialize(value)?;
                self.annotations = is_object.then_some(a.0);
            }
            i => self.pick.field(i, value)?,
        }
        Ok(())
    }
}

/// The kept annotations, in the order the object lists them.
struct AnnotationFields(Map<String, Value>);

impl Fields for AnnotationFields {
    fn id(&mut self, key: &str) -> Option<u8> {
        KEPT_ANNOTATIONS.iter().position(|k| *k == key).map(|i| i as u8)
    }
    fn field<'de, D: Deserializer<'de>>(&mut self, id: u8, value: D) -> Result<(), D::Error> {
        self.0.insert(KEPT_ANNOTATIONS[usize::from(id)].to_string(), Value::deserialize(value)?);
        Ok(())
    }
}

/// A pod template at a path of keys below `spec` (`["template", "spec"]`, or
/// `["jobTemplate", "spec", "template", "spec"]` for CronJobs): the pod spec found there.
struct TemplateFields<'p> {
    path: &'p [&'static str],
    found: Option<PodSpecFields>,
}

impl Fields for TemplateFields<'_> {
    fn id(&mut self, key: &str) -> Option<u8> {
        (self.path.first() == Some(&key)).then_some(0)
    }
    fn field<'de, D: Deserializer<'de>>(&mut self, _: u8, value: D) -> Result<(), D::Error> {
        self.found = if self.path.len() == 1 {
            Some(pod_spec(value)?)
        } else {
            let mut inner = TemplateFields { path: &self.path[1..], found: None };
            ObjectSeed(&mut inner).deserialize(value)?;
            inner.found
        };
        Ok(())
    }
}

/// One listed object while it is read.
struct ObjectFields<'a> {
    prune: Prune,
    /// See [`ObjectSeedOf::listed_owners`].
    listed_owners: Option<&'a foldhash::HashSet<String>>,
    /// Controllers: the keys below `spec` to their pod template (from the registry's pointer).
    template_path: Vec<&'static str>,
    api_version: Option<Value>,
    kind: Option<Value>,
    metadata: Option<MetaFields>,
    /// Pods: the pruned spec, when there is a `spec`. Controllers: the template's pruned spec.
    pod_spec: Option<PodSpecFields>,
    /// Nodes: the kept `status.nodeInfo` fields, when `status.nodeInfo` exists.
    node_info: Option<Map<String, Value>>,
}

impl Fields for ObjectFields<'_> {
    fn id(&mut self, key: &str) -> Option<u8> {
        match key {
            "apiVersion" => Some(0),
            "kind" => Some(1),
            "metadata" => Some(2),
            "spec" if matches!(self.prune, Prune::PodSpec | Prune::Template) => Some(3),
            "status" if self.prune == Prune::NodeInfo => Some(4),
            _ => None,
        }
    }
    fn field<'de, D: Deserializer<'de>>(&mut self, id: u8, value: D) -> Result<(), D::Error> {
        match id {
            0 => self.api_version = Some(Value::deserialize(value)?),
            1 => self.kind = Some(Value::deserialize(value)?),
            2 => {
                let mut m = MetaFields::new(self.prune == Prune::NodeInfo);
                ObjectSeed(&mut m).deserialize(value)?;
                self.metadata = Some(m);
            }
            3 if self.prune == Prune::PodSpec => self.pod_spec = Some(pod_spec(value)?),
            3 => {
                let mut t = TemplateFields { path: &self.template_path, found: None };
                if t.path.is_empty() || self.owner_listed() {
                    value.deserialize_ignored_any(IgnoredAny)?;
                } else {
                    ObjectSeed(&mut t).deserialize(value)?;
                }
                self.pod_spec = t.found;
            }
            _ => {
                let mut status = NodeStatusFields(None);
                ObjectSeed(&mut status).deserialize(value)?;
                self.node_info = status.0;
            }
        }
        Ok(())
    }
}

/// A node's `status`: the three versions of `nodeInfo`.
struct NodeStatusFields(Option<Map<String, Value>>);

impl Fields for NodeStatusFields {
    fn id(&mut self, key: &str) -> Option<u8> {
        (key == "nodeInfo").then_some(0)
    }
    fn field<'de, D: Deserializer<'de>>(&mut self, _: u8, value: D) -> Result<(), D::Error> {
        let mut p = Pick::new(["kubeletVersion", "containerRuntimeVersion", "osImage"]);
        ObjectSeed(&mut p).deserialize(value)?;
        self.0 = Some(p.into_map());
        Ok(())
    }
}

impl ObjectFields<'_> {
    /// Whether the owner the evidence follows (the controller reference, else the first) is one
    /// of [`ObjectSeedOf::listed_owners`], by uid; known only when `metadata` came before `spec`,
    /// as the API server writes them.
    fn owner_listed(&self) -> bool {
        let (Some(listed), Some(meta)) = (self.listed_owners, &self.metadata) else { return false };
        let Some(Value::Array(refs)) = meta.owner_references() else { return false };
        super::kinds::followed_owner(refs)
            .and_then(|r| r.get("uid"))
            .and_then(Value::as_str)
            .is_some_and(|uid| !uid.is_empty() && listed.contains(uid))
    }

    fn new(res: &ResourceKind) -> ObjectFields<'static> {
        let template_path = match res.prune {
            Prune::Template => res
                .pod_spec
                .and_then(|p| p.strip_prefix("/spec/"))
                .map(|rest| rest.split('/').collect())
                .unwrap_or_default(),
            _ => Vec::new(),
        };
        ObjectFields {
            prune: res.prune,
            listed_owners: None,
            template_path,
            api_version: None,
            kind: None,
            metadata: None,
            pod_spec: None,
            node_info: None,
        }
    }

    fn into_value(self, kind: &str, api_version: &str) -> Value {
        let mut out = Map::new();
        out.insert("apiVersion".into(), self.api_version.unwrap_or_else(|| Value::String(api_version.into())));
        out.insert("kind".into(), self.kind.unwrap_or_else(|| Value::String(kind.into())));
        out.insert("metadata".into(), self.metadata.map_or_else(|| Value::Object(Map::new()), MetaFields::into_value));
        match self.prune {
            Prune::NodeInfo => {
                if let Some(info) = self.node_info {
                    out.insert("status".into(), wrap(&["nodeInfo"], Value::Object(info)));
                }
            }
            Prune::PodSpec => {
                if let Some(spec) = self.pod_spec {
                    out.insert("spec".into(), spec.into_value());
                }
            }
            Prune::Template | Prune::Whole | Prune::ConfigData => {
                let spec = match self.pod_spec {
                    Some(t) => wrap(&self.template_path, t.into_value()),
                    None => Value::Object(Map::new()),
                };
                out.insert("spec".into(), spec);
            }
        }
        Value::Object(out)
    }
}

/// `{a: {b: {c: value}}}` for `path` `[a, b, c]`.
fn wrap(path: &[&str], value: Value) -> Value {
    path.iter().rev().fold(value, |v, k| Value::Object(Map::from_iter([((*k).to_string(), v)])))
}

/// Why objects are read, which decides what is kept beyond the pruned form.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Purpose {
    /// A live LIST (`cluster`, `snapshot -o`): the registry's `keep` filter applies, ConfigMaps
    /// keep only the data the rules read, credentials are redacted (what a snapshot may hold).
    List,
    /// A loaded snapshot written again (`snapshot --snapshot IN -o OUT`): every object, reduced
    /// and redacted as a live capture is.
    Resave,
    /// A snapshot file audited (`cluster --snapshot`): every object, ConfigMaps whole, nothing
    /// redacted, so the evidence is what the full loader gave (the engine redacts findings).
    Audit,
}

/// A ConfigMap as a snapshot keeps it: type, pruned metadata and only the data the rules read
/// ([`config_map_data`]).
fn config_map(obj: &Value) -> Value {
    let mut out = Map::new();
    for k in ["apiVersion", "kind"] {
        if let Some(v) = obj.get(k) {
            out.insert(k.into(), v.clone());
        }
    }
    let mut meta = MetaFields::new(false);
    if let Some(m) = obj.get("metadata") {
        // Reading a JSON value cannot fail.
        let _ = ObjectSeed(&mut meta).deserialize(m);
    }
    out.insert("metadata".into(), meta.into_value());
    if let Some(data) = config_map_data(obj) {
        out.insert("data".into(), data);
    }
    Value::Object(out)
}

/// The data of a ConfigMap reduced to what the rules read ([`manifest::data_kind`]): values
/// analysed as a known kind are kept whole; of any other value only the lines mentioning docker
/// are kept (the others blanked, so line numbers hold); values with no such line, and
/// `binaryData`, are dropped. A ConfigMap of passwords or a `credentials.json` leaves nothing.
fn config_map_data(object: &Value) -> Option<Value> {
    let name = object.pointer("/metadata/name").and_then(Value::as_str).unwrap_or_default();
    let data = object.get("data")?.as_object()?;
    let mut kept = Map::new();
    for (key, value) in data {
        let Some(text) = value.as_str() else { continue };
        if manifest::data_kind(name, key, text).is_some() {
            kept.insert(key.clone(), value.clone());
            continue;
        }
        if !text.lines().any(manifest::mentions_docker) {
            continue;
        }
        let lines: Vec<&str> = text.split('\n').map(|l| if manifest::mentions_docker(l) { l } else { "" }).collect();
        kept.insert(key.clone(), Value::String(lines.join("\n")));
    }
    Some(Value::Object(kept))
}

/// Reads one object of a resource from any deserializer (a page's item, a snapshot's entry, or
/// a `serde_json::Value`) into its pruned form: `None` for a non-object, or an object the
/// registry's `keep` filter drops from a live list. `api_version` fills in an object that does not
/// say its own (list items omit it), as `kind` does from the registry.
#[derive(Debug, Clone, Copy)]
pub struct ObjectSeedOf<'a> {
    /// The resource: its [`Prune`], pod spec pointer and `keep` filter.
    pub res: &'static ResourceKind,
    /// `apiVersion` when the object has none (CronJobs may be read at their legacy version).
    pub api_version: &'a str,
    /// Why the object is read: what is kept and redacted beyond the pruned form.
    pub purpose: Purpose,
    /// The uids of the owners already listed, for an audit: an object whose controller (or
    /// first) owner is one of them is read without its pod template, which the evidence never
    /// reads (it audits the owner's). `None`: every template is read.
    pub listed_owners: Option<&'a foldhash::HashSet<String>>,
}

impl<'de> DeserializeSeed<'de> for ObjectSeedOf<'_> {
    type Value = Option<Value>;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Option<Value>, D::Error> {
        let mut obj = if matches!(self.res.prune, Prune::Whole | Prune::ConfigData) {
            let Value::Object(map) = Value::deserialize(d)? else { return Ok(None) };
            let obj = fill_type_meta(map, self.res.kind, self.api_version);
            match self.purpose {
                Purpose::Audit => return Ok(Some(obj)),
                Purpose::List if self.res.keep.is_some_and(|keep| !keep(&obj)) => return Ok(None),
                _ if self.res.prune == Prune::ConfigData => config_map(&obj),
                Purpose::List => slim(obj),
                Purpose::Resave => obj,
            }
        } else {
            let mut f = ObjectFields::new(self.res);
            f.listed_owners = self.listed_owners;
            if !ObjectSeed(&mut f).deserialize(d)? {
                return Ok(None);
            }
            f.into_value(self.res.kind, self.api_version)
        };
        if self.purpose != Purpose::Audit {
            // Credentials in commands, args and kept configuration never reach a snapshot.
            crate::redact::json(&mut obj);
        }
        Ok(Some(obj))
    }
}

// ---------------------------------------------------------------------------------------------
// Pods after the first of their owner
// ---------------------------------------------------------------------------------------------

/// Remembers which owners already have a pod with its spec: a pod after the first of its owner
/// keeps only `spec.nodeName` (the evidence builders read one pod per workload, the first in list
/// order, and count the others). The owner is the one `collect::objects` follows (the controller
/// reference, else the first); pods of a Node (static pods) are each their own workload and keep
/// their spec. Apply in list order.
#[derive(Debug, Default)]
pub struct PodOwners {
    /// Owners seen so far, each as one [`owner_key`] string, with how many of their pods came
    /// after the first.
    seen: foldhash::HashMap<String, u32>,
    /// The key of the pod at hand, rebuilt in place for each pod (no allocation per pod).
    key: String,
}

impl PodOwners {
    /// Reduces `pod` to `spec.nodeName` when an earlier pod had the same owner.
    pub fn reduce(&mut self, pod: &mut Value) {
        if !self.is_repeat(pod) {
            return;
        }
        if let Some(spec) = pod.get_mut("spec") {
            let node = spec.get("nodeName").cloned();
            let mut m = Map::new();
            if let Some(n) = node {
                m.insert("nodeName".into(), n);
            }
            *spec = Value::Object(m);
        }
    }

    /// Whether `pod` comes after the first pod of its owner (and so keeps only `nodeName`);
    /// records its owner when it is the first.
    fn is_repeat(&mut self, pod: &Value) -> bool {
        if !owner_key(pod, &mut self.key) {
            return false;
        }
        if let Some(after_first) = self.seen.get_mut(self.key.as_str()) {
            *after_first += 1;
            return true;
        }
        self.seen.insert(self.key.clone(), 0);
        false
    }

    /// [`PodOwners::is_repeat`] for a pod whose owner key was taken when it was read (`None`:
    /// no owner that groups pods).
    fn is_repeat_key(&mut self, key: Option<String>) -> bool {
        match key {
            Some(key) => match self.seen.entry(key) {
                std::collections::hash_map::Entry::Occupied(mut e) => {
                    *e.get_mut() += 1;
                    true
                }
                std::collections::hash_map::Entry::Vacant(e) => {
                    e.insert(0);
                    false
                }
            },
            None => false,
        }
    }

    /// The owners with pods after their first, and how many: what a list read with folding
    /// ([`read_pod_page`]'s `fold`) left out.
    pub fn into_folded(self) -> FoldedPods {
        FoldedPods { after_first: self.seen.into_iter().filter(|(_, n)| *n > 0).collect() }
    }
}

/// The pods a live audit did not keep: every pod after the first of its owner, counted under that
/// owner's [`owner_key`]. The evidence reads one pod per workload (the first in list order) and
/// counts the others; a folded pod would have been reduced to `spec.nodeName`, which no rule
/// reads, so keeping only its count gives the same findings while 12k of 15k pods are never
/// held (issue 16). Only `cluster` folds: a snapshot file keeps every pod.
#[derive(Debug, Clone, Default)]
pub struct FoldedPods {
    /// Pods after the first, per owner key.
    after_first: foldhash::HashMap<String, u32>,
}

impl FoldedPods {
    /// How many pods `pod` stands for: itself and the pods of its owner folded into it.
    pub fn weight(&self, pod: &Value) -> u32 {
        if self.after_first.is_empty() {
            return 1;
        }
        let mut key = String::new();
        if !owner_key(pod, &mut key) {
            return 1;
        }
        1 + self.after_first.get(key.as_str()).copied().unwrap_or(0)
    }

    /// All folded pods.
    pub fn count(&self) -> usize {
        self.after_first.values().map(|n| *n as usize).sum()
    }

    /// Adds the folded pods of another list (another namespace: owner keys hold the namespace).
    pub fn merge(&mut self, other: FoldedPods) {
        for (key, n) in other.after_first {
            *self.after_first.entry(key).or_default() += n;
        }
    }

    /// Keeps only the owners of `kept` (the pods left after a filter): a folded pod goes with the
    /// first pod of its owner, which shares its namespace.
    pub fn retain_owners_of(&mut self, kept: &[Value]) {
        if self.after_first.is_empty() {
            return;
        }
        let mut key = String::new();
        let mut owners = foldhash::HashSet::default();
        for pod in kept {
            if owner_key(pod, &mut key) {
                owners.insert(key.clone());
            }
        }
        self.after_first.retain(|k, _| owners.contains(k));
    }
}

/// Writes into `key` the owner a pod is grouped under (uid, kind, namespace, name), each part
/// prefixed with its length so that no two owners share a key whatever their strings hold; false
/// for pods that are their own workload (no owner, or a Node).
fn owner_key(pod: &Value, key: &mut String) -> bool {
    let meta = pod.get("metadata");
    fn unchanged(s: &str) -> Cow<'_, str> {
        Cow::Borrowed(s)
    }
    owner_key_of(meta.and_then(|m| m.get("ownerReferences")), meta.and_then(|m| m.get("namespace")), key, unchanged)
}

/// [`owner_key`] from a pod's `ownerReferences` and `namespace`, each string part passed through
/// `part` first (the redaction a pod gets before it is kept, so that a key taken before the pod
/// is built and redacted is the key of the kept pod).
fn owner_key_of(
    refs: Option<&Value>,
    namespace: Option<&Value>,
    key: &mut String,
    part: fn(&str) -> Cow<'_, str>,
) -> bool {
    use std::fmt::Write as _;
    let Some(refs) = refs.and_then(Value::as_array) else {
        return false;
    };
    let Some(r) = super::kinds::followed_owner(refs) else {
        return false;
    };
    fn s<'a>(v: &'a Value, field: &str) -> &'a str {
        v.get(field).and_then(Value::as_str).unwrap_or("")
    }
    let kind = part(s(r, "kind"));
    if kind == "Node" {
        return false;
    }
    let namespace = part(namespace.and_then(Value::as_str).unwrap_or(""));
    key.clear();
    for p in [part(s(r, "uid")), kind, namespace, part(s(r, "name"))] {
        let _ = write!(key, "{}:", p.len());
        key.push_str(&p);
    }
    true
}

// ---------------------------------------------------------------------------------------------
// LIST pages
// ---------------------------------------------------------------------------------------------

/// One LIST page, read into pruned objects.
#[derive(Debug, Default)]
pub struct Page<T = Value> {
    /// The pruned objects, in list order (`None` when the answer has no `items`).
    pub items: Option<Vec<T>>,
    /// Items read, kept or not.
    pub seen: usize,
    /// `metadata.continue`, when not empty.
    pub continue_token: Option<String>,
    /// The answer's `kind` (`Status` when the server answered 200 with an error).
    pub kind: Option<String>,
    /// The answer's `message` (a `Status`'s).
    pub message: Option<String>,
}

#[derive(serde::Deserialize, Default)]
struct PageMeta {
    #[serde(default, rename = "continue")]
    continue_token: Option<String>,
}

impl PageMeta {
    /// The continue token, when there is a next page (an empty token is none).
    fn token(self) -> Option<String> {
        self.continue_token.filter(|c| !c.is_empty())
    }
}

/// The continue token of a LIST answer, read from the answer's start, without its items: `Some`
/// when `metadata` comes before `items` (as the API server writes them), with the token when it
/// is not empty; `None` when it does not, or the start does not read as a list's (then the
/// token is only known once [`read_page`] reaches it). The lister requests the next page with
/// it as soon as an answer is in, without waiting for a core to start parsing the answer
/// (issue 16: on two busy cores, that wait was a pod list's longest part).
pub fn continue_token(body: &[u8]) -> Option<Option<String>> {
    struct Prefix<'a>(&'a mut Option<Option<String>>);
    impl<'de> Visitor<'de> for Prefix<'_> {
        type Value = ();
        fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
            f.write_str("a list")
        }
        fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
            while let Some(key) = map.next_key::<Cow<'de, str>>()? {
                match key.as_ref() {
                    "metadata" => {
                        let meta: PageMeta = map.next_value()?;
                        *self.0 = Some(meta.token());
                        return Ok(());
                    }
                    "items" => return Ok(()),
                    _ => {
                        map.next_value::<IgnoredAny>()?;
                    }
                }
            }
            Ok(())
        }
    }
    let mut found = None;
    // Stopping at `metadata` leaves the map unfinished, which the deserializer reports: the
    // answer is whatever was found before.
    let _ = serde_json::Deserializer::from_slice(body).deserialize_map(Prefix(&mut found));
    found
}

/// Reads a LIST answer into pruned objects. `on_continue` is called once with the continue token
/// as soon as the page's `metadata` is read (the API server writes it before `items`), so the
/// next page can be requested while this one is still being read; a page without `metadata`
/// calls it at the end.
pub fn read_page(
    body: &[u8],
    seed: &ObjectSeedOf<'_>,
    on_continue: &mut dyn FnMut(Option<&str>),
) -> Result<Page, serde_json::Error> {
    parse_page(body, *seed, on_continue, 0)
}

/// How a live pod list is read ([`read_pod_page`]).
#[derive(Clone, Copy)]
pub struct PodList<'a> {
    /// The pods' registry entry.
    pub res: &'static ResourceKind,
    /// `apiVersion` for pods that do not say theirs (list items do not).
    pub api_version: &'a str,
    /// Leave the pods after the first of their owner out, counted ([`PodOwners::into_folded`]).
    pub fold: bool,
    /// The page size asked for (`limit`), to size the page's pods at once (0: unknown).
    pub page_size: usize,
}

/// [`read_page`] for a page of a live pod list, in two passes so that pages can be read in
/// parallel and still keep the spec of exactly the pods [`PodOwners`] would keep reading them one
/// by one. The first pass (in parallel with other pages) builds each pod's metadata and `nodeName`
/// and leaves its volume and container lists as unparsed slices of the page ([`RawPodSpec`]).
/// Then `owners` is called for the grouping state as the previous page left it (it waits for that
/// page; `None`: that page failed, and so does this one), and the specs are built for the first
/// pod of each owner only: the other 12k of 15k pods never have a spec built and freed (issue 16).
/// `done` receives the state for the next page. The pods come out byte-equal to
/// [`read_page`] followed by [`PodOwners::reduce`] (`tests/it/cluster_pruned.rs`); with `fold`,
/// the pods that reduces are left out and only counted ([`PodOwners::into_folded`]).
pub fn read_pod_page(
    body: &[u8],
    list: PodList<'_>,
    on_continue: &mut dyn FnMut(Option<&str>),
    owners: impl FnOnce() -> Option<PodOwners>,
    done: impl FnOnce(PodOwners),
) -> Result<Page, serde_json::Error> {
    let PodList { res, api_version, fold, page_size } = list;
    let page = parse_page(body, PodSeed { res, api_version, fold }, on_continue, page_size)?;
    let Some(mut owners) = owners() else {
        return Err(de::Error::custom("an earlier page of this list could not be read"));
    };
    let items = match page.items {
        Some(items) => {
            let mut out = Vec::with_capacity(items.len());
            for PodItem { head, spec, owner } in items {
                let repeat = owners.is_repeat_key(owner);
                if repeat && fold {
                    continue;
                }
                let mut pod = match head {
                    PodHead::Built(pod) => pod,
                    PodHead::Read(fields) => built_pod(fields, res, api_version),
                };
                if let Some(spec) = spec {
                    let mut spec = if repeat { spec.node_only() } else { spec.build()? };
                    crate::redact::json(&mut spec);
                    if let Value::Object(map) = &mut pod {
                        map.insert("spec".into(), spec);
                    }
                }
                out.push(pod);
            }
            Some(out)
        }
        None => None,
    };
    done(owners);
    Ok(Page { items, seen: page.seen, continue_token: page.continue_token, kind: page.kind, message: page.message })
}

fn parse_page<'de, S, T>(
    body: &'de [u8],
    seed: S,
    on_continue: &mut dyn FnMut(Option<&str>),
    expected: usize,
) -> Result<Page<T>, serde_json::Error>
where
    S: DeserializeSeed<'de, Value = Option<T>> + Copy,
{
    let mut de = serde_json::Deserializer::from_slice(body);
    let mut page = Page { items: None, seen: 0, continue_token: None, kind: None, message: None };
    let mut told = false;
    (&mut de).deserialize_map(PageVisitor {
        seed,
        expected,
        page: &mut page,
        on_continue: &mut *on_continue,
        told: &mut told,
    })?;
    de.end()?;
    if !told {
        on_continue(None);
    }
    Ok(page)
}

struct PageVisitor<'a, S, T> {
    seed: S,
    /// Items expected in the page (its `limit`), to size the list at once.
    expected: usize,
    page: &'a mut Page<T>,
    on_continue: &'a mut dyn FnMut(Option<&str>),
    told: &'a mut bool,
}

impl<'de, S, T> Visitor<'de> for PageVisitor<'_, S, T>
where
    S: DeserializeSeed<'de, Value = Option<T>> + Copy,
{
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a Kubernetes list")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let (mut had_meta, mut had_items) = (false, false);
        while let Some(key) = map.next_key::<std::borrow::Cow<'de, str>>()? {
            match key.as_ref() {
                "kind" => {
                    if self.page.kind.is_some() {
                        return Err(de::Error::duplicate_field("kind"));
                    }
                    self.page.kind = map.next_value()?;
                }
                "message" => {
                    if self.page.message.is_some() {
                        return Err(de::Error::duplicate_field("message"));
                    }
                    self.page.message = map.next_value()?;
                }
                "metadata" => {
                    if std::mem::replace(&mut had_meta, true) {
                        return Err(de::Error::duplicate_field("metadata"));
                    }
                    let meta: PageMeta = map.next_value()?;
                    self.page.continue_token = meta.token();
                    (self.on_continue)(self.page.continue_token.as_deref());
                    *self.told = true;
                }
                "items" => {
                    if std::mem::replace(&mut had_items, true) {
                        return Err(de::Error::duplicate_field("items"));
                    }
                    self.page.items = map.next_value_seed(ItemsSeed {
                        seed: self.seed,
                        expected: self.expected,
                        seen: &mut self.page.seen,
                    })?;
                }
                _ => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok(())
    }
}

/// A list's `items`: `null` is no items; anything but an array or null is an error.
struct ItemsSeed<'a, S> {
    seed: S,
    expected: usize,
    seen: &'a mut usize,
}

impl<'de, S, T> DeserializeSeed<'de> for ItemsSeed<'_, S>
where
    S: DeserializeSeed<'de, Value = Option<T>> + Copy,
{
    type Value = Option<Vec<T>>;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_option(self)
    }
}

impl<'de, S, T> Visitor<'de> for ItemsSeed<'_, S>
where
    S: DeserializeSeed<'de, Value = Option<T>> + Copy,
{
    type Value = Option<Vec<T>>;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("an array of objects")
    }
    fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(None)
    }
    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(None)
    }
    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_seq(self)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        let mut out = Vec::with_capacity(seq.size_hint().unwrap_or(self.expected).min(4096));
        while let Some(item) = seq.next_element_seed(self.seed)? {
            *self.seen += 1;
            out.extend(item);
        }
        Ok(Some(out))
    }
}

// ---------------------------------------------------------------------------------------------
// Live pod lists: specs built for the first pod of each owner only
// ---------------------------------------------------------------------------------------------

/// A pod's spec after the first pass over its page: `nodeName` read, the volume and container
/// lists validated and left as slices of the page until [`PodOwners`] says whether they are kept.
#[derive(Default)]
struct RawPodSpec<'de> {
    node_name: Option<Value>,
    volumes: Option<&'de RawValue>,
    lists: [Option<&'de RawValue>; 3],
}

impl RawPodSpec<'_> {
    /// The pruned spec, as [`pod_spec`] builds it from the whole value.
    fn build(self) -> Result<Value, serde_json::Error> {
        fn list<'a, S: Element<'a>>(
            raw: Option<&'a RawValue>,
            make: fn() -> S,
        ) -> serde_json::Result<Option<Vec<S::Out>>> {
            match raw {
                Some(raw) => ArraySeed(make).deserialize(&mut serde_json::Deserializer::from_str(raw.get())),
                None => Ok(None),
            }
        }
        let [init, main, ephemeral] = self.lists;
        let spec = PodSpecFields {
            node_name: self.node_name,
            volumes: list(self.volumes, || VolumeElement)?,
            lists: [
                list(init, || ContainerElement)?,
                list(main, || ContainerElement)?,
                list(ephemeral, || ContainerElement)?,
            ],
        };
        Ok(spec.into_value())
    }

    /// What [`PodOwners::reduce`] leaves of the spec of a pod after the first of its owner.
    fn node_only(self) -> Value {
        let mut m = Map::new();
        if let Some(n) = self.node_name {
            m.insert("nodeName".into(), n);
        }
        Value::Object(m)
    }
}

/// The keys of a pod spec the first pass reads (as [`PodSpecFields`] numbers them).
struct SpecKey;

impl<'de> DeserializeSeed<'de> for SpecKey {
    type Value = Option<u8>;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Option<u8>, D::Error> {
        d.deserialize_str(self)
    }
}

impl<'de> Visitor<'de> for SpecKey {
    type Value = Option<u8>;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("an object key")
    }
    fn visit_str<E: de::Error>(self, key: &str) -> Result<Option<u8>, E> {
        Ok(PodSpecFields::default().id(key))
    }
}

/// A pod spec in the first pass: any value (a non-object is an empty spec, as in [`pod_spec`]).
#[derive(Clone, Copy)]
struct RawSpecSeed;

impl<'de> DeserializeSeed<'de> for RawSpecSeed {
    type Value = RawPodSpec<'de>;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for RawSpecSeed {
    type Value = RawPodSpec<'de>;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("any JSON value")
    }
    skip_scalars!(RawPodSpec::default());
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(RawPodSpec::default())
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut spec = RawPodSpec::default();
        while let Some(id) = map.next_key_seed(SpecKey)? {
            match id {
                Some(0) => spec.node_name = Some(map.next_value()?),
                Some(1) => spec.volumes = Some(map.next_value()?),
                Some(i) => spec.lists[usize::from(i - 2)] = Some(map.next_value()?),
                None => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok(spec)
    }
}

/// A pod without its spec after the first pass: built, or (a list read with folding, where most
/// pods are only counted) its fields as read, built in the second pass only if the pod is kept.
// The fields are larger than a value, and moved once per pod: boxing them would cost an allocation
// per pod on the path that exists to save allocations.
#[allow(clippy::large_enum_variant)]
enum PodHead {
    /// The pruned pod without its spec, redacted.
    Built(Value),
    /// The pod's fields, unbuilt and unredacted.
    Read(ObjectFields<'static>),
}

/// A pod's fields built into the pruned pod without its spec, redacted.
fn built_pod(fields: ObjectFields<'_>, res: &ResourceKind, api_version: &str) -> Value {
    let mut pod = fields.into_value(res.kind, api_version);
    crate::redact::json(&mut pod);
    pod
}

/// A pod after the first pass over its page.
struct PodItem<'de> {
    /// The pod without its spec.
    head: PodHead,
    /// Its spec, when it has one, still unbuilt.
    spec: Option<RawPodSpec<'de>>,
    /// Its owner's grouping key ([`owner_key`]), when it has an owner that groups pods.
    owner: Option<String>,
}

/// One item of a live pod list in the first pass: the pruned pod without its spec, and the spec
/// (when the pod has one) left for [`read_pod_page`] to build or reduce.
#[derive(Clone, Copy)]
struct PodSeed<'a> {
    /// The pods' registry entry.
    res: &'static ResourceKind,
    api_version: &'a str,
    /// Whether the list is read with folding: pods are built in the second pass, if kept.
    fold: bool,
}

impl<'de> DeserializeSeed<'de> for PodSeed<'_> {
    type Value = Option<PodItem<'de>>;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for PodSeed<'_> {
    type Value = Option<PodItem<'de>>;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("any JSON value")
    }
    skip_scalars!(None);
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(None)
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut fields = ObjectFields::new(self.res);
        let mut spec = None;
        while let Some(id) = map.next_key_seed(KeySeed(&mut fields))? {
            match id {
                Some(3) => spec = Some(map.next_value_seed(RawSpecSeed)?),
                Some(id) => map.next_value_seed(FieldSeed(&mut fields, id))?,
                None => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        // The owner's key now, while the pod is in the cache (the grouping pass reads it later),
        // as the redacted pod will hold it.
        let mut key = String::new();
        let meta = fields.metadata.as_ref();
        let owner = owner_key_of(
            meta.and_then(MetaFields::owner_references),
            meta.and_then(MetaFields::namespace),
            &mut key,
            crate::redact::secrets,
        )
        .then_some(key);
        let head = if self.fold {
            PodHead::Read(fields)
        } else {
            PodHead::Built(built_pod(fields, self.res, self.api_version))
        };
        Ok(Some(PodItem { head, spec, owner }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn seed(plural: &str) -> ObjectSeedOf<'static> {
        let res = super::super::kinds::by_plural(plural).unwrap();
        ObjectSeedOf { res, api_version: "v1", purpose: Purpose::List, listed_owners: None }
    }

    #[test]
    fn the_continue_token_is_read_from_the_start_of_an_answer() {
        let token = |body: &str| continue_token(body.as_bytes());
        let page = r#"{"kind":"PodList","apiVersion":"v1","metadata":{"resourceVersion":"9","continue":"eyJ2IjoibWV0YS5rOHMuaW8vdjEifQ","remainingItemCount":12},"items":[{"metadata":{"name":"a"}}"#;
        // Cut in the middle of its items: only the start is read.
        assert_eq!(token(page), Some(Some("eyJ2IjoibWV0YS5rOHMuaW8vdjEifQ".to_string())));
        assert_eq!(token(r#"{"kind":"PodList","metadata":{"continue":""},"items":[]}"#), Some(None));
        assert_eq!(token(r#"{"metadata":{},"items":[]}"#), Some(None));
        // Not knowable from the start: items first, metadata not an object, not a list at all.
        assert_eq!(token(r#"{"items":[],"metadata":{"continue":"x"}}"#), None);
        assert_eq!(token(r#"{"kind":"PodList","metadata":"x","items":[]}"#), None);
        assert_eq!(token(r#"{"kind":"PodList","metadata":{"continue":"#), None);
        assert_eq!(token("[1, 2]"), None);
        assert_eq!(token("\u{0}binary"), None);
        // What the page reader says is the same.
        let mut told = Vec::new();
        let body = r#"{"kind":"PodList","metadata":{"continue":"abc"},"items":[]}"#;
        read_page(body.as_bytes(), &seed("pods"), &mut |t| told.push(t.map(str::to_string))).unwrap();
        assert_eq!(told, [token(body).unwrap()]);
    }

    #[test]
    fn an_object_whose_owner_was_listed_is_read_without_its_template() {
        let listed: foldhash::HashSet<String> = ["deploy-uid".to_string()].into_iter().collect();
        let audit = ObjectSeedOf { listed_owners: Some(&listed), ..seed("replicasets") };
        let template = json!({"metadata": {"labels": {"app": "web"}},
                              "spec": {"containers": [{"name": "web", "image": "nginx:1.25",
                                                       "volumeMounts": [{"name": "d", "mountPath": "/var/run/docker.sock"}]}],
                                       "volumes": [{"name": "d", "hostPath": {"path": "/var/run/docker.sock"}}]}});
        let rs = |refs: Value, metadata_first: bool| {
            let meta = format!(
                r#""metadata":{{"name":"web-5d9","namespace":"shop","uid":"rs-uid","ownerReferences":{refs}}}"#
            );
            let spec = format!(r#""spec":{{"replicas":2,"template":{template}}}"#);
            let body = if metadata_first { format!("{{{meta},{spec}}}") } else { format!("{{{spec},{meta}}}") };
            audit.deserialize(&mut serde_json::Deserializer::from_str(&body)).unwrap().unwrap()
        };
        let owned = json!([{"apiVersion": "apps/v1", "kind": "Deployment", "name": "web", "uid": "deploy-uid", "controller": true}]);
        // Owned by a listed Deployment: the evidence audits the Deployment, never this template.
        let got = rs(owned.clone(), true);
        assert_eq!(got["spec"], json!({}));
        assert_eq!(got["metadata"]["ownerReferences"], owned, "the owner chain is still there");
        // The template is kept when the owner was not listed, when the controller reference (the
        // one the evidence follows) is another owner, and when `spec` comes before `metadata`.
        let kept = |o: &Value| o.pointer("/spec/template/spec/volumes/0/hostPath/path").is_some();
        assert!(kept(&rs(
            json!([{"kind": "Deployment", "name": "other", "uid": "other-uid", "controller": true}]),
            true
        )));
        assert!(kept(&rs(
            json!([{"kind": "Deployment", "uid": "deploy-uid"}, {"kind": "Rollout", "uid": "r", "controller": true}]),
            true
        )));
        assert!(kept(&rs(owned.clone(), false)));
        assert!(kept(&rs(json!([{"kind": "Deployment", "uid": ""}]), true)));
        assert!(kept(&rs(json!("not a list"), true)));
        // Without listed owners (a snapshot being written), every template is read.
        let body =
            format!(r#"{{"metadata":{{"uid":"x","ownerReferences":{owned}}},"spec":{{"template":{template}}}}}"#);
        let plain = seed("replicasets").deserialize(&mut serde_json::Deserializer::from_str(&body)).unwrap().unwrap();
        assert!(kept(&plain));
    }

    fn prune(plural: &str, v: &Value) -> Option<Value> {
        seed(plural).deserialize(v.clone()).unwrap()
    }

    #[test]
    fn pod_keeps_what_the_rules_read() {
        let pod = json!({
            "metadata": {"name": "p", "namespace": "n", "labels": {"a": "b"}, "managedFields": [1],
                         "annotations": {"kubernetes.io/config.mirror": "x", "other": "y"}},
            "spec": {"nodeName": "n1", "hostNetwork": true,
                     "volumes": [{"name": "s", "hostPath": {"path": "/var/run/docker.sock"}},
                                 {"name": "c", "configMap": {"name": "big"}}, 7],
                     "containers": [{"name": "a", "image": "i", "resources": {}, "args": ["x"],
                                     "securityContext": {"privileged": true, "runAsUser": 0},
                                     "env": [{"name": "DOCKER_HOST", "value": "unix:///d.sock"},
                                             {"name": "SECRET", "value": "hunter2"},
                                             {"name": "RUNTIME", "value": "Docker"}],
                                     "livenessProbe": {"exec": {"command": ["docker", "ps"]}, "periodSeconds": 5},
                                     "lifecycle": {"preStop": {"exec": {"command": ["x"]}}, "postStart": {"httpGet": {}}}},
                                    "not a container"]},
            "status": {"phase": "Running"}
        });
        let got = prune("pods", &pod).unwrap();
        assert_eq!(
            got,
            json!({
                "apiVersion": "v1", "kind": "Pod",
                "metadata": {"name": "p", "namespace": "n", "annotations": {"kubernetes.io/config.mirror": "x"}},
                "spec": {"nodeName": "n1",
                         "volumes": [{"name": "s", "hostPath": {"path": "/var/run/docker.sock"}},
                                     {"name": "c", "configMap": {}}, {}],
                         "containers": [{"name": "a", "image": "i", "args": ["x"],
                                         "securityContext": {"privileged": true},
                                         "env": [{"name": "DOCKER_HOST", "value": "unix:///d.sock"},
                                                 {"name": "RUNTIME", "value": "Docker"}],
                                         "livenessProbe": {"exec": {"command": ["docker", "ps"]}},
                                         "lifecycle": {"preStop": {"exec": {"command": ["x"]}}}},
                                        {}]}
            })
        );
        assert!(!got.to_string().contains("hunter2"));
    }

    #[test]
    fn odd_shapes_read_as_absent_never_an_error() {
        assert_eq!(prune("pods", &json!("x")), None);
        let got = prune("pods", &json!({"kind": 5, "metadata": "m", "spec": [1]})).unwrap();
        assert_eq!(got, json!({"apiVersion": "v1", "kind": 5, "metadata": {}, "spec": {}}));
        let got =
            prune("cronjobs", &json!({"spec": {"template": 3, "jobTemplate": {"spec": {"template": {"spec": null}}}}}))
                .unwrap();
        assert_eq!(got["spec"], json!({"jobTemplate": {"spec": {"template": {"spec": {}}}}}));
        // A repeated key replaces the first, as in a JSON value.
        let text =
            r#"{"metadata": {"name": "a"}, "metadata": {"uid": "u"}, "spec": {"containers": 1, "containers": []}}"#;
        let v = seed("pods").deserialize(&mut serde_json::Deserializer::from_str(text)).unwrap().unwrap();
        assert_eq!(v["metadata"], json!({"uid": "u"}));
        assert_eq!(v["spec"], json!({"containers": []}));
    }

    #[test]
    fn nodes_keep_labels_and_versions() {
        let node = json!({"metadata": {"name": "n", "labels": {"pool": "a"}},
                          "status": {"nodeInfo": {"kubeletVersion": "v1.23.1", "osImage": "x", "machineID": "m"},
                                     "images": [{"names": ["a"]}]}});
        let got = prune("nodes", &node).unwrap();
        assert_eq!(got["metadata"], json!({"name": "n", "labels": {"pool": "a"}}));
        assert_eq!(got["status"], json!({"nodeInfo": {"kubeletVersion": "v1.23.1", "osImage": "x"}}));
    }

    #[test]
    fn slim_drops_managed_fields_and_last_applied() {
        let o = slim(json!({"metadata": {"name": "a", "managedFields": [1],
            "annotations": {"kubectl.kubernetes.io/last-applied-configuration": "{}", "keep": "x"}}}));
        assert!(o["metadata"].get("managedFields").is_none());
        assert_eq!(o["metadata"]["annotations"], json!({"keep": "x"}));
    }

    #[test]
    fn configmaps_from_a_list_are_filtered_and_slimmed_from_a_snapshot_kept() {
        let cm = json!({"metadata": {"name": "app", "namespace": "x", "managedFields": [1]}, "data": {"a.txt": "b"}});
        assert_eq!(prune("configmaps", &cm), None);
        let kept = json!({"metadata": {"name": "kubeadm-config", "namespace": "kube-system", "managedFields": [1]}});
        assert_eq!(
            prune("configmaps", &kept).unwrap()["metadata"],
            json!({"name": "kubeadm-config", "namespace": "kube-system"})
        );
        let whole =
            ObjectSeedOf { purpose: Purpose::Audit, ..seed("configmaps") }.deserialize(cm.clone()).unwrap().unwrap();
        assert_eq!(whole["metadata"], cm["metadata"]);
    }

    #[test]
    fn pages_tell_the_continue_token_first() {
        let body = br#"{"kind":"PodList","metadata":{"continue":"abc"},"items":[{"metadata":{"name":"a"}},1]}"#;
        let seed = seed("pods");
        let mut told = Vec::new();
        let page = read_page(body, &seed, &mut |t| told.push(t.map(str::to_string))).unwrap();
        assert_eq!(told, vec![Some("abc".to_string())]);
        assert_eq!(page.seen, 2);
        assert_eq!(page.items.unwrap().len(), 1);
        let page = read_page(br#"{"items":null}"#, &seed, &mut |_| {}).unwrap();
        assert!(page.items.is_none());
        assert!(read_page(br#"{"items":{}}"#, &seed, &mut |_| {}).is_err());
        assert!(read_page(br#"{"items":[]} x"#, &seed, &mut |_| {}).is_err());
    }

    /// The two-pass reader of live pod pages gives exactly what one pass and the owner grouping
    /// give, across pages (the grouping carries over) and for odd shapes.
    #[test]
    fn pod_pages_in_two_passes_equal_one_pass_then_grouping() {
        let pod = |name: &str, owner: Option<(&str, &str)>, spec: Value| {
            let mut meta = json!({"name": name, "namespace": "n", "managedFields": [{"manager": "kubelet"}]});
            if let Some((kind, uid)) = owner {
                meta["ownerReferences"] = json!([{"kind": kind, "name": uid, "uid": uid, "controller": true}]);
            }
            json!({"apiVersion": "v1", "kind": "Pod", "metadata": meta, "spec": spec, "status": {"phase": "Running"}})
        };
        let full = |node: &str| {
            json!({"nodeName": node, "serviceAccountName": "x",
                   "volumes": [{"name": "d", "hostPath": {"path": "/var/run/docker.sock"}}, {"name": "e", "emptyDir": {}}],
                   "initContainers": [{"name": "i", "image": "busybox", "command": ["sh", "-c", "docker info"]}],
                   "containers": [{"name": "c", "image": "docker:24-dind", "args": ["--password", "hunter2"],
                                   "env": [{"name": "DOCKER_HOST", "value": "tcp://localhost:2375"}, {"name": "X", "value": "y"}],
                                   "securityContext": {"privileged": true}}]})
        };
        let pages = [
            vec![
                pod("a-1", Some(("ReplicaSet", "rs-a")), full("n1")),
                pod("a-2", Some(("ReplicaSet", "rs-a")), full("n2")),
                pod("static-n1", Some(("Node", "n1")), full("n1")),
                pod("bare", None, full("n3")),
                json!({"metadata": {"name": "no-spec", "ownerReferences": [{"kind": "Job", "uid": "j"}]}}),
                pod("odd", Some(("Job", "j")), json!([1, 2])),
                json!("not an object"),
            ],
            vec![
                pod("a-3", Some(("ReplicaSet", "rs-a")), full("n3")),
                pod("static-n1b", Some(("Node", "n1")), full("n1")),
                pod("odd-2", Some(("Job", "j")), json!({"nodeName": 5, "containers": "x", "containers": []})),
                pod("b-1", Some(("ReplicaSet", "rs-b")), json!({"volumes": {}, "containers": [7, {"name": "z"}]})),
                // An owner whose name and uid the redaction changes: the key taken before the pod
                // is built must be the kept pod's.
                pod("c-1", Some(("ReplicaSet", "c --password=hunter2")), full("n1")),
                pod("c-2", Some(("ReplicaSet", "c --password=hunter2")), full("n2")),
            ],
        ];
        let bodies: Vec<String> = pages
            .iter()
            .enumerate()
            .map(|(i, items)| {
                let cont = if i + 1 < pages.len() { "next" } else { "" };
                json!({"kind": "PodList", "apiVersion": "v1", "metadata": {"continue": cont}, "items": items})
                    .to_string()
            })
            .collect();
        let (mut one_pass, mut two_pass) = (Vec::new(), Vec::new());
        let mut grouping = PodOwners::default();
        let pods = super::super::kinds::by_plural("pods").unwrap();
        let list = |fold| PodList { res: pods, api_version: "v1", fold, page_size: 3 };
        let mut carried = Some(PodOwners::default());
        // Folding: the pods the grouping reduces are left out, and counted.
        let (mut expected_folded, mut folded, mut carried_fold) = (Vec::new(), Vec::new(), Some(PodOwners::default()));
        let mut first_of_owner = PodOwners::default();
        for body in &bodies {
            let page = read_page(body.as_bytes(), &seed("pods"), &mut |_| {}).unwrap();
            for mut p in page.items.unwrap() {
                if !first_of_owner.is_repeat(&p) {
                    expected_folded.push(p.clone());
                }
                grouping.reduce(&mut p);
                one_pass.push(p);
            }
            let mut next = None;
            let page = read_pod_page(body.as_bytes(), list(false), &mut |_| {}, || carried.take(), |o| next = Some(o))
                .unwrap();
            carried = next;
            two_pass.extend(page.items.unwrap());
            let mut next = None;
            let page =
                read_pod_page(body.as_bytes(), list(true), &mut |_| {}, || carried_fold.take(), |o| next = Some(o))
                    .unwrap();
            carried_fold = next;
            folded.extend(page.items.unwrap());
        }
        assert_eq!(serde_json::to_string(&expected_folded).unwrap(), serde_json::to_string(&folded).unwrap());
        let counts = carried_fold.unwrap().into_folded();
        assert_eq!(folded.len(), 8, "a-2, a-3, odd-2 and c-2 folded");
        assert_eq!(counts.count(), 4);
        let weights: Vec<u32> = folded.iter().map(|p| counts.weight(p)).collect();
        assert_eq!(weights.iter().sum::<u32>(), 12, "every pod is counted once: {weights:?}");
        assert_eq!(weights[0], 3, "a-1 stands for a-1, a-2 and a-3");
        assert_eq!(weights[7], 2, "c-1 stands for c-1 and c-2");
        assert!(!serde_json::to_string(&folded).unwrap().contains("hunter2"));
        assert_eq!(one_pass.len(), 12);
        assert_eq!(serde_json::to_string(&one_pass).unwrap(), serde_json::to_string(&two_pass).unwrap());
        // What the grouping did, so the equality above is not between two empty answers.
        assert!(two_pass[0]["spec"]["containers"][0]["securityContext"]["privileged"].as_bool().unwrap());
        assert_eq!(two_pass[1]["spec"], json!({"nodeName": "n2"}));
        assert!(two_pass[7]["spec"].get("volumes").is_some(), "each static pod is its own workload");
        assert_eq!(two_pass[6]["spec"], json!({"nodeName": "n3"}));
        assert!(!serde_json::to_string(&two_pass).unwrap().contains("hunter2"));
        // A page whose predecessor failed fails too.
        assert!(read_pod_page(bodies[1].as_bytes(), list(false), &mut |_| {}, || None, |_| {}).is_err());
    }

    #[test]
    fn pods_after_the_first_of_their_owner_keep_only_the_node() {
        let pod = |name: &str, owner: &str, kind: &str| {
            json!({"metadata": {"name": name, "namespace": "n",
                                "ownerReferences": [{"kind": kind, "name": owner, "uid": owner, "controller": true}]},
                   "spec": {"nodeName": "n1", "containers": []}})
        };
        let mut owners = PodOwners::default();
        let (mut a, mut b, mut s1, mut s2) = (
            pod("a", "rs", "ReplicaSet"),
            pod("b", "rs", "ReplicaSet"),
            pod("s1", "n1", "Node"),
            pod("s2", "n1", "Node"),
        );
        for p in [&mut a, &mut b, &mut s1, &mut s2] {
            owners.reduce(p);
        }
        assert!(a["spec"].get("containers").is_some());
        assert_eq!(b["spec"], json!({"nodeName": "n1"}));
        assert!(s2["spec"].get("containers").is_some(), "static pods are each their own workload");
    }
}
