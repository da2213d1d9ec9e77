//! Templates rendered with their callers' values (issue 12) read only files of the scanned tree:
//! a `templatefile()` path that climbs out of it, or a link inside it pointing out, is listed as
//! skipped and nothing outside is read.

use dockershim_audit::report::json::JsonReport;

use crate::common::run_in_process;

fn scan(dir: &std::path::Path) -> JsonReport {
    let (_, out) = run_in_process(&["repo", dir.to_str().unwrap(), "--format", "json", "--target-version", "1.30"]);
    serde_json::from_str(&out).expect("json report")
}

#[test]
fn templates_outside_the_scanned_tree_are_not_read() {
    let t = tempfile::tempdir().unwrap();
    let outside = t.path().join("outside");
    std::fs::create_dir_all(&outside).unwrap();
    std::fs::write(
        outside.join("kubelet.service.tpl"),
        "[Service]\nExecStart=/usr/bin/kubelet --container-runtime=${runtime}\n",
    )
    .unwrap();
    let module = t.path().join("repo/infra");
    std::fs::create_dir_all(module.join("templates")).unwrap();
    std::fs::write(
        module.join("main.tf"),
        "locals {\n  climbs = templatefile(\"${path.module}/../../outside/kubelet.service.tpl\", { runtime = \"docker\" })\n  linked = templatefile(\"${path.module}/templates/kubelet.service.tpl\", { runtime = \"docker\" })\n}\n",
    )
    .unwrap();
    #[cfg(unix)]
    std::os::unix::fs::symlink(outside.join("kubelet.service.tpl"), module.join("templates/kubelet.service.tpl"))
        .unwrap();

    let report = scan(&t.path().join("repo"));
    assert!(
        report.findings.iter().all(|f| f.rule_id != "kubelet-container-runtime-docker"),
        "{:?}",
        report.findings.iter().map(|f| (&f.rule_id, &f.location)).collect::<Vec<_>>()
    );
    let skipped: Vec<String> = report
        .coverage
        .skipped
        .iter()
        .filter(|g| g.reason.contains("not a file of the scanned tree"))
        .map(|g| g.source.clone())
        .collect();
    let mut want = vec!["infra/main.tf:2".to_string()];
    if cfg!(unix) {
        want.push("infra/main.tf:3".to_string());
    }
    assert_eq!(skipped, want);
}

#[test]
fn a_destination_of_no_known_kind_leaves_the_template_its_own_kind() {
    let t = tempfile::tempdir().unwrap();
    let role = t.path().join("roles/kubelet");
    for d in ["tasks", "templates", "defaults"] {
        std::fs::create_dir_all(role.join(d)).unwrap();
    }
    std::fs::write(role.join("defaults/main.yml"), "kubelet_runtime: docker\n").unwrap();
    std::fs::write(
        role.join("tasks/main.yml"),
        "- name: unit, staged for the image build\n  template:\n    src: kubelet.service.j2\n    dest: /opt/staging/unit\n",
    )
    .unwrap();
    std::fs::write(
        role.join("templates/kubelet.service.j2"),
        "[Unit]\nAfter=network-online.target\n[Service]\nExecStart=/usr/bin/kubelet --container-runtime={{ kubelet_runtime }}\n",
    )
    .unwrap();
    let report = scan(t.path());
    let hits: Vec<(String, Option<u32>)> = report
        .findings
        .iter()
        .filter(|f| f.rule_id == "kubelet-container-runtime-docker")
        .map(|f| (f.location.path.clone().unwrap_or_default(), f.location.line))
        .collect();
    assert_eq!(hits, [("roles/kubelet/templates/kubelet.service.j2".to_string(), Some(4))]);
}
