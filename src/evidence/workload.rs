//! Workload evidence: turns any pod spec — a Pod or controller from the cluster, a manifest, a Helm
//! template, a pod template embedded in a Jenkinsfile, a static pod on a node — into the same
//! records, so each workload rule is written once.
//!
//! Only the values rules need are kept; env values other than `DOCKER_HOST` are never copied.

use serde_json::Value as Json;

use super::{Location, ObjectRef, Record, Subject, Value};
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
    candidates.iter().copied().find(|p| object.pointer(p).and_then(|s| s.get("containers")).is_some_and(Json::is_array))
}

/// Normalises a host path the way the kernel would see it: `//` collapsed, trailing `/` dropped,
/// and `/var/run` (a symlink to `/run` on every current distribution) spelled `/run`.
pub fn normalize_host_path(raw: &str) -> String {
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

/// True for a normalised path naming a Docker Engine socket (not dockershim's or cri-dockerd's).
pub fn is_docker_socket(path: &str) -> bool {
    path.ends_with("docker.sock") && !path.ends_with("dockershim.sock") && !path.ends_with("cri-dockerd.sock")
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
    let Some(spec) = object.pointer(spec_ptr) else { return };
    let host_paths = host_path_volumes(spec, spec_ptr);
    let containers = containers(spec, spec_ptr);

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
            .with("mounts_docker_socket", c.mounts.iter().any(|(n, _)| docker_socket_volumes.contains(&n.as_str())));
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
                .with("socket_source", socket_source(value, c, spec));
            out.push(r);
        }
    }

    for (i, ptr, cmd) in docker_commands {
        let c = &containers[i];
        let mut r = base(Subject::Command, &ptr, (origin.snippet)(&ptr, &cmd.text))
            .with("source", "container")
            .with("program", cmd.program.clone())
            .with("subcommand", docker_subcommand(&cmd.args))
            .with("args", cmd.args.join(" "))
            .with("text", cmd.text.clone())
            .with("container", c.name.clone())
            .with("image", c.image.clone())
            .with("privileged", c.privileged)
            .with("mounts_docker_socket", c.mounts.iter().any(|(n, _)| docker_socket_volumes.contains(&n.as_str())));
        if let Some((v, _)) = &c.docker_host {
            r.set("docker_host", v.clone());
        }
        out.push(r);
    }
}

/// Where the unix socket named by a `DOCKER_HOST` value comes from: the volume kind of the
/// container's mount that holds it (`hostPath`, `emptyDir`, ...), or `none` when no mount does.
fn socket_source(docker_host: &str, c: &Container<'_>, spec: &Json) -> String {
    let Some(path) = docker_host.strip_prefix("unix://") else { return "not-unix".into() };
    let holder = c
        .mounts
        .iter()
        .filter(|(_, m)| !m.is_empty() && (path == m || path.starts_with(&format!("{}/", m.trim_end_matches('/')))))
        .max_by_key(|(_, m)| m.len());
    let Some((volume, _)) = holder else { return "none".into() };
    let kind = spec
        .get("volumes")
        .and_then(Json::as_array)
        .into_iter()
        .flatten()
        .find(|v| v.get("name").and_then(Json::as_str) == Some(volume.as_str()))
        .and_then(|v| v.as_object())
        .and_then(|o| o.keys().find(|k| *k != "name").cloned());
    kind.unwrap_or_else(|| "none".into())
}

struct HostPathVolume {
    ptr: String,
    name: String,
    raw: String,
    path: String,
    kind: Option<String>,
}

fn host_path_volumes(spec: &Json, spec_ptr: &str) -> Vec<HostPathVolume> {
    let mut out = Vec::new();
    for (i, v) in spec.get("volumes").and_then(Json::as_array).into_iter().flatten().enumerate() {
        let Some(hp) = v.get("hostPath") else { continue };
        let raw = scalar(hp.get("path")).unwrap_or_default();
        out.push(HostPathVolume {
            ptr: format!("{spec_ptr}/volumes/{i}/hostPath/path"),
            name: scalar(v.get("name")).unwrap_or_default(),
            path: normalize_host_path(&raw),
            raw,
            kind: scalar(hp.get("type")).filter(|t| !t.is_empty()),
        });
    }
    out
}

fn containers<'a>(spec: &'a Json, spec_ptr: &str) -> Vec<Container<'a>> {
    let mut out = Vec::new();
    for list in ["initContainers", "containers", "ephemeralContainers"] {
        for (i, c) in spec.get(list).and_then(Json::as_array).into_iter().flatten().enumerate() {
            let ptr = format!("{spec_ptr}/{list}/{i}");
            let mut argvs = Vec::new();
            let mut argv: Vec<String> = strings(c.get("command"));
            argv.extend(strings(c.get("args")));
            if !argv.is_empty() {
                let at = if c.get("command").is_some() { "command" } else { "args" };
                argvs.push((format!("{ptr}/{at}"), argv));
            }
            for probe in ["livenessProbe", "readinessProbe", "startupProbe"] {
                if let Some(cmd) = c.pointer(&format!("/{probe}/exec/command")) {
                    argvs.push((format!("{ptr}/{probe}/exec/command"), strings(Some(cmd))));
                }
            }
            for hook in ["postStart", "preStop"] {
                if let Some(cmd) = c.pointer(&format!("/lifecycle/{hook}/exec/command")) {
                    argvs.push((format!("{ptr}/lifecycle/{hook}/exec/command"), strings(Some(cmd))));
                }
            }
            let docker_host =
                c.get("env").and_then(Json::as_array).into_iter().flatten().enumerate().find_map(|(j, e)| {
                    (e.get("name").and_then(Json::as_str) == Some("DOCKER_HOST")).then(|| {
                        let value = scalar(e.get("value")).unwrap_or_else(|| "(set from another source)".into());
                        (value, format!("{ptr}/env/{j}"))
                    })
                });
            let mounts = c
                .get("volumeMounts")
                .and_then(Json::as_array)
                .into_iter()
                .flatten()
                .map(|m| (scalar(m.get("name")).unwrap_or_default(), scalar(m.get("mountPath")).unwrap_or_default()))
                .collect();
            out.push(Container {
                name: scalar(c.get("name")).unwrap_or_default(),
                image: scalar(c.get("image")).unwrap_or_default(),
                privileged: c.pointer("/securityContext/privileged").and_then(Json::as_bool).unwrap_or(false)
                    || c.pointer("/securityContext/privileged").and_then(Json::as_str) == Some("true"),
                ptr,
                spec: c,
                docker_host,
                mounts,
                argvs,
            });
        }
    }
    out
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

/// A field value for messages: `Value::Str` of the object display.
pub fn object_value(o: &ObjectRef) -> Value {
    Value::Str(o.to_string())
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
