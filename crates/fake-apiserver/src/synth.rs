//! Synthetic clusters for the fake API server: realistic objects at any size, deterministic per seed.
//!
//! Place in the pipeline: test and benchmark support, feeding [`super::FakeApiServer`]. The
//! cluster looks like a kubeadm 1.23 cluster on its way to 1.24: node pools with labels, most
//! nodes on containerd and one pool on `docker://`; Deployments → ReplicaSets → Pods and
//! DaemonSets, StatefulSets, CronJobs → Jobs → Pods with ownerReferences; mirror pods of the
//! control plane; the usual Docker dependencies (docker.sock mounts, a Datadog-style agent with
//! `/var/run` and `DOCKER_HOST`, fluent-bit reading `/var/lib/docker/containers`, privileged pods
//! running `docker build`, a Docker-in-Docker CI sidecar); kubeadm and kubelet ConfigMaps; and
//! configz for every node. Pods are 2-4 KB of JSON each, like real ones.
//!
//! Must not: produce Secrets, or anything that depends on the clock or the environment (the same
//! arguments always give the same snapshot).

use serde_json::{Value, json};

use dockershim_audit::clock::rfc3339_from_unix;
use dockershim_audit::collect::cluster::ClusterSnapshot;

/// Generates a cluster with `nodes` nodes and exactly `pods` pods (fewer only when `pods` is
/// smaller than what the DaemonSets and control plane need, in which case those are cut short).
pub fn generate(nodes: usize, pods: usize, seed: u64) -> ClusterSnapshot {
    let mut g = Gen::new(seed);
    let node_infos = g.nodes(nodes);
    let mut budget = pods;

    // Control-plane mirror pods, then one pod per node for each DaemonSet.
    g.static_pods(&node_infos, &mut budget);
    g.daemonsets(&node_infos, &mut budget);

    // The rest: a few privileged docker pods, CronJob/Job pods, StatefulSets, an RC, Deployments.
    let workers: Vec<usize> = {
        let w: Vec<usize> = (0..node_infos.len()).filter(|&i| node_infos[i].pool != "control-plane").collect();
        if w.is_empty() { (0..node_infos.len()).collect() } else { w }
    };
    let remaining = budget;
    let docker_pods = if remaining >= 10 { (remaining / 100).clamp(1, 20) } else { 0 };
    g.docker_build_pods(&node_infos, &workers, docker_pods, &mut budget);
    g.cronjobs(&node_infos, &workers, remaining / 25, &mut budget);
    g.replication_controller(&node_infos, &workers, &mut budget);
    g.statefulsets(&node_infos, &workers, remaining / 12, &mut budget);
    g.deployments(&node_infos, &workers, &mut budget);
    g.configmaps();

    let mut snap = ClusterSnapshot::new();
    snap.captured_at = Some(rfc3339_from_unix(BASE_TIME));
    snap.context = Some("synthetic".to_string());
    snap.server_version = Some(json!({
        "major": "1", "minor": "23", "gitVersion": "v1.23.17",
        "gitCommit": "953be8927218ec8067e1af2641e540238ffd7576", "gitTreeState": "clean",
        "buildDate": "2023-02-22T13:27:46Z", "goVersion": "go1.19.6", "compiler": "gc", "platform": "linux/amd64",
    }));
    for (plural, objects) in [
        ("nodes", g.out.nodes),
        ("pods", g.out.pods),
        ("deployments", g.out.deployments),
        ("daemonsets", g.out.daemonsets),
        ("statefulsets", g.out.statefulsets),
        ("replicasets", g.out.replicasets),
        ("replicationcontrollers", g.out.rcs),
        ("jobs", g.out.jobs),
        ("cronjobs", g.out.cronjobs),
        ("configmaps", g.out.configmaps),
    ] {
        snap.resources.insert(plural.to_string(), objects);
    }
    for n in &node_infos {
        snap.configz.insert(n.name.clone(), configz(n));
    }
    snap
}

/// The time objects are created before (2023-11-14).
const BASE_TIME: i64 = 1_700_000_000;

#[derive(Default)]
struct Out {
    nodes: Vec<Value>,
    pods: Vec<Value>,
    deployments: Vec<Value>,
    daemonsets: Vec<Value>,
    statefulsets: Vec<Value>,
    replicasets: Vec<Value>,
    rcs: Vec<Value>,
    jobs: Vec<Value>,
    cronjobs: Vec<Value>,
    configmaps: Vec<Value>,
}

struct NodeInfo {
    name: String,
    uid: String,
    pool: &'static str,
    ip: String,
    docker: bool,
    index: usize,
}

/// A container in the making.
#[derive(Default, Clone)]
struct C {
    name: String,
    image: String,
    command: Option<Vec<String>>,
    args: Option<Vec<String>>,
    env: Vec<Value>,
    ports: Vec<(u16, &'static str)>,
    mounts: Vec<Value>,
    privileged: bool,
    probe_port: Option<u16>,
    cpu: (&'static str, &'static str),
    mem: (&'static str, &'static str),
}

/// A pod template in the making: containers, volumes and pod-level settings.
#[derive(Default, Clone)]
struct T {
    labels: Vec<(String, String)>,
    containers: Vec<C>,
    init: Vec<C>,
    volumes: Vec<Value>,
    host_network: bool,
    host_pid: bool,
    service_account: String,
    tolerate_all: bool,
    priority_class: Option<&'static str>,
}

struct Owner {
    api_version: &'static str,
    kind: &'static str,
    name: String,
    uid: String,
}

struct Gen {
    state: u64,
    out: Out,
    rv: u64,
}

/// A CronJob: namespace, name, schedule, image, command, whether it uses the Docker socket.
type CronSpec = (&'static str, &'static str, &'static str, &'static str, Vec<String>, bool);

const TEAM_NAMESPACES: [&str; 8] =
    ["web", "payments", "orders", "search", "identity", "notifications", "analytics", "data"];
const ZONES: [&str; 3] = ["eu-west-1a", "eu-west-1b", "eu-west-1c"];
const ALNUM: &[u8] = b"bcdfghjklmnpqrstvwxz2456789";

impl Gen {
    fn new(seed: u64) -> Gen {
        let mut g = Gen { state: seed ^ 0x9e37_79b9_7f4a_7c15, out: Out::default(), rv: 10_000 };
        if g.state == 0 {
            g.state = 0x2545_f491_4f6c_dd1d;
        }
        g.next();
        g
    }

    fn next(&mut self) -> u64 {
        let mut x = self.state;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.state = x;
        x.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn below(&mut self, n: usize) -> usize {
        if n == 0 { 0 } else { (self.next() % n as u64) as usize }
    }

    fn chance(&mut self, percent: usize) -> bool {
        self.below(100) < percent
    }

    fn pick<'a, X>(&mut self, items: &'a [X]) -> &'a X {
        &items[self.below(items.len())]
    }

    fn hex(&mut self, n: usize) -> String {
        let mut s = String::with_capacity(n);
        while s.len() < n {
            s.push_str(&format!("{:016x}", self.next()));
        }
        s.truncate(n);
        s
    }

    fn suffix(&mut self, n: usize) -> String {
        (0..n).map(|_| ALNUM[self.below(ALNUM.len())] as char).collect()
    }

    fn uid(&mut self) -> String {
        let h = self.hex(32);
        format!("{}-{}-{}-{}-{}", &h[0..8], &h[8..12], &h[12..16], &h[16..20], &h[20..32])
    }

    fn created(&mut self) -> String {
        let back = self.below(200 * 86_400) as i64;
        rfc3339_from_unix(BASE_TIME - back)
    }

    fn rv(&mut self) -> String {
        self.rv += 1 + self.below(7) as u64;
        self.rv.to_string()
    }

    fn nodes(&mut self, count: usize) -> Vec<NodeInfo> {
        let cp = match count {
            0 => 0,
            1..=5 => 1,
            _ => 3,
        };
        let rest = count - cp;
        let docker = if rest >= 2 { (rest / 8).max(1) } else { 0 };
        let gpu = if rest >= 20 { rest / 10 } else { 0 };
        let mut infos = Vec::with_capacity(count);
        for i in 0..count {
            let (pool, idx) = if i < cp {
                ("control-plane", i)
            } else if i < cp + docker {
                ("docker-legacy", i - cp)
            } else if i < cp + docker + gpu {
                ("gpu", i - cp - docker)
            } else {
                ("general", i - cp - docker - gpu)
            };
            let name = format!("{pool}-{:04}", idx + 1);
            let ip = format!("10.20.{}.{}", 1 + i / 250, 1 + i % 250);
            let info = NodeInfo { uid: self.uid(), name, pool, ip, docker: pool == "docker-legacy", index: i };
            let node = self.node(&info);
            self.out.nodes.push(node);
            infos.push(info);
        }
        infos
    }

    fn node(&mut self, n: &NodeInfo) -> Value {
        let zone = ZONES[n.index % ZONES.len()];
        let instance = match n.pool {
            "control-plane" => "m5.xlarge",
            "gpu" => "g4dn.2xlarge",
            _ => *self.pick(&["m5.2xlarge", "m5.4xlarge", "c5.2xlarge"]),
        };
        let runtime = if n.docker {
            "docker://20.10.21".to_string()
        } else if n.pool == "general" && self.chance(15) {
            "containerd://1.5.11".to_string()
        } else {
            "containerd://1.6.20".to_string()
        };
        let kubelet = if self.chance(10) { "v1.23.12" } else { "v1.23.17" };
        let cri_socket = if n.docker { "/var/run/dockershim.sock" } else { "unix:///run/containerd/containerd.sock" };
        let mut labels = json!({
            "beta.kubernetes.io/arch": "amd64", "beta.kubernetes.io/os": "linux",
            "kubernetes.io/arch": "amd64", "kubernetes.io/hostname": n.name, "kubernetes.io/os": "linux",
            "node.kubernetes.io/instance-type": instance, "topology.kubernetes.io/region": "eu-west-1",
            "topology.kubernetes.io/zone": zone, "node-pool": n.pool,
        });
        let mut spec = json!({
            "podCIDR": format!("10.244.{}.0/24", n.index % 256),
            "podCIDRs": [format!("10.244.{}.0/24", n.index % 256)],
            "providerID": format!("aws:///{zone}/i-0{}", self.hex(16)),
        });
        if n.pool == "control-plane" {
            labels["node-role.kubernetes.io/control-plane"] = json!("");
            labels["node-role.kubernetes.io/master"] = json!("");
            labels["node.kubernetes.io/exclude-from-external-load-balancers"] = json!("");
            spec["taints"] = json!([{"key": "node-role.kubernetes.io/master", "effect": "NoSchedule"}]);
        }
        if n.pool == "gpu" {
            spec["taints"] = json!([{"key": "nvidia.com/gpu", "value": "present", "effect": "NoSchedule"}]);
        }
        let ready_since = self.created();
        let cond = |t: &str, s: &str, reason: &str, msg: &str| {
            json!({"type": t, "status": s, "lastHeartbeatTime": "2023-11-14T22:10:03Z",
                   "lastTransitionTime": ready_since, "reason": reason, "message": msg})
        };
        json!({
            "apiVersion": "v1", "kind": "Node",
            "metadata": {
                "name": n.name, "uid": n.uid, "resourceVersion": self.rv(), "creationTimestamp": self.created(),
                "labels": labels,
                "annotations": {
                    "kubeadm.alpha.kubernetes.io/cri-socket": cri_socket,
                    "node.alpha.kubernetes.io/ttl": "0",
                    "volumes.kubernetes.io/controller-managed-attach-detach": "true",
                    "projectcalico.org/IPv4Address": format!("{}/16", n.ip),
                },
            },
            "spec": spec,
            "status": {
                "capacity": {"cpu": "8", "ephemeral-storage": "101430960Ki", "hugepages-1Gi": "0",
                             "hugepages-2Mi": "0", "memory": "32863140Ki", "pods": "110"},
                "allocatable": {"cpu": "7910m", "ephemeral-storage": "93478772582", "hugepages-1Gi": "0",
                                "hugepages-2Mi": "0", "memory": "31711140Ki", "pods": "110"},
                "conditions": [
                    cond("MemoryPressure", "False", "KubeletHasSufficientMemory", "kubelet has sufficient memory available"),
                    cond("DiskPressure", "False", "KubeletHasNoDiskPressure", "kubelet has no disk pressure"),
                    cond("PIDPressure", "False", "KubeletHasSufficientPID", "kubelet has sufficient PID available"),
                    cond("Ready", "True", "KubeletReady", "kubelet is posting ready status. AppArmor enabled"),
                ],
                "addresses": [{"type": "InternalIP", "address": n.ip}, {"type": "Hostname", "address": n.name}],
                "daemonEndpoints": {"kubeletEndpoint": {"Port": 10250}},
                "nodeInfo": {
                    "machineID": self.hex(32), "systemUUID": self.uid(), "bootID": self.uid(),
                    "kernelVersion": "5.15.0-1034-aws", "osImage": "Ubuntu 20.04.6 LTS",
                    "containerRuntimeVersion": runtime, "kubeletVersion": kubelet, "kubeProxyVersion": kubelet,
                    "operatingSystem": "linux", "architecture": "amd64",
                },
                "images": [
                    {"names": ["registry.k8s.io/kube-proxy@sha256:".to_string() + &self.hex(64), "registry.k8s.io/kube-proxy:v1.23.17"], "sizeBytes": 39_274_611},
                    {"names": ["docker.io/calico/node@sha256:".to_string() + &self.hex(64), "docker.io/calico/node:v3.24.5"], "sizeBytes": 80_551_624},
                ],
            },
        })
    }

    fn container(&mut self, c: &C, node: Option<&NodeInfo>) -> (Value, Value) {
        let mut v = json!({
            "name": c.name,
            "image": c.image,
            "imagePullPolicy": "IfNotPresent",
            "terminationMessagePath": "/dev/termination-log",
            "terminationMessagePolicy": "File",
            "resources": {
                "requests": {"cpu": c.cpu.0, "memory": c.mem.0},
                "limits": {"cpu": c.cpu.1, "memory": c.mem.1},
            },
        });
        if let Some(cmd) = &c.command {
            v["command"] = json!(cmd);
        }
        if let Some(args) = &c.args {
            v["args"] = json!(args);
        }
        if !c.ports.is_empty() {
            v["ports"] =
                c.ports.iter().map(|(p, n)| json!({"name": n, "containerPort": p, "protocol": "TCP"})).collect();
        }
        if !c.env.is_empty() {
            v["env"] = Value::Array(c.env.clone());
        }
        let mut mounts = c.mounts.clone();
        mounts.push(json!({"name": "kube-api-access", "readOnly": true,
                           "mountPath": "/var/run/secrets/kubernetes.io/serviceaccount"}));
        v["volumeMounts"] = Value::Array(mounts);
        if let Some(port) = c.probe_port {
            v["livenessProbe"] = json!({"httpGet": {"path": "/healthz", "port": port, "scheme": "HTTP"},
                "initialDelaySeconds": 15, "timeoutSeconds": 1, "periodSeconds": 10, "successThreshold": 1, "failureThreshold": 3});
            v["readinessProbe"] = json!({"httpGet": {"path": "/ready", "port": port, "scheme": "HTTP"},
                "timeoutSeconds": 1, "periodSeconds": 5, "successThreshold": 1, "failureThreshold": 3});
        }
        v["securityContext"] = if c.privileged {
            json!({"privileged": true})
        } else {
            json!({"allowPrivilegeEscalation": false, "readOnlyRootFilesystem": true,
                   "runAsNonRoot": true, "capabilities": {"drop": ["ALL"]}})
        };
        let docker = node.is_some_and(|n| n.docker);
        let (repo, _) = c.image.rsplit_once(':').unwrap_or((&c.image, ""));
        let status = json!({
            "name": c.name,
            "state": {"running": {"startedAt": self.created()}},
            "lastState": {},
            "ready": true,
            "restartCount": self.below(3),
            "image": c.image,
            "imageID": if docker { format!("docker-pullable://{repo}@sha256:{}", self.hex(64)) }
                       else { format!("{repo}@sha256:{}", self.hex(64)) },
            "containerID": format!("{}://{}", if docker { "docker" } else { "containerd" }, self.hex(64)),
            "started": true,
        });
        (v, status)
    }

    fn pod_spec(&mut self, t: &T, node: Option<&NodeInfo>) -> (Value, Vec<Value>) {
        let mut statuses = Vec::new();
        let mut containers = Vec::new();
        for c in &t.containers {
            let (v, s) = self.container(c, node);
            containers.push(v);
            statuses.push(s);
        }
        let mut volumes = t.volumes.clone();
        volumes.push(json!({"name": "kube-api-access", "projected": {"defaultMode": 420, "sources": [
            {"serviceAccountToken": {"expirationSeconds": 3607, "path": "token"}},
            {"configMap": {"name": "kube-root-ca.crt", "items": [{"key": "ca.crt", "path": "ca.crt"}]}},
            {"downwardAPI": {"items": [{"path": "namespace", "fieldRef": {"apiVersion": "v1", "fieldPath": "metadata.namespace"}}]}},
        ]}}));
        let tolerations = if t.tolerate_all {
            json!([{"operator": "Exists"}])
        } else {
            json!([
                {"key": "node.kubernetes.io/not-ready", "operator": "Exists", "effect": "NoExecute", "tolerationSeconds": 300},
                {"key": "node.kubernetes.io/unreachable", "operator": "Exists", "effect": "NoExecute", "tolerationSeconds": 300},
            ])
        };
        let mut spec = obj(vec![
            ("volumes", Value::Array(volumes)),
            ("containers", Value::Array(containers)),
            ("restartPolicy", json!("Always")),
            ("terminationGracePeriodSeconds", json!(30)),
            ("dnsPolicy", json!(if t.host_network { "ClusterFirstWithHostNet" } else { "ClusterFirst" })),
            ("serviceAccountName", json!(t.service_account)),
            ("serviceAccount", json!(t.service_account)),
            ("securityContext", json!({})),
            ("schedulerName", json!("default-scheduler")),
            ("tolerations", tolerations),
            ("priority", json!(if t.priority_class.is_some() { 2_000_001_000 } else { 0 })),
            ("enableServiceLinks", json!(true)),
            ("preemptionPolicy", json!("PreemptLowerPriority")),
        ]);
        if !t.init.is_empty() {
            let mut inits = Vec::new();
            for c in &t.init {
                inits.push(self.container(c, node).0);
            }
            spec["initContainers"] = Value::Array(inits);
        }
        if t.host_network {
            spec["hostNetwork"] = json!(true);
        }
        if t.host_pid {
            spec["hostPID"] = json!(true);
        }
        if let Some(pc) = t.priority_class {
            spec["priorityClassName"] = json!(pc);
        }
        (spec, statuses)
    }

    fn labels(t: &T) -> Value {
        let mut m = serde_json::Map::new();
        for (k, v) in &t.labels {
            m.insert(k.clone(), json!(v));
        }
        Value::Object(m)
    }

    fn template(&mut self, t: &T) -> Value {
        let (mut spec, _) = self.pod_spec(t, None);
        // Templates do not carry the projected token volume the admission plugin adds to pods.
        if let Some(vols) = spec.get_mut("volumes").and_then(Value::as_array_mut) {
            vols.retain(|v| v["name"] != "kube-api-access");
        }
        for key in ["containers", "initContainers"] {
            if let Some(cs) = spec.get_mut(key).and_then(Value::as_array_mut) {
                for c in cs {
                    if let Some(ms) = c.get_mut("volumeMounts").and_then(Value::as_array_mut) {
                        ms.retain(|m| m["name"] != "kube-api-access");
                    }
                }
            }
        }
        if let Some(o) = spec.as_object_mut() {
            o.remove("serviceAccount");
            o.remove("priority");
            o.remove("preemptionPolicy");
            o.remove("enableServiceLinks");
            o.remove("tolerations");
        }
        obj(vec![("metadata", json!({"creationTimestamp": null, "labels": Self::labels(t)})), ("spec", spec)])
    }

    #[allow(clippy::too_many_arguments)]
    fn pod(
        &mut self,
        ns: &str,
        name: &str,
        t: &T,
        owner: Option<&Owner>,
        node: Option<&NodeInfo>,
        extra_labels: &[(&str, String)],
        annotations: Value,
        completed: bool,
    ) {
        let (mut spec, mut statuses) = self.pod_spec(t, node);
        let mut labels = Self::labels(t);
        for (k, v) in extra_labels {
            labels[*k] = json!(v);
        }
        if let Some(n) = node {
            spec["nodeName"] = json!(n.name);
        }
        if completed {
            spec["restartPolicy"] = json!("OnFailure");
            for s in &mut statuses {
                s["state"] = json!({"terminated": {"exitCode": 0, "reason": "Completed",
                    "startedAt": "2023-11-14T02:00:04Z", "finishedAt": "2023-11-14T02:03:51Z",
                    "containerID": s["containerID"].clone()}});
                s["ready"] = json!(false);
                s["started"] = json!(false);
            }
        }
        let started = self.created();
        let phase = match (node, completed) {
            (None, _) => "Pending",
            (_, true) => "Succeeded",
            _ => "Running",
        };
        let ready = if phase == "Running" { "True" } else { "False" };
        let cond =
            |t: &str, s: &str| json!({"type": t, "status": s, "lastProbeTime": null, "lastTransitionTime": started});
        let pod_ip = node.map(|n| {
            if t.host_network { n.ip.clone() } else { format!("10.244.{}.{}", n.index % 256, 2 + self.below(250)) }
        });
        let mut meta = obj(vec![
            ("name", json!(name)),
            ("namespace", json!(ns)),
            ("uid", json!(self.uid())),
            ("resourceVersion", json!(self.rv())),
            ("creationTimestamp", json!(started)),
            ("labels", labels),
        ]);
        if annotations.as_object().is_some_and(|a| !a.is_empty()) {
            meta["annotations"] = annotations;
        }
        if let Some(o) = owner {
            meta["generateName"] = json!(name.rsplit_once('-').map(|(p, _)| format!("{p}-")).unwrap_or_default());
            meta["ownerReferences"] = json!([{"apiVersion": o.api_version, "kind": o.kind, "name": o.name,
                "uid": o.uid, "controller": true, "blockOwnerDeletion": true}]);
        }
        let conditions = vec![
            cond("Initialized", "True"),
            cond("Ready", ready),
            cond("ContainersReady", ready),
            cond("PodScheduled", if node.is_some() { "True" } else { "False" }),
        ];
        let mut status = obj(vec![
            ("phase", json!(phase)),
            ("conditions", Value::Array(conditions)),
            ("qosClass", json!("Burstable")),
            ("startTime", json!(started)),
        ]);
        if let (Some(n), Some(ip)) = (node, pod_ip) {
            status["hostIP"] = json!(n.ip);
            status["podIP"] = json!(ip);
            status["podIPs"] = json!([{"ip": ip}]);
            status["containerStatuses"] = Value::Array(statuses);
        }
        self.out.pods.push(obj(vec![
            ("apiVersion", json!("v1")),
            ("kind", json!("Pod")),
            ("metadata", meta),
            ("spec", spec),
            ("status", status),
        ]));
    }

    fn meta(&mut self, ns: &str, name: &str, labels: Value) -> (Value, String) {
        let uid = self.uid();
        let mut m = json!({"name": name, "uid": uid, "resourceVersion": self.rv(),
                           "creationTimestamp": self.created(), "labels": labels});
        if !ns.is_empty() {
            m["namespace"] = json!(ns);
        }
        (m, uid)
    }

    fn static_pods(&mut self, nodes: &[NodeInfo], budget: &mut usize) {
        for n in nodes.iter().filter(|n| n.pool == "control-plane") {
            for (component, image, command) in [
                (
                    "etcd",
                    "registry.k8s.io/etcd:3.5.6-0",
                    vec![
                        "etcd",
                        "--advertise-client-urls=https://IP:2379",
                        "--data-dir=/var/lib/etcd",
                        "--client-cert-auth=true",
                    ],
                ),
                (
                    "kube-apiserver",
                    "registry.k8s.io/kube-apiserver:v1.23.17",
                    vec![
                        "kube-apiserver",
                        "--advertise-address=IP",
                        "--allow-privileged=true",
                        "--authorization-mode=Node,RBAC",
                        "--enable-admission-plugins=NodeRestriction",
                        "--feature-gates=TTLAfterFinished=true",
                        "--service-cluster-ip-range=10.96.0.0/12",
                    ],
                ),
                (
                    "kube-controller-manager",
                    "registry.k8s.io/kube-controller-manager:v1.23.17",
                    vec![
                        "kube-controller-manager",
                        "--allocate-node-cidrs=true",
                        "--cluster-cidr=10.244.0.0/16",
                        "--leader-elect=true",
                        "--use-service-account-credentials=true",
                    ],
                ),
                (
                    "kube-scheduler",
                    "registry.k8s.io/kube-scheduler:v1.23.17",
                    vec![
                        "kube-scheduler",
                        "--authentication-kubeconfig=/etc/kubernetes/scheduler.conf",
                        "--leader-elect=true",
                    ],
                ),
            ] {
                if *budget == 0 {
                    return;
                }
                *budget -= 1;
                let c = C {
                    name: component.into(),
                    image: image.into(),
                    command: Some(command.iter().map(|s| s.replace("IP", &n.ip)).collect()),
                    mounts: vec![json!({"name": "k8s-certs", "mountPath": "/etc/kubernetes/pki", "readOnly": true})],
                    cpu: ("250m", "1"),
                    mem: ("256Mi", "1Gi"),
                    ..C::default()
                };
                let t = T {
                    labels: vec![("component".into(), component.into()), ("tier".into(), "control-plane".into())],
                    containers: vec![c],
                    volumes: vec![
                        json!({"name": "k8s-certs", "hostPath": {"path": "/etc/kubernetes/pki", "type": "DirectoryOrCreate"}}),
                    ],
                    host_network: true,
                    service_account: "default".into(),
                    tolerate_all: true,
                    priority_class: Some("system-node-critical"),
                    ..T::default()
                };
                let owner = Owner { api_version: "v1", kind: "Node", name: n.name.clone(), uid: n.uid.clone() };
                let hash = self.hex(32);
                let ann = json!({"kubernetes.io/config.hash": hash, "kubernetes.io/config.mirror": hash,
                                 "kubernetes.io/config.seen": "2023-11-01T09:12:44.120534261Z", "kubernetes.io/config.source": "file"});
                let name = format!("{component}-{}", n.name);
                self.pod("kube-system", &name, &t, Some(&owner), Some(n), &[], ann, false);
            }
        }
    }

    fn daemonsets(&mut self, nodes: &[NodeInfo], budget: &mut usize) {
        let host = |name: &str, path: &str, kind: &str| json!({"name": name, "hostPath": {"path": path, "type": kind}});
        let mount = |name: &str, path: &str, ro: bool| json!({"name": name, "mountPath": path, "readOnly": ro});
        let env = |k: &str, v: &str| json!({"name": k, "value": v});
        let secret_env =
            |k: &str, s: &str, key: &str| json!({"name": k, "valueFrom": {"secretKeyRef": {"name": s, "key": key}}});
        let field_env = |k: &str, path: &str| json!({"name": k, "valueFrom": {"fieldRef": {"apiVersion": "v1", "fieldPath": path}}});

        let sets: Vec<(&str, &str, T, bool)> = vec![
            ("kube-system", "kube-proxy", T {
                labels: vec![("k8s-app".into(), "kube-proxy".into())],
                containers: vec![C {
                    name: "kube-proxy".into(), image: "registry.k8s.io/kube-proxy:v1.23.17".into(),
                    command: Some(vec!["/usr/local/bin/kube-proxy".into(), "--config=/var/lib/kube-proxy/config.conf".into(), "--hostname-override=$(NODE_NAME)".into()]),
                    env: vec![field_env("NODE_NAME", "spec.nodeName")],
                    mounts: vec![mount("kube-proxy", "/var/lib/kube-proxy", false), mount("xtables-lock", "/run/xtables.lock", false), mount("lib-modules", "/lib/modules", true)],
                    privileged: true, cpu: ("100m", "500m"), mem: ("64Mi", "256Mi"), ..C::default()
                }],
                volumes: vec![json!({"name": "kube-proxy", "configMap": {"name": "kube-proxy", "defaultMode": 420}}),
                              host("xtables-lock", "/run/xtables.lock", "FileOrCreate"), host("lib-modules", "/lib/modules", "")],
                host_network: true, service_account: "kube-proxy".into(), tolerate_all: true,
                priority_class: Some("system-node-critical"), ..T::default()
            }, false),
            ("kube-system", "calico-node", T {
                labels: vec![("k8s-app".into(), "calico-node".into())],
                containers: vec![C {
                    name: "calico-node".into(), image: "docker.io/calico/node:v3.24.5".into(),
                    env: vec![env("DATASTORE_TYPE", "kubernetes"), env("CALICO_NETWORKING_BACKEND", "bird"), env("CLUSTER_TYPE", "k8s,bgp"), env("IP", "autodetect"), env("CALICO_IPV4POOL_IPIP", "Always"), field_env("NODENAME", "spec.nodeName")],
                    mounts: vec![mount("var-run-calico", "/var/run/calico", false), mount("var-lib-calico", "/var/lib/calico", false), mount("lib-modules", "/lib/modules", true), mount("xtables-lock", "/run/xtables.lock", false)],
                    privileged: true, probe_port: Some(9099), cpu: ("250m", "1"), mem: ("128Mi", "512Mi"), ..C::default()
                }],
                volumes: vec![host("var-run-calico", "/var/run/calico", ""), host("var-lib-calico", "/var/lib/calico", ""), host("lib-modules", "/lib/modules", ""), host("xtables-lock", "/run/xtables.lock", "FileOrCreate")],
                host_network: true, service_account: "calico-node".into(), tolerate_all: true,
                priority_class: Some("system-node-critical"), ..T::default()
            }, false),
            ("logging", "fluent-bit", T {
                labels: vec![("app.kubernetes.io/name".into(), "fluent-bit".into()), ("app.kubernetes.io/instance".into(), "fluent-bit".into())],
                containers: vec![C {
                    name: "fluent-bit".into(), image: "cr.fluentbit.io/fluent/fluent-bit:1.9.10".into(),
                    ports: vec![(2020, "http")],
                    mounts: vec![mount("config", "/fluent-bit/etc/", false), mount("varlog", "/var/log", false), mount("varlibdockercontainers", "/var/lib/docker/containers", true), mount("etcmachineid", "/etc/machine-id", true)],
                    probe_port: Some(2020), cpu: ("50m", "200m"), mem: ("64Mi", "256Mi"), ..C::default()
                }],
                volumes: vec![json!({"name": "config", "configMap": {"name": "fluent-bit-config", "defaultMode": 420}}),
                              host("varlog", "/var/log", ""), host("varlibdockercontainers", "/var/lib/docker/containers", ""), host("etcmachineid", "/etc/machine-id", "File")],
                service_account: "fluent-bit".into(), tolerate_all: true, ..T::default()
            }, false),
            ("monitoring", "node-exporter", T {
                labels: vec![("app.kubernetes.io/name".into(), "node-exporter".into()), ("app.kubernetes.io/part-of".into(), "kube-prometheus".into())],
                containers: vec![C {
                    name: "node-exporter".into(), image: "quay.io/prometheus/node-exporter:v1.5.0".into(),
                    args: Some(vec!["--web.listen-address=127.0.0.1:9100".into(), "--path.sysfs=/host/sys".into(), "--path.rootfs=/host/root".into(), "--no-collector.wifi".into(), "--collector.filesystem.mount-points-exclude=^/(dev|proc|sys|run/k3s/containerd/.+|var/lib/docker/.+|var/lib/kubelet/pods/.+)($|/)".into()]),
                    ports: vec![(9100, "https")],
                    mounts: vec![mount("sys", "/host/sys", true), mount("root", "/host/root", true)],
                    cpu: ("102m", "250m"), mem: ("180Mi", "180Mi"), ..C::default()
                }],
                volumes: vec![host("sys", "/sys", ""), host("root", "/", "")],
                host_network: true, host_pid: true, service_account: "node-exporter".into(), tolerate_all: true,
                priority_class: Some("system-cluster-critical"), ..T::default()
            }, false),
            ("datadog", "datadog-agent", T {
                labels: vec![("app".into(), "datadog-agent".into()), ("app.kubernetes.io/component".into(), "agent".into())],
                containers: vec![C {
                    name: "agent".into(), image: "gcr.io/datadoghq/agent:7.32.4".into(),
                    command: Some(vec!["agent".into(), "run".into()]),
                    env: vec![secret_env("DD_API_KEY", "datadog-secret", "api-key"), env("DD_SITE", "datadoghq.eu"),
                              env("DOCKER_HOST", "unix:///host/var/run/docker.sock"), env("DD_LOGS_ENABLED", "true"),
                              env("DD_LOGS_CONFIG_CONTAINER_COLLECT_ALL", "true"), field_env("DD_KUBERNETES_KUBELET_HOST", "status.hostIP"),
                              env("DD_CRI_SOCKET_PATH", "/host/var/run/containerd/containerd.sock")],
                    ports: vec![(8125, "dogstatsdport")],
                    mounts: vec![mount("runtimesocketdir", "/host/var/run", true), mount("procdir", "/host/proc", true), mount("cgroups", "/host/sys/fs/cgroup", true), mount("logdatadog", "/var/log/datadog", false)],
                    probe_port: Some(5555), cpu: ("200m", "1"), mem: ("256Mi", "512Mi"), ..C::default()
                }],
                volumes: vec![host("runtimesocketdir", "/var/run", ""), host("procdir", "/proc", ""), host("cgroups", "/sys/fs/cgroup", ""), json!({"name": "logdatadog", "emptyDir": {}})],
                service_account: "datadog-agent".into(), tolerate_all: true, ..T::default()
            }, false),
            ("kube-system", "docker-gc", T {
                labels: vec![("app".into(), "docker-gc".into())],
                containers: vec![C {
                    name: "docker-gc".into(), image: "registry.example.com/ops/docker-gc:1.4".into(),
                    command: Some(vec!["/bin/sh".into(), "-c".into(), "while true; do docker system prune -af --filter until=24h; docker volume prune -f; sleep 3600; done".into()]),
                    mounts: vec![mount("docker-sock", "/var/run/docker.sock", false)],
                    privileged: true, cpu: ("10m", "100m"), mem: ("32Mi", "128Mi"), ..C::default()
                }],
                volumes: vec![host("docker-sock", "/var/run/docker.sock", "Socket")],
                service_account: "default".into(), tolerate_all: true, ..T::default()
            }, true),
        ];
        for (ns, name, t, docker_only) in sets {
            let targets: Vec<&NodeInfo> = nodes.iter().filter(|n| !docker_only || n.docker).collect();
            let mut labels = Self::labels(&t);
            let (mut meta, uid) = self.meta(ns, name, labels.take());
            meta["annotations"] = json!({"deprecated.daemonset.template.generation": "3"});
            let mut template = self.template(&t);
            if docker_only {
                template["spec"]["nodeSelector"] = json!({"node-pool": "docker-legacy"});
            }
            let hash = format!("{}", 5_000_000_000u64 + (self.next() % 4_000_000_000));
            let n = targets.len();
            self.out.daemonsets.push(json!({
                "apiVersion": "apps/v1", "kind": "DaemonSet", "metadata": meta,
                "spec": {"selector": {"matchLabels": Self::labels(&t)}, "template": template,
                         "updateStrategy": {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": 1, "maxSurge": 0}},
                         "revisionHistoryLimit": 10},
                "status": {"currentNumberScheduled": n, "numberMisscheduled": 0, "desiredNumberScheduled": n,
                           "numberReady": n, "observedGeneration": 3, "updatedNumberScheduled": n, "numberAvailable": n},
            }));
            let owner = Owner { api_version: "apps/v1", kind: "DaemonSet", name: name.to_string(), uid };
            let mut used = std::collections::HashSet::new();
            for node in targets {
                if *budget == 0 {
                    return;
                }
                *budget -= 1;
                let mut pod_name = format!("{name}-{}", self.suffix(5));
                while !used.insert(pod_name.clone()) {
                    pod_name = format!("{name}-{}", self.suffix(5));
                }
                let extra = [("controller-revision-hash", hash.clone()), ("pod-template-generation", "3".to_string())];
                self.pod(ns, &pod_name, &t, Some(&owner), Some(node), &extra, json!({}), false);
            }
        }
    }

    fn docker_build_pods(&mut self, nodes: &[NodeInfo], workers: &[usize], count: usize, budget: &mut usize) {
        for i in 0..count {
            if *budget == 0 || workers.is_empty() {
                return;
            }
            *budget -= 1;
            let node = &nodes[workers[self.below(workers.len())]];
            let sha = self.hex(12);
            let app = self.pick(&["checkout", "frontend", "billing-api", "search-indexer"]).to_string();
            let t = T {
                labels: vec![
                    ("app".into(), "image-builder".into()),
                    ("ci/pipeline".into(), format!("{app}-{}", 1000 + i)),
                ],
                containers: vec![C {
                    name: "builder".into(),
                    image: "docker:20.10.21".into(),
                    command: Some(vec![
                        "sh".into(),
                        "-c".into(),
                        format!(
                            "docker login -u ci -p $REGISTRY_TOKEN registry.example.com && docker build -t registry.example.com/{app}:{sha} . && docker push registry.example.com/{app}:{sha}"
                        ),
                    ]),
                    env: vec![
                        json!({"name": "GIT_SHA", "value": sha}),
                        json!({"name": "REGISTRY_TOKEN", "valueFrom": {"secretKeyRef": {"name": "registry-token", "key": "token"}}}),
                    ],
                    mounts: vec![
                        json!({"name": "docker-sock", "mountPath": "/var/run/docker.sock"}),
                        json!({"name": "workspace", "mountPath": "/workspace"}),
                    ],
                    privileged: true,
                    cpu: ("500m", "2"),
                    mem: ("512Mi", "2Gi"),
                    ..C::default()
                }],
                volumes: vec![
                    json!({"name": "docker-sock", "hostPath": {"path": "/var/run/docker.sock", "type": ""}}),
                    json!({"name": "workspace", "emptyDir": {}}),
                ],
                service_account: "ci-builder".into(),
                ..T::default()
            };
            let name = format!("build-{app}-{}-{}", 1000 + i, self.suffix(5));
            self.pod("ci", &name, &t, None, Some(node), &[], json!({}), false);
        }
    }

    fn cronjobs(&mut self, nodes: &[NodeInfo], workers: &[usize], pod_target: usize, budget: &mut usize) {
        let specs: [CronSpec; 4] = [
            (
                "ci",
                "registry-cleanup",
                "0 3 * * *",
                "docker:20.10.21",
                vec!["sh".into(), "-c".into(), "docker image prune -af --filter until=72h".into()],
                true,
            ),
            (
                "data",
                "nightly-report",
                "30 1 * * *",
                "registry.example.com/data/reports:2.3.1",
                vec!["python".into(), "-m".into(), "reports.nightly".into()],
                false,
            ),
            (
                "kube-system",
                "etcd-backup",
                "0 */6 * * *",
                "registry.example.com/ops/etcd-backup:0.9.2",
                vec!["/backup.sh".into(), "--s3-bucket=etcd-backups".into()],
                false,
            ),
            (
                "analytics",
                "session-rollup",
                "*/30 * * * *",
                "registry.example.com/analytics/rollup:1.12.0",
                vec!["/app/rollup".into(), "--window=30m".into()],
                false,
            ),
        ];
        let mut pods_made = 0;
        for (ns, name, schedule, image, command, docker) in specs {
            let mut t = T {
                labels: vec![("app".into(), name.into())],
                containers: vec![C {
                    name: name.into(),
                    image: image.into(),
                    command: Some(command),
                    env: vec![json!({"name": "LOG_LEVEL", "value": "info"})],
                    privileged: docker,
                    cpu: ("100m", "500m"),
                    mem: ("128Mi", "512Mi"),
                    ..C::default()
                }],
                service_account: "default".into(),
                ..T::default()
            };
            if docker {
                t.containers[0].mounts.push(json!({"name": "docker-sock", "mountPath": "/var/run/docker.sock"}));
                t.volumes.push(
                    json!({"name": "docker-sock", "hostPath": {"path": "/var/run/docker.sock", "type": "Socket"}}),
                );
            }
            let (meta, uid) = self.meta(ns, name, json!({"app": name}));
            let mut job_template = self.template(&t);
            job_template["spec"]["restartPolicy"] = json!("OnFailure");
            self.out.cronjobs.push(json!({
                "apiVersion": "batch/v1", "kind": "CronJob", "metadata": meta,
                "spec": {"schedule": schedule, "concurrencyPolicy": "Forbid", "suspend": false,
                         "successfulJobsHistoryLimit": 3, "failedJobsHistoryLimit": 1,
                         "jobTemplate": {"metadata": {"creationTimestamp": null}, "spec": {"backoffLimit": 2, "template": job_template.clone()}}},
                "status": {"lastScheduleTime": "2023-11-14T03:00:00Z", "lastSuccessfulTime": "2023-11-14T03:03:51Z"},
            }));
            let cj_owner = Owner { api_version: "batch/v1", kind: "CronJob", name: name.into(), uid };
            let history = if pod_target > pods_made { 3 } else { 1 };
            for h in 0..history {
                let job_name = format!("{name}-{}", 28_330_000 + h * 60 + self.below(50));
                self.job(ns, &job_name, &t, &job_template, Some(&cj_owner), nodes, workers, budget);
                pods_made += 1;
            }
        }
        // A one-off migration Job, and more CronJob history up to the target.
        let t = T {
            labels: vec![("app".into(), "db-migrate".into())],
            containers: vec![C {
                name: "migrate".into(),
                image: "registry.example.com/payments/migrations:v42".into(),
                command: Some(vec!["/migrate".into(), "up".into()]),
                env: vec![
                    json!({"name": "DATABASE_URL", "valueFrom": {"secretKeyRef": {"name": "payments-db", "key": "url"}}}),
                ],
                cpu: ("100m", "500m"),
                mem: ("128Mi", "256Mi"),
                ..C::default()
            }],
            service_account: "default".into(),
            ..T::default()
        };
        let mut template = self.template(&t);
        template["spec"]["restartPolicy"] = json!("Never");
        self.job("payments", "db-migrate-v42", &t, &template, None, nodes, workers, budget);
        pods_made += 1;
        let mut k = 0;
        while pods_made < pod_target && *budget > 0 {
            let ns = TEAM_NAMESPACES[k % TEAM_NAMESPACES.len()];
            let name = format!("batch-export-{k}");
            let mut tt = t.clone();
            tt.labels = vec![("app".into(), name.clone())];
            tt.containers[0].name = "export".into();
            tt.containers[0].image = "registry.example.com/data/exporter:3.1.0".into();
            tt.containers[0].command = Some(vec!["/export".into(), format!("--shard={k}")]);
            let mut template = self.template(&tt);
            template["spec"]["restartPolicy"] = json!("Never");
            self.job(ns, &name, &tt, &template, None, nodes, workers, budget);
            pods_made += 1;
            k += 1;
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn job(
        &mut self,
        ns: &str,
        name: &str,
        t: &T,
        template: &Value,
        owner: Option<&Owner>,
        nodes: &[NodeInfo],
        workers: &[usize],
        budget: &mut usize,
    ) {
        let (mut meta, uid) = self.meta(ns, name, json!({"job-name": name}));
        if let Some(o) = owner {
            meta["ownerReferences"] = json!([{"apiVersion": o.api_version, "kind": o.kind, "name": o.name,
                "uid": o.uid, "controller": true, "blockOwnerDeletion": true}]);
        }
        let mut tpl = template.clone();
        tpl["metadata"]["labels"]["job-name"] = json!(name);
        tpl["metadata"]["labels"]["controller-uid"] = json!(uid);
        self.out.jobs.push(json!({
            "apiVersion": "batch/v1", "kind": "Job", "metadata": meta,
            "spec": {"parallelism": 1, "completions": 1, "backoffLimit": 2,
                     "selector": {"matchLabels": {"controller-uid": uid}}, "template": tpl},
            "status": {"startTime": "2023-11-14T02:00:00Z", "completionTime": "2023-11-14T02:03:55Z", "succeeded": 1},
        }));
        if *budget == 0 {
            return;
        }
        *budget -= 1;
        let node = (!workers.is_empty()).then(|| &nodes[workers[self.below(workers.len())]]);
        let job_owner = Owner { api_version: "batch/v1", kind: "Job", name: name.into(), uid: uid.clone() };
        let pod_name = format!("{name}-{}", self.suffix(5));
        let extra = [("job-name", name.to_string()), ("controller-uid", uid)];
        self.pod(ns, &pod_name, t, Some(&job_owner), node, &extra, json!({}), true);
    }

    fn replication_controller(&mut self, nodes: &[NodeInfo], workers: &[usize], budget: &mut usize) {
        let t = T {
            labels: vec![("app".into(), "old-frontend".into())],
            containers: vec![C {
                name: "frontend".into(),
                image: "registry.example.com/legacy/frontend:0.9.7".into(),
                ports: vec![(8080, "http")],
                probe_port: Some(8080),
                env: vec![json!({"name": "NODE_ENV", "value": "production"})],
                cpu: ("100m", "500m"),
                mem: ("128Mi", "512Mi"),
                ..C::default()
            }],
            service_account: "default".into(),
            ..T::default()
        };
        let replicas = (*budget).min(2);
        let (meta, uid) = self.meta("legacy", "old-frontend", json!({"app": "old-frontend"}));
        let template = self.template(&t);
        self.out.rcs.push(json!({
            "apiVersion": "v1", "kind": "ReplicationController", "metadata": meta,
            "spec": {"replicas": replicas, "selector": {"app": "old-frontend"}, "template": template},
            "status": {"replicas": replicas, "fullyLabeledReplicas": replicas, "readyReplicas": replicas,
                       "availableReplicas": replicas, "observedGeneration": 1},
        }));
        let owner = Owner { api_version: "v1", kind: "ReplicationController", name: "old-frontend".into(), uid };
        for _ in 0..replicas {
            *budget -= 1;
            let node = (!workers.is_empty()).then(|| &nodes[workers[self.below(workers.len())]]);
            let name = format!("old-frontend-{}", self.suffix(5));
            self.pod("legacy", &name, &t, Some(&owner), node, &[], json!({}), false);
        }
    }

    fn statefulsets(&mut self, nodes: &[NodeInfo], workers: &[usize], pod_target: usize, budget: &mut usize) {
        let mut made = 0;
        let mut k = 0;
        while made < pod_target.max(1) && *budget > 0 {
            let ns = TEAM_NAMESPACES[k % TEAM_NAMESPACES.len()];
            let (kind, image, port) = *self.pick(&[
                ("redis", "docker.io/library/redis:6.2.11", 6379u16),
                ("postgres", "docker.io/library/postgres:14.7", 5432),
                ("kafka", "docker.io/bitnami/kafka:3.3.2", 9092),
            ]);
            let name = format!("{kind}-{ns}-{k}");
            let replicas = (1 + self.below(3)).min(*budget);
            let t = T {
                labels: vec![
                    ("app.kubernetes.io/name".into(), kind.into()),
                    ("app.kubernetes.io/instance".into(), name.clone()),
                ],
                containers: vec![C {
                    name: kind.into(),
                    image: image.into(),
                    ports: vec![(port, "tcp")],
                    env: vec![
                        json!({"name": "POD_NAME", "valueFrom": {"fieldRef": {"apiVersion": "v1", "fieldPath": "metadata.name"}}}),
                        json!({"name": "PASSWORD", "valueFrom": {"secretKeyRef": {"name": format!("{name}-auth"), "key": "password"}}}),
                    ],
                    mounts: vec![json!({"name": "data", "mountPath": "/data"})],
                    cpu: ("250m", "1"),
                    mem: ("512Mi", "2Gi"),
                    ..C::default()
                }],
                volumes: vec![
                    json!({"name": "data", "persistentVolumeClaim": {"claimName": format!("data-{name}-0")}}),
                ],
                service_account: "default".into(),
                ..T::default()
            };
            let (meta, uid) = self.meta(ns, &name, Self::labels(&t));
            let template = self.template(&t);
            let rev = format!("{name}-{}", self.hex(10));
            self.out.statefulsets.push(json!({
                "apiVersion": "apps/v1", "kind": "StatefulSet", "metadata": meta,
                "spec": {"replicas": replicas, "serviceName": name, "podManagementPolicy": "OrderedReady",
                         "selector": {"matchLabels": Self::labels(&t)}, "template": template,
                         "volumeClaimTemplates": [{"metadata": {"name": "data"}, "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "20Gi"}}, "storageClassName": "gp3"}}],
                         "updateStrategy": {"type": "RollingUpdate", "rollingUpdate": {"partition": 0}}},
                "status": {"replicas": replicas, "readyReplicas": replicas, "currentReplicas": replicas, "updatedReplicas": replicas,
                           "currentRevision": rev, "updateRevision": rev, "observedGeneration": 1, "availableReplicas": replicas},
            }));
            let owner = Owner { api_version: "apps/v1", kind: "StatefulSet", name: name.clone(), uid };
            for i in 0..replicas {
                *budget -= 1;
                let node = (!workers.is_empty()).then(|| &nodes[workers[self.below(workers.len())]]);
                let pod_name = format!("{name}-{i}");
                let extra = [
                    ("controller-revision-hash", rev.clone()),
                    ("statefulset.kubernetes.io/pod-name", pod_name.clone()),
                ];
                self.pod(ns, &pod_name, &t, Some(&owner), node, &extra, json!({}), false);
                made += 1;
            }
            k += 1;
        }
    }

    fn deployments(&mut self, nodes: &[NodeInfo], workers: &[usize], budget: &mut usize) {
        let namespaces: Vec<String> = {
            let extra = (*budget / 400).saturating_sub(TEAM_NAMESPACES.len());
            TEAM_NAMESPACES.iter().map(|s| s.to_string()).chain((0..extra).map(|i| format!("team-{i:03}"))).collect()
        };
        let mut k = 0usize;
        while *budget > 0 {
            let ns = namespaces[k % namespaces.len()].clone();
            let archetype = self.below(10);
            let t = self.app_template(&ns, k, archetype);
            let name = t.labels[0].1.clone();
            let replicas = (1 + self.below(6)).min(*budget);
            let (mut meta, uid) = self.meta(&ns, &name, Self::labels(&t));
            meta["annotations"] = json!({"deployment.kubernetes.io/revision": "4", "meta.helm.sh/release-name": name, "meta.helm.sh/release-namespace": ns});
            meta["labels"]["app.kubernetes.io/managed-by"] = json!("Helm");
            let template = self.template(&t);
            self.out.deployments.push(json!({
                "apiVersion": "apps/v1", "kind": "Deployment", "metadata": meta,
                "spec": {"replicas": replicas, "selector": {"matchLabels": Self::labels(&t)}, "template": template.clone(),
                         "strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": "25%", "maxSurge": "25%"}},
                         "revisionHistoryLimit": 10, "progressDeadlineSeconds": 600},
                "status": {"observedGeneration": 4, "replicas": replicas, "updatedReplicas": replicas, "readyReplicas": replicas,
                           "availableReplicas": replicas, "conditions": [
                               {"type": "Available", "status": "True", "reason": "MinimumReplicasAvailable", "message": "Deployment has minimum availability.", "lastUpdateTime": "2023-11-10T10:00:00Z", "lastTransitionTime": "2023-11-10T10:00:00Z"},
                               {"type": "Progressing", "status": "True", "reason": "NewReplicaSetAvailable", "message": format!("ReplicaSet \"{name}\" has successfully progressed."), "lastUpdateTime": "2023-11-10T10:00:00Z", "lastTransitionTime": "2023-11-10T10:00:00Z"}]},
            }));
            let dep_owner = Owner { api_version: "apps/v1", kind: "Deployment", name: name.clone(), uid };
            // Old ReplicaSets scaled to zero, then the current one.
            let old = self.below(3);
            let mut current = None;
            for r in 0..=old {
                let hash = self.suffix(10);
                let rs_name = format!("{name}-{hash}");
                let live = r == old;
                let n = if live { replicas } else { 0 };
                let mut labels = Self::labels(&t);
                labels["pod-template-hash"] = json!(hash);
                let (mut rs_meta, rs_uid) = self.meta(&ns, &rs_name, labels);
                rs_meta["ownerReferences"] = json!([{"apiVersion": "apps/v1", "kind": "Deployment", "name": dep_owner.name,
                    "uid": dep_owner.uid, "controller": true, "blockOwnerDeletion": true}]);
                rs_meta["annotations"] = json!({"deployment.kubernetes.io/desired-replicas": replicas.to_string(),
                    "deployment.kubernetes.io/max-replicas": (replicas + 1).to_string(), "deployment.kubernetes.io/revision": (r + 1).to_string()});
                let mut tpl = template.clone();
                tpl["metadata"]["labels"]["pod-template-hash"] = json!(hash);
                self.out.replicasets.push(json!({
                    "apiVersion": "apps/v1", "kind": "ReplicaSet", "metadata": rs_meta,
                    "spec": {"replicas": n, "selector": {"matchLabels": Self::labels(&t)}, "template": tpl},
                    "status": {"replicas": n, "fullyLabeledReplicas": n, "readyReplicas": n, "availableReplicas": n, "observedGeneration": 1},
                }));
                if live {
                    current = Some((rs_name, rs_uid, hash));
                }
            }
            if let Some((rs_name, rs_uid, hash)) = current {
                let owner = Owner { api_version: "apps/v1", kind: "ReplicaSet", name: rs_name.clone(), uid: rs_uid };
                for _ in 0..replicas {
                    *budget -= 1;
                    let node = (!workers.is_empty()).then(|| &nodes[workers[self.below(workers.len())]]);
                    let pod_name = format!("{rs_name}-{}", self.suffix(5));
                    self.pod(
                        &ns,
                        &pod_name,
                        &t,
                        Some(&owner),
                        node,
                        &[("pod-template-hash", hash.clone())],
                        json!({}),
                        false,
                    );
                }
            }
            k += 1;
        }
    }

    /// An application pod template: web frontends, JVM and Go APIs, Python workers, a CI agent
    /// with a Docker-in-Docker sidecar.
    fn app_template(&mut self, ns: &str, k: usize, archetype: usize) -> T {
        let env = |k: &str, v: String| json!({"name": k, "value": v});
        let version = format!("{}.{}.{}", 1 + self.below(4), self.below(20), self.below(30));
        let (app, c, extra) = match archetype {
            0 | 1 => (
                "frontend",
                C {
                    name: "nginx".into(),
                    image: "docker.io/library/nginx:1.23.4".into(),
                    ports: vec![(80, "http")],
                    mounts: vec![
                        json!({"name": "nginx-conf", "mountPath": "/etc/nginx/conf.d", "readOnly": true}),
                        json!({"name": "cache", "mountPath": "/var/cache/nginx"}),
                    ],
                    probe_port: Some(80),
                    cpu: ("100m", "500m"),
                    mem: ("64Mi", "256Mi"),
                    ..C::default()
                },
                vec![
                    json!({"name": "nginx-conf", "configMap": {"name": format!("frontend-{k}-nginx"), "defaultMode": 420}}),
                    json!({"name": "cache", "emptyDir": {}}),
                ],
            ),
            2..=4 => (
                "api",
                C {
                    name: "app".into(),
                    image: format!("registry.example.com/{ns}/api:{version}"),
                    ports: vec![(8080, "http"), (9090, "metrics")],
                    env: vec![
                        env("SPRING_PROFILES_ACTIVE", "production".into()),
                        env("JAVA_OPTS", "-XX:MaxRAMPercentage=75 -XX:+UseG1GC".into()),
                        env("DB_HOST", format!("postgres-{ns}.{ns}.svc.cluster.local")),
                        env("LOG_LEVEL", "INFO".into()),
                        json!({"name": "DB_PASSWORD", "valueFrom": {"secretKeyRef": {"name": format!("api-{k}-db"), "key": "password"}}}),
                    ],
                    mounts: vec![
                        json!({"name": "config", "mountPath": "/config", "readOnly": true}),
                        json!({"name": "tmp", "mountPath": "/tmp"}),
                    ],
                    probe_port: Some(8080),
                    cpu: ("250m", "2"),
                    mem: ("512Mi", "1Gi"),
                    ..C::default()
                },
                vec![
                    json!({"name": "config", "configMap": {"name": format!("api-{k}-config"), "defaultMode": 420}}),
                    json!({"name": "tmp", "emptyDir": {}}),
                ],
            ),
            5 | 6 => (
                "gateway",
                C {
                    name: "gateway".into(),
                    image: format!("registry.example.com/{ns}/gateway:v{version}"),
                    ports: vec![(8443, "https"), (9102, "metrics")],
                    args: Some(vec![
                        "--listen=:8443".into(),
                        "--upstream-timeout=30s".into(),
                        "--log-format=json".into(),
                    ]),
                    env: vec![
                        env("GOMAXPROCS", "2".into()),
                        env("OTEL_EXPORTER_OTLP_ENDPOINT", "http://otel-collector.monitoring:4317".into()),
                    ],
                    probe_port: Some(9102),
                    cpu: ("200m", "1"),
                    mem: ("128Mi", "256Mi"),
                    ..C::default()
                },
                vec![],
            ),
            7 | 8 => (
                "worker",
                C {
                    name: "worker".into(),
                    image: format!("registry.example.com/{ns}/worker:{version}"),
                    command: Some(vec![
                        "celery".into(),
                        "-A".into(),
                        "tasks".into(),
                        "worker".into(),
                        "--concurrency=4".into(),
                    ]),
                    env: vec![
                        env("BROKER_URL", format!("redis://redis-{ns}:6379/0")),
                        env("PYTHONUNBUFFERED", "1".into()),
                        json!({"name": "SENTRY_DSN", "valueFrom": {"secretKeyRef": {"name": "sentry", "key": "dsn"}}}),
                    ],
                    cpu: ("100m", "1"),
                    mem: ("256Mi", "1Gi"),
                    ..C::default()
                },
                vec![],
            ),
            _ => (
                "ci-agent",
                C {
                    name: "jnlp".into(),
                    image: "docker.io/jenkins/inbound-agent:4.13.3-1".into(),
                    env: vec![
                        env("DOCKER_HOST", "tcp://localhost:2375".into()),
                        env("JENKINS_URL", "http://jenkins.ci:8080".into()),
                    ],
                    mounts: vec![json!({"name": "workspace", "mountPath": "/home/jenkins/agent"})],
                    cpu: ("500m", "2"),
                    mem: ("1Gi", "4Gi"),
                    ..C::default()
                },
                vec![json!({"name": "workspace", "emptyDir": {}}), json!({"name": "dind-storage", "emptyDir": {}})],
            ),
        };
        let name = format!("{app}-{k}");
        let mut containers = vec![c];
        if archetype == 9 {
            containers.push(C {
                name: "dind".into(),
                image: "docker.io/library/docker:20.10.21-dind".into(),
                env: vec![json!({"name": "DOCKER_TLS_CERTDIR", "value": ""})],
                mounts: vec![json!({"name": "dind-storage", "mountPath": "/var/lib/docker"})],
                privileged: true,
                cpu: ("500m", "2"),
                mem: ("1Gi", "4Gi"),
                ..C::default()
            });
        }
        if archetype == 3 {
            containers.push(C {
                name: "envoy".into(),
                image: "docker.io/envoyproxy/envoy:v1.24.1".into(),
                ports: vec![(15001, "proxy")],
                args: Some(vec!["-c".into(), "/etc/envoy/envoy.yaml".into(), "--log-level".into(), "warn".into()]),
                cpu: ("50m", "250m"),
                mem: ("64Mi", "128Mi"),
                ..C::default()
            });
        }
        T {
            labels: vec![
                ("app.kubernetes.io/name".into(), name),
                ("app.kubernetes.io/part-of".into(), ns.to_string()),
                ("app.kubernetes.io/version".into(), version),
            ],
            containers,
            volumes: extra,
            service_account: if archetype == 9 { "jenkins-agent".into() } else { "default".into() },
            ..T::default()
        }
    }

    fn configmaps(&mut self) {
        let mut cms: Vec<(String, String, Value)> = vec![
            ("kube-system".into(), "kubeadm-config".into(), json!({"ClusterConfiguration": KUBEADM_CONFIG})),
            ("kube-system".into(), "kubelet-config-1.23".into(), json!({"kubelet": KUBELET_CONFIG})),
            (
                "kube-system".into(),
                "kube-proxy".into(),
                json!({"config.conf": "apiVersion: kubeproxy.config.k8s.io/v1alpha1\nkind: KubeProxyConfiguration\nmode: iptables\nclusterCIDR: 10.244.0.0/16\n"}),
            ),
            (
                "kube-system".into(),
                "coredns".into(),
                json!({"Corefile": ".:53 {\n    errors\n    health\n    kubernetes cluster.local in-addr.arpa ip6.arpa\n    forward . /etc/resolv.conf\n    cache 30\n}\n"}),
            ),
            (
                "logging".into(),
                "fluent-bit-config".into(),
                json!({"fluent-bit.conf": FLUENT_BIT_CONF, "parsers.conf": FLUENT_BIT_PARSERS}),
            ),
            (
                "monitoring".into(),
                "prometheus-container-rules".into(),
                json!({"container.rules.yaml": PROMETHEUS_RULES}),
            ),
            ("monitoring".into(), "grafana-dashboard-nodes".into(), json!({"nodes.json": GRAFANA_DASHBOARD})),
        ];
        let mut namespaces: Vec<&str> =
            vec!["default", "kube-system", "logging", "monitoring", "datadog", "ci", "legacy"];
        namespaces.extend(TEAM_NAMESPACES);
        for ns in namespaces {
            cms.push((ns.into(), "kube-root-ca.crt".into(), json!({"ca.crt": "-----BEGIN CERTIFICATE-----\nMIIC5zCCAc+gAwIBAgIBADANBgkqhkiG9w0BAQsFADAVMRMwEQYDVQQDEwprdWJl\n-----END CERTIFICATE-----\n"})));
        }
        for ns in TEAM_NAMESPACES {
            cms.push((ns.into(), format!("{ns}-app-config"), json!({"application.yaml": "server:\n  port: 8080\nmanagement:\n  endpoints:\n    web:\n      exposure:\n        include: health,prometheus\n"})));
        }
        for (ns, name, data) in cms {
            let (meta, _) = self.meta(&ns, &name, json!({}));
            self.out.configmaps.push(json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": meta, "data": data}));
        }
    }
}

/// An object from fields, moved in (`json!` would copy each interpolated `Value`).
fn obj(fields: Vec<(&str, Value)>) -> Value {
    let mut m = serde_json::Map::with_capacity(fields.len());
    for (k, v) in fields {
        m.insert(k.to_string(), v);
    }
    Value::Object(m)
}

fn configz(n: &NodeInfo) -> Value {
    let mut gates = json!({"CSIMigration": true});
    if n.docker {
        gates["DynamicKubeletConfig"] = json!(true);
    }
    json!({"kubeletconfig": {
        "enableServer": true, "staticPodPath": "/etc/kubernetes/manifests", "syncFrequency": "1m0s",
        "fileCheckFrequency": "20s", "httpCheckFrequency": "20s", "address": "0.0.0.0", "port": 10250,
        "tlsCertFile": "/var/lib/kubelet/pki/kubelet.crt", "tlsPrivateKeyFile": "/var/lib/kubelet/pki/kubelet.key",
        "rotateCertificates": true,
        "authentication": {"x509": {"clientCAFile": "/etc/kubernetes/pki/ca.crt"}, "webhook": {"enabled": true, "cacheTTL": "2m0s"}, "anonymous": {"enabled": false}},
        "authorization": {"mode": "Webhook", "webhook": {"cacheAuthorizedTTL": "5m0s", "cacheUnauthorizedTTL": "30s"}},
        "clusterDomain": "cluster.local", "clusterDNS": ["10.96.0.10"],
        "cgroupDriver": if n.docker { "cgroupfs" } else { "systemd" },
        "featureGates": gates,
        "containerLogMaxSize": "10Mi", "containerLogMaxFiles": 5,
        "evictionHard": {"imagefs.available": "15%", "memory.available": "100Mi", "nodefs.available": "10%", "nodefs.inodesFree": "5%"},
        "maxPods": 110, "podPidsLimit": -1, "serializeImagePulls": true,
        "logging": {"format": "text"}, "shutdownGracePeriod": "0s", "shutdownGracePeriodCriticalPods": "0s",
    }})
}

const KUBEADM_CONFIG: &str = "apiServer:\n  extraArgs:\n    authorization-mode: Node,RBAC\n    feature-gates: TTLAfterFinished=true\n  timeoutForControlPlane: 4m0s\napiVersion: kubeadm.k8s.io/v1beta3\ncertificatesDir: /etc/kubernetes/pki\nclusterName: kubernetes\ncontrollerManager:\n  extraArgs:\n    feature-gates: TTLAfterFinished=true\ndns: {}\netcd:\n  local:\n    dataDir: /var/lib/etcd\nimageRepository: registry.k8s.io\nkind: ClusterConfiguration\nkubernetesVersion: v1.23.17\nnetworking:\n  dnsDomain: cluster.local\n  podSubnet: 10.244.0.0/16\n  serviceSubnet: 10.96.0.0/12\nscheduler: {}\n";

const KUBELET_CONFIG: &str = "apiVersion: kubelet.config.k8s.io/v1beta1\nauthentication:\n  anonymous:\n    enabled: false\n  webhook:\n    cacheTTL: 0s\n    enabled: true\n  x509:\n    clientCAFile: /etc/kubernetes/pki/ca.crt\nauthorization:\n  mode: Webhook\ncgroupDriver: systemd\nclusterDNS:\n- 10.96.0.10\nclusterDomain: cluster.local\nfeatureGates:\n  DynamicKubeletConfig: true\nkind: KubeletConfiguration\nrotateCertificates: true\nstaticPodPath: /etc/kubernetes/manifests\n";

const FLUENT_BIT_CONF: &str = "[SERVICE]\n    Flush         1\n    Log_Level     info\n    Parsers_File  parsers.conf\n    HTTP_Server   On\n    HTTP_Port     2020\n\n[INPUT]\n    Name              tail\n    Tag               kube.*\n    Path              /var/log/containers/*.log\n    Parser            docker\n    DB                /var/log/flb_kube.db\n    Mem_Buf_Limit     5MB\n    Refresh_Interval  10\n\n[FILTER]\n    Name                kubernetes\n    Match               kube.*\n    Merge_Log           On\n\n[OUTPUT]\n    Name            es\n    Match           *\n    Host            elasticsearch.logging\n    Port            9200\n";

const FLUENT_BIT_PARSERS: &str = "[PARSER]\n    Name        docker\n    Format      json\n    Time_Key    time\n    Time_Format %Y-%m-%dT%H:%M:%S.%L\n    Time_Keep   On\n";

const PROMETHEUS_RULES: &str = "groups:\n- name: container.rules\n  rules:\n  - alert: ContainerFilesystemAlmostFull\n    expr: container_fs_usage_bytes{container!=\"\"} / container_fs_limit_bytes > 0.9\n    for: 10m\n  - alert: ContainerInodesLow\n    expr: container_fs_inodes_free / container_fs_inodes_total < 0.1\n    for: 10m\n  - alert: DockerOperationErrors\n    expr: rate(kubelet_docker_operations_errors_total[5m]) > 0\n    for: 15m\n";

const GRAFANA_DASHBOARD: &str = "{\"title\": \"Nodes\", \"panels\": [{\"title\": \"Container FS usage\", \"targets\": [{\"expr\": \"sum(container_fs_usage_bytes) by (instance)\"}]}, {\"title\": \"Docker operations\", \"targets\": [{\"expr\": \"rate(kubelet_docker_operations_total[5m])\"}]}]}";
