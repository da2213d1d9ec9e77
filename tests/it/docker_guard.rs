//! Docker calls a script makes only where it found Docker (`if pgrep dockerd; then ...`): a node
//! log collector that also gathers `docker info` when Docker runs does not break without it. Those
//! calls are notes naming the test; the same calls unguarded, or after a test for Docker missing,
//! stay warnings (seen on a cloud provider's node log collector: ten warnings, none real).

use serde_json::Value;

use crate::common::run_in_process;

/// A node support script in the shape of the cloud providers' log collectors.
const COLLECTOR: &str = r#"#!/usr/bin/env bash
# Collects what support asks for from a worker node: kubelet, runtime and CNI state.
set -uo pipefail
COLLECT_DIR="/var/log/node-support/$(date +%Y%m%d%H%M%S)"
mkdir -p "${COLLECT_DIR}"/{kubelet,docker,containerd,cni}

get_containerd_info() {
  if systemctl is-active --quiet containerd; then
    timeout 75 crictl ps -a > "${COLLECT_DIR}"/containerd/crictl-ps.txt 2>&1
  fi
}

get_docker_info() {
  if [[ "$(pgrep -o dockerd)" -ne 0 ]]; then
    timeout 75 docker info > "${COLLECT_DIR}"/docker/docker-info.txt 2>&1
    timeout 75 docker ps --all --no-trunc > "${COLLECT_DIR}"/docker/docker-ps.txt 2>&1
  else
    echo "The Docker daemon is not running."
  fi
}

get_cni_info() {
  if command -v docker >/dev/null 2>&1; then
    docker container list | awk '/aws-node/{print $NF}' | xargs -n 1 docker container inspect > "${COLLECT_DIR}"/cni/env.txt
  fi
  cp -r /etc/cni/net.d "${COLLECT_DIR}"/cni/
}

cleanup() {
  # Frees disk before packing the archive.
  docker system prune -f
  if ! command -v docker >/dev/null 2>&1; then
    docker image prune -af
  fi
}

get_containerd_info
get_docker_info
get_cni_info
cleanup
tar -czf "${COLLECT_DIR}.tar.gz" -C "$(dirname "${COLLECT_DIR}")" "$(basename "${COLLECT_DIR}")"
"#;

#[test]
fn docker_calls_behind_a_test_that_found_docker_are_notes_naming_the_test() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("log-collector/linux/node-log-collector.sh");
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(&path, COLLECTOR).unwrap();
    let (_, out) = run_in_process(&["repo", dir.path().to_str().unwrap(), "--format", "json"]);
    let doc: Value = serde_json::from_str(&out).unwrap();
    let by_line: Vec<(u64, String, String)> = doc["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["ruleId"] == "docker-cli-in-script")
        .map(|f| {
            let line = f["location"]["line"].as_u64().unwrap();
            (line, f["severity"].as_str().unwrap().to_string(), f["message"].as_str().unwrap().to_string())
        })
        .collect();
    let severity =
        |line: u64| -> Vec<&str> { by_line.iter().filter(|(l, ..)| *l == line).map(|(_, s, _)| s.as_str()).collect() };
    // Guarded by `pgrep -o dockerd` (line 14) and `command -v docker` (line 23).
    assert_eq!(severity(15), ["note"], "{by_line:#?}");
    assert_eq!(severity(16), ["note"], "{by_line:#?}");
    assert_eq!(severity(24), ["note", "note"], "{by_line:#?}");
    let note = by_line.iter().find(|(l, ..)| *l == 15).unwrap();
    assert!(note.2.contains("only where Docker is present: the test on line 14"), "{}", note.2);
    // Unguarded, and behind a test for Docker missing: still warnings.
    assert_eq!(severity(31), ["warning"], "{by_line:#?}");
    assert_eq!(severity(33), ["warning"], "{by_line:#?}");
    // The containerd branch has no docker call at all.
    assert!(severity(9).is_empty());
}
