//! YAML documents: Kubernetes manifests (any object with a pod spec), ConfigMaps holding other
//! configuration, kubeadm and kubelet configuration, PrometheusRules, and installer configs
//! (KubeKey, kubespray, RKE1). Each document is dispatched on its `apiVersion`/`kind` or, for plain
//! YAML, on its well-known top-level keys.

use serde_json::Value as Json;

use super::source::Source;
use crate::evidence::file_kind::{FileKind, PathClass, classify_content};
use crate::evidence::workload::{self, PodOrigin};
use crate::evidence::{Evidence, Location, ObjectRef, Subject};
use crate::parse::yaml::{self, YamlDoc};

/// Parses a YAML stream and analyses each document. A parse error is a gap naming the line.
pub fn analyze(src: &Source<'_>, out: &mut Evidence) {
    for doc in &src.yaml_documents(out).unwrap_or_default() {
        analyze_doc(src, doc, out);
    }
}

/// Analyses one parsed document.
pub fn analyze_doc(src: &Source<'_>, doc: &YamlDoc, out: &mut Evidence) {
    if super::ansible::is_ansible(&doc.value) {
        super::ansible::analyze_tasks(src, doc, &doc.value, "", out);
        return;
    }
    analyze_value(src, doc, &doc.value, "", out);
}

fn loc_of(src: &Source<'_>, doc: &YamlDoc, ptr: &str) -> Location {
    let p = doc.pos(ptr);
    src.loc(p.line, p.column)
}

/// Analyses the object at `ptr` (the document root, or an item of a `List`).
fn analyze_value(src: &Source<'_>, doc: &YamlDoc, value: &Json, ptr: &str, out: &mut Evidence) {
    let Some(map) = value.as_object() else { return };
    let api_version = map.get("apiVersion").and_then(Json::as_str).unwrap_or("");
    let kind = map.get("kind").and_then(Json::as_str).unwrap_or("");
    if kind == "List" || kind.ends_with("List") && map.get("items").is_some_and(Json::is_array) {
        for (i, item) in map["items"].as_array().into_iter().flatten().enumerate() {
            analyze_value(src, doc, item, &format!("{ptr}/items/{i}"), out);
        }
        return;
    }
    if api_version.starts_with("kubeadm.k8s.io/") {
        kubeadm(src, doc, value, ptr, kind, out);
        return;
    }
    if kind == "KubeletConfiguration" {
        kubelet_config(&src.embedded_kind(FileKind::KubeletConfig), doc, value, ptr, "kubelet", out);
        return;
    }
    if kind == "KubeProxyConfiguration" {
        feature_gate_map(src, doc, value, ptr, "kube-proxy", out);
        return;
    }
    if kind == "Cluster" && api_version.starts_with("kops.k8s.io/") {
        kops_cluster(src, doc, value, ptr, out);
        return;
    }
    // KubeKey: v1alpha2 `kind: Cluster` (`spec.kubernetes.containerManager`) and v4 `kind: Config`
    // (`spec.cri.container_manager`).
    let kubekey = match kind {
        "Cluster" => Some(("/spec/kubernetes/containerManager", "containerManager")),
        "Config" => Some(("/spec/cri/container_manager", "container_manager")),
        _ => None,
    };
    if let Some((at, key)) = kubekey.filter(|_| api_version.starts_with("kubekey.kubesphere.io/")) {
        setting_at(&src.embedded_kind(FileKind::InstallerKubekey), doc, value, &format!("{ptr}{at}"), key, out);
        return;
    }
    if kind == "PrometheusRule" {
        super::metrics::rule_groups(
            &src.embedded_kind(FileKind::PrometheusRule),
            doc,
            value.get("spec").unwrap_or(&Json::Null),
            &format!("{ptr}/spec"),
            out,
        );
        return;
    }
    if kind == "ConfigMap" {
        config_map(src, doc, value, ptr, out);
        return;
    }
    if !kind.is_empty() {
        // Core pod specs, and containers outside the core kinds (Tekton, Argo, runner sets, any
        // object with container- or pod-shaped mappings).
        let mut object = object_ref(value);
        if object.name.is_empty() {
            // Pod templates embedded in pipelines rarely have a name: name them by their file.
            object.name = format!("(unnamed, in {})", src.path);
        }
        pods(src, doc, value, ptr, object, out);
        return;
    }
    // Values for a chart kept without the chart (`template.spec` of a runner scale set,
    // `sidecars:`, `dind:`): the same workload rules, the file standing for the workload.
    let object = ObjectRef { kind: "Values".into(), namespace: String::new(), name: src.path.to_string() };
    pods(src, doc, value, ptr, object, out);
    // A GitLab Runner `config.toml` held in such values (`runners.config: |`).
    let runner_ptr = format!("{ptr}/runners/config");
    if let Some(text) = value.pointer("/runners/config").and_then(Json::as_str).filter(|t| t.contains("[[runners]]"))
        && let Some(span) = doc.span(&runner_ptr)
    {
        let offset = if text.contains('\n') { span.value.line } else { span.value.line.saturating_sub(1) };
        src.embedded(FileKind::GitlabRunnerConfig, text, offset).analyze(out);
    }
    // Plain YAML without apiVersion/kind: recognise configuration by its keys.
    if super::salt::is_salt_state(value) {
        super::salt::analyze_states(src, doc, value, ptr, out);
    }
    super::salt::kubelet_flag_values(src, doc, value, ptr, out);
    if map.contains_key("groups") && value.pointer("/groups/0/rules").is_some() {
        super::metrics::rule_groups(&src.embedded_kind(FileKind::PrometheusRule), doc, value, ptr, out);
    }
    for key in ["container_manager", "containerManager", "etcd_deployment_type"] {
        if map.contains_key(key) {
            setting_at(&src.embedded_kind(FileKind::InstallerKubespray), doc, value, &format!("{ptr}/{key}"), key, out);
        }
    }
    if map.keys().any(|k| k.starts_with("docker_")) {
        super::dockerd::kubespray_vars(src, doc, map, ptr, out);
    }
    if map.contains_key("cri_socket") {
        kubespray_cri_socket(&src.embedded_kind(FileKind::InstallerKubespray), doc, value, ptr, out);
    }
    for (key, component) in [("kube_feature_gates", "kubespray"), ("kubeadm_feature_gates", "kubeadm")] {
        if let Some(gates) = map.get(key).and_then(Json::as_array) {
            let s = src.embedded_kind(FileKind::InstallerKubespray);
            for (i, item) in gates.iter().enumerate() {
                let Some(text) = item.as_str() else { continue };
                let p = doc.pos(&format!("{ptr}/{key}/{i}"));
                for (gate, v) in super::text::parse_gate_list(text) {
                    out.records.push(
                        s.record(Subject::FeatureGate, p.line, p.column)
                            .with("name", gate)
                            .with("value", v)
                            .with("component", component),
                    );
                }
            }
        }
    }
    if is_rke1_cluster(value) {
        let s = src.embedded_kind(FileKind::InstallerRke);
        let p = doc.pos(&format!("{ptr}/nodes"));
        let mut r = s.record(Subject::File, p.line, p.column).with("shape", "rke1-cluster");
        if let Some(v) = map.get("kubernetes_version").and_then(Json::as_str) {
            r.set("kubernetes_version", v.to_string());
        }
        out.records.push(r);
    }
    if map.contains_key("scrape_configs")
        || map.contains_key("filebeat.inputs")
        || map.contains_key("filebeat")
        || map.get("pipeline").is_some_and(|p| p.get("inputs").is_some())
    {
        super::fluent::log_shipper_yaml(src, doc, value, ptr, out);
    }
}

/// Workload records for every pod shape of the object at `ptr` (see [`workload::pod_shapes`]).
fn pods(src: &Source<'_>, doc: &YamlDoc, value: &Json, ptr: &str, object: ObjectRef, out: &mut Evidence) {
    let locate = |p: &str| {
        let mut l = loc_of(src, doc, &format!("{ptr}{p}"));
        l.object = Some(object.clone());
        l
    };
    let snippet = |p: &str, fallback: &str| {
        let line = doc.pos(&format!("{ptr}{p}")).line;
        let text = src.line(line).trim();
        if text.is_empty() { fallback.to_string() } else { text.to_string() }
    };
    let origin =
        PodOrigin { file_kind: src.kind_for_records(), workload: object.clone(), locate: &locate, snippet: &snippet };
    workload::extract_all(value, &origin, &mut out.records);
}

/// The object's kind, namespace and name.
pub fn object_ref(value: &Json) -> ObjectRef {
    let s = |p: &str| crate::parse::json_pointer::at(value, p).and_then(Json::as_str).unwrap_or("").to_string();
    let name = s("/metadata/name");
    ObjectRef {
        kind: s("/kind"),
        namespace: s("/metadata/namespace"),
        name: if name.is_empty() { s("/metadata/generateName") } else { name },
    }
}

fn is_rke1_cluster(value: &Json) -> bool {
    let Some(nodes) = value.get("nodes").and_then(Json::as_array) else { return false };
    let node_like = nodes.iter().any(|n| n.get("address").is_some() && n.get("role").is_some());
    node_like
        && (value.get("services").is_some()
            || value.get("network").is_some()
            || value.get("kubernetes_version").is_some()
            || value.get("system_images").is_some())
}

/// The text of a string, number or boolean (`None` for null, arrays and objects).
pub(super) fn scalar_text(v: &Json) -> Option<String> {
    match v {
        Json::String(s) => Some(s.clone()),
        Json::Number(n) => Some(n.to_string()),
        Json::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

/// A `setting` record for the scalar at `ptr`, if present.
fn setting_at(src: &Source<'_>, doc: &YamlDoc, root: &Json, ptr: &str, key: &str, out: &mut Evidence) {
    let Some(v) = doc.value.pointer(ptr).or_else(|| root.pointer(ptr)).and_then(scalar_text) else { return };
    let p = doc.pos(ptr);
    out.records.push(src.record(Subject::Setting, p.line, p.column).with("key", key.to_string()).with("value", v));
}

fn kubeadm(src: &Source<'_>, doc: &YamlDoc, value: &Json, ptr: &str, kind: &str, out: &mut Evidence) {
    let s = src.embedded_kind(FileKind::KubeadmConfig);
    match kind {
        "InitConfiguration" | "JoinConfiguration" => {
            setting_at(&s, doc, value, &format!("{ptr}/nodeRegistration/criSocket"), "nodeRegistration.criSocket", out);
            extra_args(&s, doc, value, &format!("{ptr}/nodeRegistration/kubeletExtraArgs"), "kubelet", out);
        }
        "ClusterConfiguration" => {
            for component in ["apiServer", "controllerManager", "scheduler"] {
                extra_args(&s, doc, value, &format!("{ptr}/{component}/extraArgs"), component, out);
            }
            feature_gate_map(&s, doc, value, ptr, "kubeadm", out);
        }
        _ => {}
    }
}

/// `featureGates: {Name: bool}` of the object at `ptr`: one `feature-gate` record per gate, for
/// `component` (kubeadm's own gates are `kubeadm`; the rule reads them from their own list).
fn feature_gate_map(src: &Source<'_>, doc: &YamlDoc, value: &Json, ptr: &str, component: &str, out: &mut Evidence) {
    let Some(gates) = value.get("featureGates").and_then(Json::as_object) else { return };
    for (gate, v) in gates {
        let p = doc.pos(&format!("{ptr}/featureGates/{}", yaml::pointer_token(gate)));
        out.records.push(
            src.record(Subject::FeatureGate, p.line, p.column)
                .with("name", gate.clone())
                .with("value", scalar_text(v).unwrap_or_default())
                .with("component", component.to_string()),
        );
    }
}

/// A kOps `Cluster` (`kops.k8s.io/v1alpha2`): `spec.containerRuntime` and each component's
/// `featureGates` (kOps writes them into the component's flags).
fn kops_cluster(src: &Source<'_>, doc: &YamlDoc, value: &Json, ptr: &str, out: &mut Evidence) {
    setting_at(src, doc, value, &format!("{ptr}/spec/containerRuntime"), "spec.containerRuntime", out);
    for component in
        ["kubelet", "masterKubelet", "kubeAPIServer", "kubeControllerManager", "kubeScheduler", "kubeProxy"]
    {
        let cptr = format!("{ptr}/spec/{component}");
        if let Some(c) = value.pointer(&format!("/spec/{component}")) {
            feature_gate_map(src, doc, c, &cptr, component, out);
        }
    }
}

/// kubespray's `cri_socket`: a plain path, or the Jinja expression of the role defaults that picks
/// a socket per `container_manager`. In the expression, a docker branch counts only when the same
/// file sets `container_manager: docker` (a containerd inventory never takes that branch); each
/// socket path is reported at its own line.
fn kubespray_cri_socket(src: &Source<'_>, doc: &YamlDoc, value: &Json, ptr: &str, out: &mut Evidence) {
    let kptr = format!("{ptr}/cri_socket");
    let Some(text) = value.get("cri_socket").and_then(Json::as_str) else { return };
    if !text.contains("{%") && !text.contains("{{") {
        setting_at(src, doc, value, &kptr, "cri_socket", out);
        return;
    }
    let docker_manager = value.get("container_manager").and_then(Json::as_str) == Some("docker");
    if !docker_manager {
        return;
    }
    // The folded scalar lost its line breaks: read the lines of the file under the key.
    let start = doc.pos(&kptr);
    let key_indent = src.line(start.line).len() - src.line(start.line).trim_start().len();
    let mut line = start.line + 1;
    loop {
        let t = src.line(line);
        if line > start.line + 200 || (!t.trim().is_empty() && t.len() - t.trim_start().len() <= key_indent) {
            break;
        }
        if t.is_empty() && line as usize > src.text.lines().count() {
            break;
        }
        for word in t.split_whitespace() {
            if word.ends_with("dockershim.sock") || word.ends_with("docker.sock") || word.ends_with("cri-dockerd.sock")
            {
                let column = t.find(word).unwrap_or(0) as u32 + 1;
                out.records.push(
                    src.record(Subject::Setting, line, column)
                        .with("key", "cri_socket")
                        .with("value", word.to_string()),
                );
            }
        }
        line += 1;
    }
}

/// `extraArgs`/`kubeletExtraArgs`: a map (v1beta2/3) or a list of `{name, value}` (v1beta4).
fn extra_args(src: &Source<'_>, doc: &YamlDoc, value: &Json, ptr: &str, component: &str, out: &mut Evidence) {
    let _ = value;
    let Some(args) = doc.value.pointer(ptr) else { return };
    let mut pairs: Vec<(String, String, String)> = Vec::new();
    match args {
        Json::Object(map) => {
            for (k, v) in map {
                pairs.push((
                    k.clone(),
                    scalar_text(v).unwrap_or_default(),
                    format!("{ptr}/{}", yaml::pointer_token(k)),
                ));
            }
        }
        Json::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                if let (Some(n), Some(v)) =
                    (item.get("name").and_then(Json::as_str), item.get("value").and_then(scalar_text))
                {
                    pairs.push((n.to_string(), v, format!("{ptr}/{i}")));
                }
            }
        }
        _ => {}
    }
    for (name, v, p) in pairs {
        let pos = doc.pos(&p);
        let flag = format!("--{}", name.trim_start_matches('-'));
        if flag == "--feature-gates" {
            for (gate, gv) in super::text::parse_gate_list(&v) {
                out.records.push(
                    src.record(Subject::FeatureGate, pos.line, pos.column)
                        .with("name", gate)
                        .with("value", gv)
                        .with("component", component.to_string()),
                );
            }
        }
        if component == "kubelet" {
            out.records.push(
                src.record(Subject::KubeletFlag, pos.line, pos.column)
                    .with("name", flag)
                    .with("value", v)
                    .with("from", "kubeletExtraArgs"),
            );
        }
    }
}

/// A KubeletConfiguration (a file, a `kubelet-config` ConfigMap, or live configz).
pub fn kubelet_config(src: &Source<'_>, doc: &YamlDoc, value: &Json, ptr: &str, component: &str, out: &mut Evidence) {
    if let Some(gates) = value.get("featureGates").and_then(Json::as_object) {
        for (gate, v) in gates {
            let p = doc.pos(&format!("{ptr}/featureGates/{}", yaml::pointer_token(gate)));
            out.records.push(
                src.record(Subject::FeatureGate, p.line, p.column)
                    .with("name", gate.clone())
                    .with("value", scalar_text(v).unwrap_or_default())
                    .with("component", component.to_string()),
            );
        }
    }
    for (field, flag) in [
        ("containerRuntimeEndpoint", "--container-runtime-endpoint"),
        ("imageServiceEndpoint", "--image-service-endpoint"),
    ] {
        if let Some(v) = value.get(field).and_then(scalar_text) {
            let p = doc.pos(&format!("{ptr}/{field}"));
            out.records.push(
                src.record(Subject::KubeletFlag, p.line, p.column)
                    .with("name", flag)
                    .with("value", v)
                    .with("from", "config"),
            );
        }
    }
    for field in ["cgroupDriver", "containerLogMaxSize", "containerLogMaxFiles"] {
        if let Some(v) = value.get(field).and_then(scalar_text) {
            let p = doc.pos(&format!("{ptr}/{field}"));
            out.records.push(
                src.record(Subject::Setting, p.line, p.column).with("key", format!("kubelet.{field}")).with("value", v),
            );
        }
    }
}

/// A ConfigMap: each data value that looks like configuration some rule reads is analysed as that
/// kind, with lines relative to the manifest.
fn config_map(src: &Source<'_>, doc: &YamlDoc, value: &Json, ptr: &str, out: &mut Evidence) {
    let object = object_ref(value);
    let Some(data) = value.get("data").and_then(Json::as_object) else { return };
    for (key, v) in data {
        let Some(text) = v.as_str() else { continue };
        let vptr = format!("{ptr}/data/{}", yaml::pointer_token(key));
        let span = doc.span(&vptr);
        // Block scalars start on the line after the indicator; plain or quoted values on the key's line.
        let offset = match span {
            Some(s) if text.contains('\n') => s.value.line,
            Some(s) => s.value.line.saturating_sub(1),
            None => 0,
        };
        let kind = data_kind(&object.name, key, text);
        let Some(kind) = kind else {
            docker_lines(src, text, offset, &object, out);
            continue;
        };
        let mut inner = src.embedded(kind, text, offset);
        inner.object = Some(object.clone());
        // The key names the file (`kubelet.service` names the unit).
        inner.written_to = Some(key.as_str());
        if src.kind == FileKind::HelmTemplate {
            inner.kind = FileKind::HelmTemplate;
        }
        match kind {
            FileKind::KubeadmConfig | FileKind::KubeletConfig | FileKind::PrometheusRule | FileKind::K8sManifest => {
                let mut sub = Evidence::default();
                analyze(&Source { kind, ..inner.clone() }, &mut sub);
                if kind == FileKind::KubeletConfig {
                    // data.kubelet holds a KubeletConfiguration, possibly without apiVersion/kind.
                    if let Ok(docs) = yaml::parse_documents(text)
                        && docs.iter().all(|d| d.value.get("kind").is_none())
                    {
                        for d in &docs {
                            kubelet_config(&inner, d, &d.value, "", "kubelet", &mut sub);
                        }
                    }
                }
                out.merge(sub);
            }
            other => Source { kind: other, ..inner }.analyze(out),
        }
    }
}

/// The kind a ConfigMap's data value is analysed as (its key and text decide), or `None` for a
/// value of which only the lines mentioning docker are read ([`docker_lines`]). The snapshot
/// pruner keeps exactly what this reads.
pub fn data_kind(config_map: &str, key: &str, text: &str) -> Option<FileKind> {
    match (config_map, key) {
        ("kubeadm-config", "ClusterConfiguration" | "InitConfiguration" | "JoinConfiguration") => {
            Some(FileKind::KubeadmConfig)
        }
        (n, "kubelet") if n == "kubelet-config" || n.starts_with("kubelet-config-") => Some(FileKind::KubeletConfig),
        // kubeadm's kube-proxy ConfigMap (`config.conf`), or any KubeProxyConfiguration.
        _ if text.contains("kind: KubeProxyConfiguration") => Some(FileKind::K8sManifest),
        // A key named like a node file (`kubelet.service`, `10-kubeadm.conf`, `daemon.json`,
        // `kubeadm-flags.env`): the file a bootstrap job or DaemonSet writes to the node.
        _ => crate::evidence::file_kind::classify_body(Some(key), text)
            .filter(|k| {
                matches!(*k, FileKind::SystemdUnit | FileKind::KubeletEnv | FileKind::DockerDaemonJson | FileKind::Cron)
            })
            .or_else(|| sniff(key, text)),
    }
}

/// Whether [`docker_lines`] reads this line of a value no analyser reads.
pub fn mentions_docker(line: &str) -> bool {
    line.to_ascii_lowercase().contains("docker")
}

/// Guesses the kind of a ConfigMap data value from its key and text.
pub fn sniff(key: &str, text: &str) -> Option<FileKind> {
    let lower = key.to_ascii_lowercase();
    let ext = lower.rsplit_once('.').map(|(_, e)| e).unwrap_or("");
    let class = match ext {
        "json" => PathClass::Json,
        "yaml" | "yml" => {
            if text.contains("groups:") && text.contains("expr:") {
                return Some(FileKind::PrometheusRule);
            }
            if text.contains("pipeline:") && text.contains("inputs:") {
                return Some(FileKind::FluentBit);
            }
            if text.contains("scrape_configs") || text.contains("filebeat.inputs") || text.contains("kubeadm.k8s.io/") {
                return Some(FileKind::K8sManifest);
            }
            return None;
        }
        "sh" => return Some(FileKind::Shell),
        "toml" => PathClass::Toml,
        // A GitLab Runner or containerd config under a key without an extension (the
        // gitlab-runner chart's `runners.config: |`).
        _ if text.contains("[[runners]]") || text.contains("[plugins.") => PathClass::Toml,
        _ => PathClass::Conf,
    };
    if lower == "daemon.json" {
        return Some(FileKind::DockerDaemonJson);
    }
    classify_content(class, &lower, text).filter(|k| *k != FileKind::Shell || ext == "sh")
}

/// A ConfigMap data value no analyser reads (an agent's own JSON or YAML configuration): each line
/// that mentions docker is a `config.line` setting, which rules compare with the switches of
/// `agent-docker-switches` (node-problem-detector's `--component=docker`, a SignalFx
/// `docker-container-stats` monitor).
fn docker_lines(src: &Source<'_>, text: &str, offset: u32, object: &ObjectRef, out: &mut Evidence) {
    let inner = src.embedded(src.kind, text, offset);
    for (i, line) in text.lines().enumerate() {
        if !mentions_docker(line) {
            continue;
        }
        let column = (line.len() - line.trim_start().len()) as u32 + 1;
        out.records.push(
            inner
                .record(Subject::Setting, i as u32 + 1, column)
                .with("key", "config.line")
                .with("value", line.trim().to_string())
                .with("container", object.to_string()),
        );
    }
}
