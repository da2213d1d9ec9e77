//! cloud-init user data, the first thing a node runs: `#cloud-config` YAML (`write_files` entries
//! are analysed as the files they write, `runcmd` and `bootcmd` as shell), MIME multipart user data
//! (each part by its content type) and plain shell user data. Place in the pipeline: an analyser
//! of one text; the bodies go through [`super::embedded`], so a kubelet unit written by
//! `write_files` is checked as a unit at the lines of the user-data file.
//!
//! `write_files` content encoded as base64 and/or gzip (`b64`, `gz+b64`, `gzip`, ...) is decoded and
//! inflated up to [`embedded::MAX_DECODED`] bytes (a bomb is cut there and the cut listed), its
//! findings pointing at the `content:` line; content that does not decode is a gap.

use serde_json::Value as Json;

use super::embedded::{self, Body};
use super::source::Source;
use super::text::{has_template_syntax, mask_template};
use crate::evidence::context::Context;
use crate::evidence::file_kind::FileKind;
use crate::evidence::{Evidence, Gap};
use crate::parse::yaml::{self, YamlDoc};

/// Most MIME parts read from one user-data text.
const MAX_PARTS: usize = 64;

/// Analyses one user-data text.
pub fn analyze(src: &Source<'_>, out: &mut Evidence) {
    let head = src.text.trim_start();
    if let Some(boundary) = multipart_boundary(src.text) {
        multipart(src, &boundary, out);
    } else if head.starts_with("#!") {
        let body = Body { text: src.text, target: None, line_offset: 0, how: "user data" };
        embedded::analyze_as(src, &body, Some(FileKind::Shell), out);
    } else {
        cloud_config(src, out);
    }
}

/// The `boundary=` of a multipart user data's headers (before the first blank line).
fn multipart_boundary(text: &str) -> Option<String> {
    let headers: Vec<&str> = text.lines().take_while(|l| !l.trim().is_empty()).take(32).collect();
    let ct = headers.iter().find(|l| l.to_ascii_lowercase().starts_with("content-type:"))?;
    if !ct.to_ascii_lowercase().contains("multipart/") {
        return None;
    }
    let b = ct.split("boundary=").nth(1)?.trim().trim_end_matches(';');
    let b = b.trim_matches('"').split(';').next().unwrap_or("").trim_matches('"');
    (!b.is_empty()).then(|| b.to_string())
}

/// Each part of a MIME multipart user data: shell scripts and boothooks as shell, cloud-config
/// as cloud-config; base64 parts decoded (findings at the part's first line).
fn multipart(src: &Source<'_>, boundary: &str, out: &mut Evidence) {
    let delim = format!("--{boundary}");
    let lines: Vec<&str> = src.text.lines().collect();
    let starts: Vec<usize> = lines.iter().enumerate().filter(|(_, l)| l.trim_end() == delim).map(|(i, _)| i).collect();
    for (k, &start) in starts.iter().enumerate().take(MAX_PARTS) {
        let end = starts
            .get(k + 1)
            .copied()
            .unwrap_or_else(|| lines.iter().position(|l| l.trim_end() == format!("{delim}--")).unwrap_or(lines.len()));
        let end = end.max(start + 1);
        // Headers up to the first blank line, then the body.
        let mut i = start + 1;
        let mut content_type = String::new();
        let mut base64 = false;
        while i < end && !lines[i].trim().is_empty() {
            let l = lines[i].to_ascii_lowercase();
            if let Some(v) = l.strip_prefix("content-type:") {
                content_type = v.trim().to_string();
            }
            if l.starts_with("content-transfer-encoding:") && l.contains("base64") {
                base64 = true;
            }
            i += 1;
        }
        let body_first = (i + 1).min(end);
        let body = lines[body_first..end].join("\n");
        let kind = if content_type.contains("cloud-config") {
            Some(FileKind::CloudInit)
        } else if content_type.contains("shellscript") || content_type.contains("boothook") {
            Some(FileKind::Shell)
        } else {
            None
        };
        let how = format!("the MIME part at line {}", start + 1 + src.line_offset as usize);
        if base64 {
            let Some(decoded) = embedded::decode_base64(&body).and_then(|b| String::from_utf8(b).ok()) else {
                continue;
            };
            let mut sub = Evidence::default();
            let b = Body { text: &decoded, target: None, line_offset: 0, how: &how };
            embedded::analyze_as(src, &b, kind.or_else(|| crate::evidence::file_kind::sniff_body(&decoded)), &mut sub);
            for r in &mut sub.records {
                r.location = src.loc(start as u32 + 1, 1);
                r.snippet = src.line(start as u32 + 1).trim().to_string();
            }
            out.merge(sub);
        } else {
            let b = Body { text: &body, target: None, line_offset: body_first as u32, how: &how };
            embedded::analyze_as(src, &b, kind.or_else(|| crate::evidence::file_kind::sniff_body(&body)), out);
        }
    }
}

/// A `#cloud-config` document: `write_files`, `runcmd`, `bootcmd`.
fn cloud_config(src: &Source<'_>, out: &mut Evidence) {
    let docs = match yaml::parse_documents(src.text) {
        Ok(d) => d,
        // A template (`{{ }}`, `{% %}`, Terraform `%{ }` and `${}`) may parse once its syntax is
        // blanked; if not, the error worth reporting is the one left after blanking.
        Err(_) if has_template_syntax(src.path, src.text) => {
            match yaml::parse_documents(&mask_template(src.path, src.text)) {
                Ok(d) => d,
                Err(m) => {
                    let reason = format!("invalid YAML once its template syntax is blanked: {}", m.message);
                    out.gaps.push(src.gap(Some(m.line), reason));
                    return;
                }
            }
        }
        Err(e) => {
            out.gaps.push(src.gap(Some(e.line), format!("invalid YAML: {}", e.message)));
            return;
        }
    };
    for doc in &docs {
        packages(src, doc, out);
        write_files(src, doc, out);
        for key in ["bootcmd", "runcmd"] {
            for (i, item) in doc.value.get(key).and_then(Json::as_array).into_iter().flatten().enumerate() {
                let ptr = format!("/{key}/{i}");
                let how = format!("cloud-init {key}");
                match item {
                    Json::String(s) => {
                        let b = Body { text: s, target: None, line_offset: 0, how: &how };
                        embedded::analyze_scalar(src, doc, &ptr, b, Some(FileKind::Shell), out);
                    }
                    // An argv list: the words of one command.
                    Json::Array(words) => {
                        let line: Vec<String> = words.iter().filter_map(scalar).map(|w| shell_quote(&w)).collect();
                        let text = line.join(" ");
                        let b = Body { text: &text, target: None, line_offset: 0, how: &how };
                        embedded::analyze_scalar(src, doc, &ptr, b, Some(FileKind::Shell), out);
                    }
                    _ => {}
                }
            }
        }
    }
}

/// `packages:`: what cloud-init installs with the distribution's package manager, as one install
/// record (the same the Ansible and Salt package tasks give, so the install rule reads it). Items
/// are names, `[name, version]` pairs, or (cloud-init 23+) lists under a manager key
/// (`apt:`, `snap:`); the record sits at the first Docker or Moby package, else the first.
fn packages(src: &Source<'_>, doc: &YamlDoc, out: &mut Evidence) {
    let name_of = |item: &Json| match item {
        Json::String(s) => Some(s.trim().to_string()),
        Json::Array(pair) => pair.first().and_then(Json::as_str).map(|s| s.trim().to_string()),
        _ => None,
    };
    let mut found: Vec<(String, String)> = Vec::new();
    let mut add = |items: &[Json], ptr: &str| {
        for (i, item) in items.iter().enumerate() {
            if let Some(name) = name_of(item).filter(|n| !n.is_empty()) {
                found.push((name, format!("{ptr}/{i}")));
            }
        }
    };
    match doc.value.get("packages") {
        Some(Json::Array(items)) => add(items, "/packages"),
        Some(Json::Object(by_manager)) => {
            for (manager, items) in by_manager {
                if let Json::Array(items) = items {
                    add(items, &format!("/packages/{}", manager.replace('~', "~0").replace('/', "~1")));
                }
            }
        }
        _ => {}
    }
    if found.is_empty() {
        return;
    }
    let item = found.iter().position(|(n, _)| n.starts_with("docker") || n.starts_with("moby")).unwrap_or(0);
    let at = doc.pos(&found[item].1);
    let names: Vec<String> = found.into_iter().map(|(n, _)| n).collect();
    let context = src.context.unwrap_or(Context::Node);
    let r = super::packages::install_record(
        src,
        (at.line, at.column),
        ("package", "cloud-init packages"),
        &names,
        "cloud-init packages",
        context,
    );
    out.records.push(r);
}

fn write_files(src: &Source<'_>, doc: &YamlDoc, out: &mut Evidence) {
    for (i, entry) in doc.value.get("write_files").and_then(Json::as_array).into_iter().flatten().enumerate() {
        let Some(path) = entry.get("path").and_then(Json::as_str) else { continue };
        let Some(content) = entry.get("content").and_then(Json::as_str) else { continue };
        let encoding = entry.get("encoding").and_then(Json::as_str).unwrap_or("").to_ascii_lowercase();
        let ptr = format!("/write_files/{i}/content");
        let how = "cloud-init write_files";
        match encoding.as_str() {
            "" | "text/plain" => {
                let b = Body { text: content, target: Some(path), line_offset: 0, how };
                embedded::analyze_scalar(src, doc, &ptr, b, None, out);
            }
            "b64" | "base64" | "gz" | "gzip" | "gz+b64" | "gzip+b64" | "gz+base64" | "gzip+base64" => {
                let p = doc.span(&ptr).map(|s| s.value).unwrap_or_else(|| doc.pos(&ptr));
                let at = format!("{}:{}", src.path, p.line + src.line_offset);
                let text = match decode(content, &encoding) {
                    Ok((text, over)) => {
                        if over {
                            out.count("embedded_truncated", 1);
                            out.skipped.push(Gap {
                                source: at,
                                reason: format!(
                                    "write_files content for {path} inflates past {} MiB: only the first {} MiB read",
                                    embedded::MAX_DECODED >> 20,
                                    embedded::MAX_DECODED >> 20
                                ),
                                ..Gap::default()
                            });
                        }
                        text
                    }
                    Err(why) => {
                        out.gaps.push(Gap {
                            source: at,
                            reason: format!("write_files content for {path} ({encoding}): {why}"),
                            ..Gap::default()
                        });
                        continue;
                    }
                };
                // A decoded text has no lines in the file: a plain scalar's mapping (to the value).
                let mut sub = Evidence::default();
                let how = format!("cloud-init write_files ({encoding})");
                let b = Body { text: &text, target: Some(path), line_offset: 0, how: &how };
                embedded::analyze_as(src, &b, crate::evidence::file_kind::classify_body(b.target, b.text), &mut sub);
                for r in &mut sub.records {
                    r.location = src.loc(p.line, p.column);
                    r.snippet = src.line(p.line).trim().to_string();
                }
                out.merge(sub);
            }
            _ => {
                let p = doc.pos(&ptr);
                out.count("files_skipped_unknown_encoding", 1);
                out.skipped.push(Gap {
                    source: format!("{}:{}", src.path, p.line + src.line_offset),
                    reason: format!("write_files content for {path} has encoding {encoding}, which cloud-init does not know; not read"),
                    ..Gap::default()
                });
            }
        }
    }
}

/// The text of an encoded `write_files` content: base64 decoded, then inflated for the gzip
/// encodings (a `gz`/`gzip` content in YAML is base64 too: a `!!binary` scalar), up to
/// [`embedded::MAX_DECODED`] bytes (`true`: cut there). Text that is not UTF-8 is read lossily.
fn decode(content: &str, encoding: &str) -> Result<(String, bool), String> {
    let bytes = embedded::decode_base64(content).ok_or("not valid base64")?;
    let (bytes, over) = if encoding.starts_with("gz") {
        embedded::gunzip(&bytes, embedded::MAX_DECODED)?
    } else {
        let over = bytes.len() > embedded::MAX_DECODED;
        (bytes.into_iter().take(embedded::MAX_DECODED).collect(), over)
    };
    let mut text = String::from_utf8_lossy(&bytes).into_owned();
    if over {
        // Up to the last whole line.
        text.truncate(text.rfind('\n').map_or(0, |i| i + 1));
    }
    Ok((text, over))
}

fn scalar(v: &Json) -> Option<String> {
    match v {
        Json::String(s) => Some(s.clone()),
        Json::Number(n) => Some(n.to_string()),
        Json::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

/// A word as the shell would read it back.
fn shell_quote(w: &str) -> String {
    if !w.is_empty() && w.chars().all(|c| c.is_ascii_alphanumeric() || "-_./=:,@%+".contains(c)) {
        w.to_string()
    } else {
        format!("'{}'", w.replace('\'', "'\\''"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::evidence::Subject;
    use crate::parse::testutil::for_each_generated_text;

    fn run(text: &str) -> Evidence {
        let mut out = Evidence::default();
        analyze(&Source::file("infra/user-data.yaml", FileKind::CloudInit, text), &mut out);
        out
    }

    fn rows(ev: &Evidence) -> Vec<String> {
        ev.records
            .iter()
            .map(|r| {
                let what = match r.subject {
                    Subject::Command => r.str("text").to_string(),
                    Subject::KubeletFlag => format!("{}={}", r.str("name"), r.str("value")),
                    _ => format!("{}={}", r.str("key"), r.str("value")),
                };
                format!("{} {} {} {what}", r.location.line.unwrap_or(0), r.str("file_kind"), r.subject.name())
            })
            .collect()
    }

    #[test]
    fn write_files_runcmd_and_bootcmd() {
        // See: issue 12 (cloud-init user data).
        let text = "#cloud-config\npackage_update: true\nwrite_files:\n  - path: /etc/systemd/system/kubelet.service.d/20-runtime.conf\n    permissions: '0644'\n    content: |\n      [Service]\n      Environment=\"KUBELET_EXTRA_ARGS=--container-runtime=docker\"\n  - path: /etc/docker/daemon.json\n    encoding: b64\n    content: eyJsb2ctZHJpdmVyIjogImpzb24tZmlsZSJ9\n  - path: /etc/motd\n    content: docker ps\n  - path: /opt/x.gz\n    encoding: gzip\n    content: H4sI\n  - path: /etc/systemd/system/kubelet.service.d/10-docker.conf\n    encoding: gz+b64\n    content: H4sIAAAAAAACA4sOzcssieUKSi0szSxKLbZNyU/OTi3SK04tKstMTuUCAMX8buYfAAAA\n  - path: /etc/x\n    encoding: zstd\n    content: KLUv\nbootcmd:\n  - [ sh, -c, 'docker info > /tmp/docker-info' ]\nruncmd:\n  - systemctl enable --now docker\n  - |\n    kubeadm join 10.0.0.1:6443 --cri-socket /var/run/dockershim.sock\n";
        let ev = run(text);
        assert_eq!(
            rows(&ev),
            [
                "8 systemd-unit kubelet-flag --container-runtime=docker",
                "11 docker-daemon-json setting log-driver=json-file",
                "19 systemd-unit setting unit.Requires=docker.service",
                "24 shell command docker info > /tmp/docker-info",
                "26 shell command systemctl enable --now docker",
                "28 shell command kubeadm join 10.0.0.1:6443 --cri-socket /var/run/dockershim.sock",
                "28 shell setting cri-socket=/var/run/dockershim.sock",
            ]
        );
        assert_eq!(
            ev.records[0].str("provenance"),
            "written to /etc/systemd/system/kubelet.service.d/20-runtime.conf by cloud-init write_files"
        );
        assert_eq!(
            ev.records[2].str("provenance"),
            "written to /etc/systemd/system/kubelet.service.d/10-docker.conf by cloud-init write_files (gz+b64)"
        );
        // The cut gzip body is a gap naming its line; an encoding cloud-init does not know is skipped.
        assert_eq!(ev.gaps.len(), 1, "{:?}", ev.gaps);
        assert_eq!(ev.gaps[0].source, "infra/user-data.yaml:16");
        assert!(ev.gaps[0].reason.contains("not valid gzip"), "{}", ev.gaps[0].reason);
        assert_eq!(ev.skipped.len(), 1);
        assert!(ev.skipped[0].reason.contains("zstd"));
    }

    #[test]
    fn a_gzip_bomb_is_read_up_to_the_cap_and_the_cut_listed() {
        use base64::Engine as _;
        use std::io::Write as _;
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
        gz.write_all(b"#!/bin/sh\ndocker pull registry.k8s.io/pause:3.9\n").unwrap();
        for _ in 0..(embedded::MAX_DECODED / 4 + 1000) {
            gz.write_all(b"# x\n").unwrap();
        }
        gz.write_all(b"docker ps\n").unwrap();
        let b64 = base64::engine::general_purpose::STANDARD.encode(gz.finish().unwrap());
        assert!(b64.len() < 64 * 1024, "{}", b64.len());
        let text = format!(
            "#cloud-config\nwrite_files:\n  - path: /usr/local/bin/prepull\n    encoding: gzip+base64\n    content: {b64}\n"
        );
        let ev = run(&text);
        assert_eq!(rows(&ev), ["5 shell command docker pull registry.k8s.io/pause:3.9"]);
        assert!(ev.gaps.is_empty());
        assert_eq!(ev.skipped.len(), 1);
        assert!(ev.skipped[0].reason.contains("inflates past 4 MiB"), "{}", ev.skipped[0].reason);
        assert_eq!(ev.counts.get("embedded_truncated"), Some(&1));
    }

    #[test]
    fn multipart_user_data() {
        let text = "MIME-Version: 1.0\nContent-Type: multipart/mixed; boundary=\"==BOUNDARY==\"\n\n--==BOUNDARY==\nContent-Type: text/cloud-config; charset=\"us-ascii\"\n\n#cloud-config\nruncmd:\n  - docker system prune -af\n\n--==BOUNDARY==\nContent-Type: text/x-shellscript; charset=\"us-ascii\"\n\n#!/bin/bash\n/etc/eks/bootstrap.sh prod --kubelet-extra-args '--network-plugin=cni'\nsystemctl restart docker\n--==BOUNDARY==--\n";
        let ev = run(text);
        assert_eq!(rows(&ev), ["9 shell command docker system prune -af", "16 shell command systemctl restart docker"]);
    }

    #[test]
    fn templated_cloud_config_is_read_with_actions_blanked() {
        let text = "#cloud-config\nwrite_files:\n%{ for f in files ~}\n  - path: ${f.path}\n    content: ${f.body}\n%{ endfor ~}\n  - path: /etc/default/kubelet\n    content: |\n      KUBELET_EXTRA_ARGS={{ extra }} --network-plugin=cni\n";
        let ev = run(text);
        assert_eq!(rows(&ev), ["9 kubelet-env kubelet-flag --network-plugin=cni"]);
        let ev = run("#cloud-config\nwrite_files: [\n");
        assert_eq!(ev.gaps.len(), 1);
    }

    #[test]
    fn generated_inputs_do_not_panic() {
        const PIECES: &[&str] = &[
            "#cloud-config\n",
            "write_files:\n",
            "  - path: /etc/default/kubelet\n",
            "    content: |\n",
            "    encoding: b64\n",
            "      KUBELET_EXTRA_ARGS=--network-plugin=cni\n",
            "runcmd:\n",
            "  - docker ps\n",
            "  - [sh, -c, x]\n",
            "Content-Type: multipart/mixed; boundary=B\n",
            "--B\n",
            "--B--\n",
            "Content-Type: text/x-shellscript\n",
            "Content-Transfer-Encoding: base64\n",
            "\n",
            "#!/bin/sh\n",
            "{{ x }}",
            "%{ if y }",
            "{% for %}",
            "ZG9ja2VyIHBz",
            "'",
            "\"",
            "é",
        ];
        for_each_generated_text(0xC10D_1417, 300, 30, PIECES, |text| {
            let _ = run(text);
        });
    }
}
