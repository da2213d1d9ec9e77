//! Workload evidence: turns any pod spec — a Pod or controller from the cluster, a manifest, a Helm
//! template, a pod template embedded in a Jenkinsfile, a static pod on a node — into the same
//! records, so each workload rule is written once.
//!
//! Only the values rules need are kept; env values other than `DOCKER_HOST` are never copied.

use serde_json::Value as Json;

use super::context;
use super::tekton_params;
use super::{Location, ObjectRef, Record, Subject};
use crate::parse::json_pointer::at;
use crate::parse::shell;

/// How to place a record: the origin of the object the pod spec belongs to.
pub struct PodOrigin<'a> {
    /// File kind (`k8s-manifest`, `helm-template`, `jenkinsfile`, `cluster`, ...).
    pub file_kind: super::file_kind::FileKind,
    /// The object that owns the pod spec (after owner-chain resolution in the cluster).
    pub workload: ObjectRef,
    /// Location of a JSON pointer inside the object (a file line, or the object itself).
    pub locate: &'a dyn Fn(&str) -> Location,
    /// Source text at a pointer, for evidence snippets.
    pub snippet: &'a dyn Fn(&str, &str) -> String,
}

/// The JSON pointer of the pod spec inside an object of this kind, if it has one.
pub fn pod_spec_pointer(object: &Json) -> Option<&'static str> {
    let kind = object.get("kind").and_then(Json::as_str).unwrap_or("");
    let candidates: &[&'static str] = match kind {
        "Pod" => &["/spec"],
        "CronJob" => &["/spec/jobTemplate/spec/template/spec"],
        "PodTemplate" => &["/template/spec"],
        _ => &["/spec/template/spec", "/spec/jobTemplate/spec/template/spec", "/template/spec"],
    };
    candidates.iter().copied().find(|p| at(object, p).and_then(|s| s.get("containers")).is_some_and(Json::is_array))
}

/// Normalises a host path the way the kernel would see it: `//` collapsed, trailing `/` dropped,
/// and `/var/run` (a symlink to `/run` on every current distribution) spelled `/run`.
pub fn normalize_host_path(raw: &str) -> String {
    // A Windows named pipe (`\\.\pipe\docker_engine`, or with forward slashes) keeps its
    // prefix, spelled `//./pipe/NAME` in lower case (pipe names ignore case).
    let slashed = raw.trim().replace('\\', "/");
    if let Some(name) = slashed.strip_prefix("//./pipe/") {
        return format!("//./pipe/{}", name.trim_matches('/').to_ascii_lowercase());
    }
    let mut out = String::with_capacity(raw.len());
    for part in raw.trim().split('/').filter(|p| !p.is_empty() && *p != ".") {
        out.push('/');
        out.push_str(part);
    }
    if out.is_empty() {
        return if raw.trim().starts_with('/') { "/".into() } else { raw.trim().to_string() };
    }
    if out == "/var/run" {
        return "/run".into();
    }
    if let Some(rest) = out.strip_prefix("/var/run/") {
        return format!("/run/{rest}");
    }
    out
}

/// True for a normalised path naming a Docker Engine socket (not dockershim's or cri-dockerd's),
/// or the Docker Engine named pipe of Windows nodes (`//./pipe/docker_engine`).
pub fn is_docker_socket(path: &str) -> bool {
    path.ends_with("docker.sock") && !path.ends_with("dockershim.sock") && !path.ends_with("cri-dockerd.sock")
        || path == "//./pipe/docker_engine"
}

struct Container<'a> {
    ptr: String,
    spec: &'a Json,
    name: String,
    image: String,
    privileged: bool,
    docker_host: Option<(String, String)>, // value, pointer
    mounts: Vec<(String, String)>,         // volume name, mountPath
    argvs: Vec<(String, Vec<String>)>,     // pointer, argv
}

/// Extracts records from the pod spec at `spec_ptr` inside `object`.
pub fn extract(object: &Json, spec_ptr: &str, origin: &PodOrigin<'_>, out: &mut Vec<Record>) {
    if at(object, spec_ptr).is_none() {
        return;
    }
    extract_shape(object, &PodShape::core(object, spec_ptr), origin, out);
}

/// Extracts records from every pod spec of an object: its core pod spec when it has one, else
/// each mapping shaped like a pod or a container (see [`pod_shapes`]).
pub fn extract_all(object: &Json, origin: &PodOrigin<'_>, out: &mut Vec<Record>) {
    let (object, shapes) = pod_shapes(object);
    for shape in &shapes {
        extract_shape(&object, shape, origin, out);
    }
}

/// Extracts records from one pod shape of `object`.
fn extract_shape(object: &Json, shape: &PodShape, origin: &PodOrigin<'_>, out: &mut Vec<Record>) {
    let spec_ptr = shape.spec_ptr.as_str();
    let Some(spec) = at(object, spec_ptr) else { return };
    let mut host_paths = Vec::new();
    let mut volume_kinds: Vec<(String, String)> = Vec::new();
    for vp in &shape.volumes {
        host_paths.extend(host_path_volumes(object, vp));
        volume_kinds.extend(volume_kinds_at(object, vp));
    }
    let containers = containers_at(object, &shape.containers, shape.template.as_deref());
    let _ = spec;
    let docker_socket_volumes: Vec<&str> =
        host_paths.iter().filter(|v| is_docker_socket(&v.path)).map(|v| v.name.as_str()).collect();
    let pod_privileged = containers.iter().any(|c| c.privileged);
    let pod_docker_host = containers.iter().find_map(|c| c.docker_host.as_ref().map(|d| d.0.clone()));
    let pod_dind = containers.iter().any(is_dind);
    let mut docker_commands: Vec<(usize, String, shell::Command)> = Vec::new();
    for (i, c) in containers.iter().enumerate() {
        for (ptr, argv) in &c.argvs {
            for cmd in argv_commands(argv) {
                if cmd.program == "docker" || cmd.program == "docker-compose" {
                    docker_commands.push((i, ptr.clone(), cmd));
                }
            }
        }
    }
    let images: Vec<String> = containers.iter().map(|c| c.image.clone()).collect();
    let context = context::of_workload(&origin.workload.kind, origin.file_kind.name());
    let pod_docker_cli = !docker_commands.is_empty();

    let base = |subject: Subject, ptr: &str, snippet: String| -> Record {
        let mut r = Record::new(subject, (origin.locate)(ptr), snippet)
            .with("file_kind", origin.file_kind)
            .with("workload", origin.workload.to_string())
            .with("workload_kind", origin.workload.kind.clone())
            .with("name", origin.workload.name.clone())
            .with("images", images.clone())
            .with("pod_privileged", pod_privileged)
            .with("pod_dind", pod_dind)
            .with("pod_docker_cli", pod_docker_cli)
            .with("pod_mounts_docker_socket", !docker_socket_volumes.is_empty())
            .with("pod_host_paths", host_paths.iter().map(|v| v.path.clone()).collect::<Vec<_>>());
        if !origin.workload.namespace.is_empty() {
            r.set("namespace", origin.workload.namespace.clone());
        }
        if let Some(h) = &pod_docker_host {
            r.set("pod_docker_host", h.clone());
        }
        r
    };

    for v in &host_paths {
        let mounted_by: Vec<String> =
            containers.iter().filter(|c| c.mounts.iter().any(|(n, _)| n == &v.name)).map(|c| c.name.clone()).collect();
        let mount_paths: Vec<String> = containers
            .iter()
            .flat_map(|c| c.mounts.iter().filter(|(n, _)| n == &v.name).map(|(_, p)| p.clone()))
            .collect();
        let mut r = base(Subject::Volume, &v.ptr, (origin.snippet)(&v.ptr, &format!("path: {}", v.raw)))
            .with("host_path", v.path.clone())
            .with("raw_path", v.raw.clone())
            .with("volume", v.name.clone())
            .with("mounted_by", mounted_by)
            .with("mount_paths", mount_paths);
        if let Some(t) = &v.kind {
            r.set("type", t.clone());
        }
        out.push(r);
    }

    for c in &containers {
        let image_ptr = format!("{}/image", c.ptr);
        let mut r = base(Subject::Container, &image_ptr, (origin.snippet)(&image_ptr, &format!("image: {}", c.image)))
            .with("container", c.name.clone())
            .with("image", c.image.clone())
            .with("privileged", c.privileged)
            .with("dind", is_dind(c))
            .with("mounts_docker_socket", c.mounts.iter().any(|(n, _)| docker_socket_volumes.contains(&n.as_str())))
            .with("context", context.name());
        let scripts: Vec<String> = c
            .argvs
            .iter()
            .flat_map(|(_, argv)| argv_commands(argv))
            .filter_map(|cmd| context::called_script(&cmd.program, &cmd.args, &cmd.text))
            .collect();
        if !scripts.is_empty() {
            r.set("scripts", scripts);
        }
        if let Some((name, tag)) = split_image(&c.image) {
            r.set("image_name", name);
            if let Some(tag) = tag {
                r.set("image_tag", tag);
            }
        }
        if let Some((v, _)) = &c.docker_host {
            r.set("docker_host", v.clone());
        }
        out.push(r);

        if let Some((value, ptr)) = &c.docker_host {
            let r = base(Subject::Setting, ptr, (origin.snippet)(ptr, &format!("DOCKER_HOST={value}")))
                .with("key", "env.DOCKER_HOST")
                .with("value", value.clone())
                .with("container", c.name.clone())
                .with("image", c.image.clone())
                .with("mount_paths", c.mounts.iter().map(|(_, p)| p.clone()).collect::<Vec<_>>())
                .with("socket_source", socket_source(value, c, &volume_kinds));
            out.push(r);
        }
    }

    // Arguments and environment that mention Docker: agents switched to Docker Engine by a flag
    // (`--docker_only`, `--probe.docker=true`, `--component=docker`) or by an env variable
    // (`CONTAINER_RUNTIME=docker`). Rules compare them with the `agent-docker-switches` list.
    for c in &containers {
        for list in ["command", "args"] {
            for (k, arg) in c.spec.get(list).and_then(Json::as_array).into_iter().flatten().enumerate() {
                let Some(arg) = arg.as_str().filter(|a| a.to_ascii_lowercase().contains("docker")) else { continue };
                let ptr = format!("{}/{list}/{k}", c.ptr);
                out.push(
                    base(Subject::Setting, &ptr, (origin.snippet)(&ptr, arg))
                        .with("key", "container.arg")
                        .with("value", arg.to_string())
                        .with("container", c.name.clone())
                        .with("image", c.image.clone()),
                );
            }
        }
        for (j, e) in c.spec.get("env").and_then(Json::as_array).into_iter().flatten().enumerate() {
            let (Some(name), Some(value)) = (scalar(e.get("name")), scalar(e.get("value"))) else { continue };
            if name == "DOCKER_HOST" || !value.to_ascii_lowercase().contains("docker") {
                continue;
            }
            let ptr = format!("{}/env/{j}", c.ptr);
            out.push(
                base(Subject::Setting, &ptr, (origin.snippet)(&ptr, &format!("{name}={value}")))
                    .with("key", "container.env")
                    .with("value", format!("{name}={value}"))
                    .with("container", c.name.clone())
                    .with("image", c.image.clone()),
            );
        }
    }

    for (i, ptr, cmd) in docker_commands {
        let c = &containers[i];
        let mut r = base(Subject::Command, &ptr, (origin.snippet)(&ptr, &cmd.text));
        // A Tekton `script` or Argo `source` block scalar: the command sits on its own line below
        // the key (`script: |` is line 0 of the text).
        if (ptr.ends_with("/script") || ptr.ends_with("/source"))
            && let Some(line) = r.location.line
            && r.snippet.trim_end().ends_with(['|', '>', '-', '+'])
        {
            r.location.line = Some(line + cmd.line);
            r.location.column = Some(cmd.column.max(1));
            r.snippet = cmd.text.clone();
        }
        let mut r = r
            .with("source", "container")
            .with("program", cmd.program.clone())
            .with("subcommand", docker_subcommand(&cmd.args))
            .with("args", cmd.args.join(" "))
            .with("text", cmd.text.clone())
            .with("context", context.name())
            .with("container", c.name.clone())
            .with("image", c.image.clone())
            .with("privileged", c.privileged)
            .with("mounts_docker_socket", c.mounts.iter().any(|(n, _)| docker_socket_volumes.contains(&n.as_str())));
        if let Some((v, _)) = &c.docker_host {
            r.set("docker_host", v.clone());
        }
        let mounts_socket = c.mounts.iter().any(|(n, _)| docker_socket_volumes.contains(&n.as_str()));
        r.set("docker_daemon", docker_daemon(&cmd.args, c, &volume_kinds, mounts_socket));
        out.push(r);
    }
}

/// Which Docker daemon a docker command in a container talks to (issue 12, miss 5): `dind` (a
/// Docker-in-Docker sidecar: `-H`/`DOCKER_HOST` at `tcp://localhost|127.0.0.1|docker|dind`, or a
/// unix socket on an emptyDir shared with it), `own` (the container is the dind daemon itself:
/// its probes and hooks), `node` (a mounted host socket or a host socket path), or `unknown`.
fn docker_daemon(args: &[String], c: &Container<'_>, volume_kinds: &[(String, String)], mounts_socket: bool) -> String {
    let mut host: Option<String> = None;
    let mut it = args.iter();
    while let Some(a) = it.next() {
        if !a.starts_with('-') {
            break;
        }
        if a == "-H" || a == "--host" {
            host = it.next().cloned();
        } else if let Some(v) = a.strip_prefix("--host=").or_else(|| a.strip_prefix("-H=")) {
            host = Some(v.to_string());
        }
    }
    let host = host.or_else(|| c.docker_host.as_ref().map(|(v, _)| v.clone()));
    if let Some(h) = &host {
        let lower = h.to_ascii_lowercase();
        if let Some(rest) = lower.strip_prefix("tcp://") {
            let name = rest.split([':', '/']).next().unwrap_or("");
            if matches!(name, "localhost" | "127.0.0.1" | "docker" | "dind" | "docker-dind" | "[::1]") {
                return if is_dind(c) { "own".into() } else { "dind".into() };
            }
            return "unknown".into();
        }
        if lower.starts_with("unix://") {
            return match socket_source(h, c, volume_kinds).as_str() {
                "emptyDir" | "ephemeral" => "dind".into(),
                "hostPath" => "node".into(),
                _ if is_dind(c) => "own".into(),
                _ => "unknown".into(),
            };
        }
    }
    if is_dind(c) {
        return "own".into();
    }
    if mounts_socket { "node".into() } else { "unknown".into() }
}

/// Where the unix socket named by a `DOCKER_HOST` value comes from: the volume kind of the
/// container's mount that holds it (`hostPath`, `emptyDir`, ...), or `none` when no mount does.
fn socket_source(docker_host: &str, c: &Container<'_>, volume_kinds: &[(String, String)]) -> String {
    let Some(path) = docker_host.strip_prefix("unix://") else { return "not-unix".into() };
    let holder = c
        .mounts
        .iter()
        .filter(|(_, m)| !m.is_empty() && (path == m || path.starts_with(&format!("{}/", m.trim_end_matches('/')))))
        .max_by_key(|(_, m)| m.len());
    let Some((volume, _)) = holder else { return "none".into() };
    volume_kinds.iter().find(|(n, _)| n == volume).map(|(_, k)| k.clone()).unwrap_or_else(|| "none".into())
}

/// `(name, kind)` of each volume of the list at `ptr` (`kind`: the first key other than `name`).
fn volume_kinds_at(object: &Json, ptr: &str) -> Vec<(String, String)> {
    at(object, ptr)
        .and_then(Json::as_array)
        .into_iter()
        .flatten()
        .filter_map(|v| {
            let o = v.as_object()?;
            let kind = o.keys().find(|k| *k != "name")?.clone();
            Some((scalar(v.get("name")).unwrap_or_default(), kind))
        })
        .collect()
}

struct HostPathVolume {
    ptr: String,
    name: String,
    raw: String,
    path: String,
    kind: Option<String>,
}

fn host_path_volumes(object: &Json, list_ptr: &str) -> Vec<HostPathVolume> {
    let mut out = Vec::new();
    for (i, v) in at(object, list_ptr).and_then(Json::as_array).into_iter().flatten().enumerate() {
        let Some(hp) = v.get("hostPath") else { continue };
        let raw = scalar(hp.get("path")).unwrap_or_default();
        out.push(HostPathVolume {
            ptr: format!("{list_ptr}/{i}/hostPath/path"),
            name: scalar(v.get("name")).unwrap_or_default(),
            path: normalize_host_path(&raw),
            raw,
            kind: scalar(hp.get("type")).filter(|t| !t.is_empty()),
        });
    }
    out
}

fn containers_at<'a>(object: &'a Json, pointers: &[String], template_ptr: Option<&str>) -> Vec<Container<'a>> {
    let template = template_ptr.and_then(|t| at(object, t));
    let template_ptr = template_ptr.unwrap_or("");
    let mut out = Vec::new();
    for ptr in pointers {
        let Some(c) = at(object, ptr) else { continue };
        let mut argvs = Vec::new();
        let mut argv: Vec<String> = strings(c.get("command"));
        argv.extend(strings(c.get("args")));
        if !argv.is_empty() {
            let at = if c.get("command").is_some() { "command" } else { "args" };
            argvs.push((format!("{ptr}/{at}"), argv));
        }
        // Tekton steps and Argo script templates carry their shell in `script`.
        if let Some(script) = c.get("script").and_then(Json::as_str) {
            argvs.push((format!("{ptr}/script"), vec!["sh".into(), "-c".into(), strip_shebang(script)]));
        } else if let Some(source) = c.get("source").and_then(Json::as_str) {
            argvs.push((format!("{ptr}/source"), vec!["sh".into(), "-c".into(), strip_shebang(source)]));
        }
        for probe in ["livenessProbe", "readinessProbe", "startupProbe"] {
            if let Some(cmd) = at(c, &format!("/{probe}/exec/command")) {
                argvs.push((format!("{ptr}/{probe}/exec/command"), strings(Some(cmd))));
            }
        }
        for hook in ["postStart", "preStop"] {
            if let Some(cmd) = at(c, &format!("/lifecycle/{hook}/exec/command")) {
                argvs.push((format!("{ptr}/lifecycle/{hook}/exec/command"), strings(Some(cmd))));
            }
        }
        let env_of = |holder: &Json, holder_ptr: &str| {
            holder.get("env").and_then(Json::as_array).into_iter().flatten().enumerate().find_map(|(j, e)| {
                (e.get("name").and_then(Json::as_str) == Some("DOCKER_HOST")).then(|| {
                    let value = scalar(e.get("value")).unwrap_or_else(|| "(set from another source)".into());
                    (value, format!("{holder_ptr}/env/{j}"))
                })
            })
        };
        let docker_host = env_of(c, ptr).or_else(|| template.and_then(|t| env_of(t, template_ptr)));
        let mut mounts: Vec<(String, String)> = Vec::new();
        for holder in std::iter::once(c).chain(template) {
            mounts.extend(
                holder.get("volumeMounts").and_then(Json::as_array).into_iter().flatten().map(|m| {
                    (scalar(m.get("name")).unwrap_or_default(), scalar(m.get("mountPath")).unwrap_or_default())
                }),
            );
        }
        let privileged_in = |holder: &Json| {
            let privileged = at(holder, "/securityContext/privileged");
            privileged.and_then(Json::as_bool).unwrap_or(false) || privileged.and_then(Json::as_str) == Some("true")
        };
        out.push(Container {
            name: scalar(c.get("name")).unwrap_or_else(|| ptr.rsplit('/').next().unwrap_or("").to_string()),
            image: image_of(c),
            privileged: privileged_in(c) || template.is_some_and(privileged_in),
            ptr: ptr.clone(),
            spec: c,
            docker_host,
            mounts,
            argvs,
        });
    }
    out
}

/// A script's text without its `#!` line (the shell parser would read it as a comment anyway).
fn strip_shebang(script: &str) -> String {
    if script.starts_with("#!") {
        // Keep the line so commands keep their line numbers.
        script.split_once('\n').map_or(String::new(), |(_, rest)| format!("\n{rest}"))
    } else {
        script.to_string()
    }
}

/// The image of a container: a string, or the `{registry, repository, tag}` map Helm values use.
fn image_of(c: &Json) -> String {
    match c.get("image") {
        Some(Json::Object(m)) => {
            let part = |k: &str| m.get(k).and_then(|v| scalar(Some(v))).unwrap_or_default();
            let mut name = part("repository");
            if name.is_empty() {
                name = part("name");
            }
            let registry = part("registry");
            if !registry.is_empty() && !name.is_empty() {
                name = format!("{}/{name}", registry.trim_end_matches('/'));
            }
            let tag = part("tag");
            if tag.is_empty() || name.is_empty() { name } else { format!("{name}:{tag}") }
        }
        other => scalar(other).unwrap_or_default(),
    }
}

/// Where the containers and volumes of one pod sit inside an object.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PodShape {
    /// The mapping holding the pod (a pod spec, a Tekton task spec, an Argo template...).
    pub spec_ptr: String,
    /// Pointers to each container-shaped mapping (containers, steps, sidecars...).
    pub containers: Vec<String>,
    /// Pointers to the volume lists that apply (the pod's own, and its enclosing object's).
    pub volumes: Vec<String>,
    /// A Tekton `stepTemplate` whose securityContext, env and mounts every step inherits.
    pub template: Option<String>,
}

/// Lists of containers in core pod specs.
const CORE_LISTS: &[&str] = &["initContainers", "containers", "ephemeralContainers"];

/// Keys that hold lists of container-shaped mappings outside core pod specs: Tekton `steps` and
/// `sidecars`, runner and chart `sidecarContainers`/`extraContainers`.
const CONTAINER_LISTS: &[&str] = &[
    "initContainers",
    "containers",
    "ephemeralContainers",
    "steps",
    "sidecars",
    "sidecarContainers",
    "extraContainers",
    "extraInitContainers",
];

/// Keys that hold one container-shaped mapping: Argo `container`/`script`, chart `dind`.
const SINGLE_CONTAINERS: &[&str] = &["container", "script", "dind", "dindContainer"];

/// Kinds of Actions Runner Controller (legacy) whose pod adds a `docker:dind` sidecar unless
/// `dockerEnabled: false` or `dockerdWithinRunnerContainer: true`.
const ARC_RUNNER_KINDS: &[&str] = &["RunnerDeployment", "RunnerReplicaSet", "RunnerSet", "Runner"];

impl PodShape {
    fn core(object: &Json, spec_ptr: &str) -> PodShape {
        let mut containers = Vec::new();
        if let Some(spec) = at(object, spec_ptr) {
            for list in CORE_LISTS {
                for i in 0..spec.get(*list).and_then(Json::as_array).map_or(0, Vec::len) {
                    containers.push(format!("{spec_ptr}/{list}/{i}"));
                }
            }
        }
        PodShape { spec_ptr: spec_ptr.into(), containers, volumes: vec![format!("{spec_ptr}/volumes")], template: None }
    }
}

/// Whether a mapping looks like a container: an `image` (string or Helm image map) with a
/// `name` or anything a container has (command, args, script, env, mounts, securityContext).
fn is_container_like(v: &Json) -> bool {
    let Some(m) = v.as_object() else { return false };
    let image = match m.get("image") {
        Some(Json::String(s)) => !s.is_empty(),
        Some(Json::Object(i)) => i.contains_key("repository") || i.contains_key("name"),
        _ => false,
    };
    image
        && ["name", "command", "args", "script", "source", "env", "volumeMounts", "securityContext", "ports"]
            .iter()
            .any(|k| m.contains_key(*k))
}

/// The pod shapes of an object (with the object itself, augmented for implicit containers): its
/// core pod spec when it has one; otherwise, up to a depth of 12, every mapping holding
/// container-shaped lists or single containers, with the volume lists of it and its ancestors.
pub fn pod_shapes(object: &Json) -> (Json, Vec<PodShape>) {
    if tekton_params::is_tekton(object) {
        let mut resolved = object.clone();
        tekton_params::resolve(&mut resolved);
        return pod_shapes_of(&resolved);
    }
    pod_shapes_of(object)
}

fn pod_shapes_of(object: &Json) -> (Json, Vec<PodShape>) {
    if let Some(spec_ptr) = pod_spec_pointer(object) {
        let mut object = object.clone();
        let kind = object.get("kind").and_then(Json::as_str).unwrap_or("").to_string();
        if ARC_RUNNER_KINDS.contains(&kind.as_str()) {
            add_arc_docker_sidecar(&mut object, spec_ptr);
        }
        let shape = PodShape::core(&object, spec_ptr);
        return (object, vec![shape]);
    }
    let mut object = object.clone();
    let kind = object.get("kind").and_then(Json::as_str).unwrap_or("").to_string();
    if ARC_RUNNER_KINDS.contains(&kind.as_str()) {
        // A legacy runner's spec is a container itself (`image`, `env`, `dockerEnabled`...).
        let spec_ptr = if kind == "Runner" { "/spec" } else { "/spec/template/spec" };
        if let Some(spec) = object.pointer_mut(spec_ptr).and_then(Json::as_object_mut) {
            let runner = serde_json::json!({
                "name": "runner",
                "image": spec.get("image").cloned().unwrap_or(Json::String("summerwind/actions-runner".into())),
                "env": spec.get("env").cloned().unwrap_or(Json::Array(Vec::new())),
                "volumeMounts": spec.get("volumeMounts").cloned().unwrap_or(Json::Array(Vec::new())),
            });
            let containers = spec.entry("containers").or_insert_with(|| Json::Array(Vec::new()));
            if let Some(list) = containers.as_array_mut()
                && list.is_empty()
            {
                list.push(runner);
            }
        }
        add_arc_docker_sidecar(&mut object, spec_ptr);
        let shape = PodShape::core(&object, spec_ptr);
        return (object, vec![shape]);
    }
    let mut shapes = Vec::new();
    let mut volumes = Vec::new();
    find_shapes(&object, "", 0, &mut volumes, &mut shapes);
    (object, shapes)
}

fn find_shapes(v: &Json, ptr: &str, depth: usize, volumes: &mut Vec<String>, out: &mut Vec<PodShape>) {
    if depth > 12 {
        return;
    }
    match v {
        Json::Object(m) => {
            let pushed = m.get("volumes").is_some_and(Json::is_array);
            if pushed {
                volumes.push(format!("{ptr}/volumes"));
            }
            let mut containers = Vec::new();
            let mut consumed: Vec<&str> = Vec::new();
            for key in CONTAINER_LISTS {
                let Some(items) = m.get(*key).and_then(Json::as_array) else { continue };
                let found: Vec<String> = items
                    .iter()
                    .enumerate()
                    .filter(|(_, c)| is_container_like(c))
                    .map(|(i, _)| format!("{ptr}/{key}/{i}"))
                    .collect();
                if !found.is_empty() {
                    consumed.push(key);
                    containers.extend(found);
                }
            }
            for key in SINGLE_CONTAINERS {
                if m.get(*key).is_some_and(is_container_like) {
                    consumed.push(key);
                    containers.push(format!("{ptr}/{key}"));
                }
            }
            if !containers.is_empty() {
                let template = m.get("stepTemplate").filter(|t| t.is_object()).map(|_| format!("{ptr}/stepTemplate"));
                out.push(PodShape { spec_ptr: ptr.to_string(), containers, volumes: volumes.clone(), template });
            }
            for (k, child) in m {
                if consumed.contains(&k.as_str()) || !(child.is_object() || child.is_array()) {
                    continue;
                }
                find_shapes(child, &format!("{ptr}/{}", crate::parse::yaml::pointer_token(k)), depth + 1, volumes, out);
            }
            if pushed {
                volumes.pop();
            }
        }
        Json::Array(items) => {
            for (i, child) in items.iter().enumerate() {
                if child.is_object() || child.is_array() {
                    find_shapes(child, &format!("{ptr}/{i}"), depth + 1, volumes, out);
                }
            }
        }
        _ => {}
    }
}

/// Adds the `docker` sidecar the legacy Actions Runner Controller puts next to a runner (a
/// privileged `docker:dind` on an emptyDir) unless the spec turns Docker off or runs dockerd in
/// the runner container, in which case the runner container itself is the Docker daemon.
fn add_arc_docker_sidecar(object: &mut Json, spec_ptr: &str) {
    let Some(spec) = object.pointer_mut(spec_ptr).and_then(Json::as_object_mut) else { return };
    let off = |k: &str| spec.get(k).and_then(Json::as_bool);
    if off("dockerEnabled") == Some(false) {
        return;
    }
    if off("dockerdWithinRunnerContainer") == Some(true) {
        if let Some(runner) = spec.get_mut("containers").and_then(Json::as_array_mut).and_then(|l| l.first_mut())
            && let Some(r) = runner.as_object_mut()
        {
            r.insert("securityContext".into(), serde_json::json!({"privileged": true}));
            r.entry("args").or_insert_with(|| serde_json::json!(["dockerd"]));
        }
        return;
    }
    let has_docker = spec
        .get("containers")
        .and_then(Json::as_array)
        .is_some_and(|l| l.iter().any(|c| c.get("name").and_then(Json::as_str) == Some("docker")));
    if has_docker {
        return;
    }
    let image = spec.get("dockerImage").cloned().unwrap_or(Json::String("docker:dind".into()));
    let sidecar = serde_json::json!({"name": "docker", "image": image, "securityContext": {"privileged": true}});
    if let Some(list) = spec.entry("containers").or_insert_with(|| Json::Array(Vec::new())).as_array_mut() {
        list.push(sidecar);
    }
}

fn is_dind(c: &Container<'_>) -> bool {
    let image = c.image.to_ascii_lowercase();
    let (name, tag) = split_image(&image).unwrap_or_default();
    let name_is_docker =
        name == "docker" || name.ends_with("/docker") || name.ends_with("/dind") || name.ends_with("docker-dind");
    (name_is_docker && tag.as_deref().is_some_and(|t| t.contains("dind")))
        || name.ends_with("/dind")
        || c.argvs.iter().any(|(_, argv)| {
            argv.first().is_some_and(|a| a.ends_with("dockerd") || a.ends_with("dockerd-entrypoint.sh"))
        })
        || c.spec.get("args").is_none() && name_is_docker && tag.as_deref().is_some_and(|t| t.contains("dind"))
}

/// Splits `registry/repo:tag@digest` into the name (without the default `docker.io/library/`)
/// and the tag, if any.
pub fn split_image(image: &str) -> Option<(String, Option<String>)> {
    if image.is_empty() {
        return None;
    }
    let without_digest = image.split('@').next().unwrap_or(image);
    let last_slash = without_digest.rfind('/').map_or(0, |i| i + 1);
    let (name, tag) = match without_digest[last_slash..].rfind(':') {
        Some(i) => (&without_digest[..last_slash + i], Some(without_digest[last_slash + i + 1..].to_string())),
        None => (without_digest, None),
    };
    let name = name.strip_prefix("docker.io/").unwrap_or(name);
    let name = name.strip_prefix("library/").unwrap_or(name);
    Some((name.to_string(), tag))
}

/// The commands an argv runs: itself, or the script of `sh -c SCRIPT`.
pub fn argv_commands(argv: &[String]) -> Vec<shell::Command> {
    let Some(first) = argv.first() else { return Vec::new() };
    if first.starts_with('-') {
        // `args` without `command`: flags for the image's entrypoint, not a program.
        return Vec::new();
    }
    let program = first.rsplit('/').next().unwrap_or(first);
    if matches!(program, "sh" | "bash" | "ash" | "dash" | "zsh")
        && let Some(i) =
            argv.iter().position(|a| a == "-c" || (a.starts_with('-') && !a.starts_with("--") && a.ends_with('c')))
    {
        let script: Vec<&str> = argv[i + 1..].iter().map(String::as_str).collect();
        return shell::commands(&script.join("\n"));
    }
    let quoted: Vec<String> = argv.iter().map(|a| shell_quote(a)).collect();
    shell::commands(&quoted.join(" "))
}

fn shell_quote(s: &str) -> String {
    if !s.is_empty() && s.chars().all(|c| c.is_ascii_alphanumeric() || "-_./=:,@%+".contains(c)) {
        s.to_string()
    } else {
        format!("'{}'", s.replace('\'', "'\\''"))
    }
}

/// The docker subcommand of `docker [global flags] SUB ...` (`compose` for `docker-compose`).
pub fn docker_subcommand(args: &[String]) -> String {
    let mut it = args.iter();
    while let Some(a) = it.next() {
        if a.starts_with('-') {
            if matches!(
                a.as_str(),
                "-H" | "--host"
                    | "--config"
                    | "--context"
                    | "-c"
                    | "-l"
                    | "--log-level"
                    | "--tlscacert"
                    | "--tlscert"
                    | "--tlskey"
            ) {
                it.next();
            }
            continue;
        }
        return a.clone();
    }
    String::new()
}

fn scalar(v: Option<&Json>) -> Option<String> {
    match v? {
        Json::String(s) => Some(s.clone()),
        Json::Number(n) => Some(n.to_string()),
        Json::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

fn strings(v: Option<&Json>) -> Vec<String> {
    match v {
        Some(Json::Array(items)) => items.iter().filter_map(|i| scalar(Some(i))).collect(),
        Some(Json::String(s)) => vec![s.clone()],
        _ => Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalises_host_paths() {
        assert_eq!(normalize_host_path("/var/run/docker.sock"), "/run/docker.sock");
        assert_eq!(normalize_host_path("//var//run/docker.sock/"), "/run/docker.sock");
        assert_eq!(normalize_host_path("/var/run/"), "/run");
        assert_eq!(normalize_host_path("/var/lib/docker/containers/"), "/var/lib/docker/containers");
        assert_eq!(normalize_host_path("/"), "/");
        // Windows named pipes (issue 12, miss 9).
        assert_eq!(normalize_host_path(r"\\.\pipe\docker_engine"), "//./pipe/docker_engine");
        assert_eq!(normalize_host_path("//./pipe/Docker_Engine/"), "//./pipe/docker_engine");
        assert!(is_docker_socket(&normalize_host_path(r"\\.\pipe\docker_engine")));
        assert!(!is_docker_socket(&normalize_host_path(r"\\.\pipe\containerd-containerd")));
        assert!(is_docker_socket("/run/docker.sock"));
        assert!(is_docker_socket("/run/user/1000/docker.sock"));
        assert!(!is_docker_socket("/run/dockershim.sock"));
        assert!(!is_docker_socket("/run/cri-dockerd.sock"));
    }

    #[test]
    fn splits_images() {
        assert_eq!(split_image("docker:20.10-dind"), Some(("docker".into(), Some("20.10-dind".into()))));
        assert_eq!(split_image("docker.io/library/nginx:1.25"), Some(("nginx".into(), Some("1.25".into()))));
        assert_eq!(split_image("localhost:5000/team/app"), Some(("localhost:5000/team/app".into(), None)));
        assert_eq!(
            split_image("gcr.io/datadoghq/agent:7.24.0@sha256:abc"),
            Some(("gcr.io/datadoghq/agent".into(), Some("7.24.0".into())))
        );
    }

    #[test]
    fn finds_docker_subcommands() {
        let args: Vec<String> =
            ["-H", "unix:///x.sock", "--debug", "build", "."].iter().map(|s| s.to_string()).collect();
        assert_eq!(docker_subcommand(&args), "build");
    }
}
