//! Credentials in scanned text, replaced before anything shows them.
//!
//! The commands an audit reports are the ones that log in to registries: `docker login -p SECRET`,
//! `curl -u user:pass`, `--token ...`, an `Authorization:` header, a URL with a password in it.
//! [`secrets`] replaces the value of every credential flag or header with `[redacted]` and keeps
//! the rest (the command, the flag, a `$VARIABLE` reference, which names no secret), so a finding
//! still says what runs and where. [`json`] does the same to every string of a JSON value.
//!
//! Applied in two places, each the single door of what it guards: the rule engine builds every
//! finding's message, remediation, snippet and related notes through [`secrets`] (so all six
//! formats, fingerprints and baselines see only redacted text), and the cluster object pruner
//! passes every object it keeps through [`json`] (so `snapshot.json`, and cluster evidence, never
//! hold them).
//!
//! Place in the pipeline: a leaf (layer 1).

use std::borrow::Cow;
use std::sync::LazyLock;

use regex::{Captures, Regex};

/// What a credential value is replaced with.
pub const MASK: &str = "[redacted]";

/// A value: quoted (with its quotes) or a run of non-blanks.
const VALUE: &str = r#"("[^"\n]*"|'[^'\n]*'|[^\s"'`]+)"#;

/// Long flags whose value is a credential (`--password X`, `--token=X`, `--client-secret X`).
static LONG_FLAG: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(&format!(
        r"(?i)(--?(?:[a-z0-9]+-)*(?:password|passwd|passphrase|pass|token|secret|api-?key|access-?key|secret-?key|credentials?))(=|[ \t]+){VALUE}"
    ))
    .expect("valid regex")
});

/// A login command (`docker login`, `podman login`, `helm registry login`, `oras login`, `crane
/// auth login`, `skopeo login`, `buildah login`, `nerdctl login`): its `-p` is a password.
static LOGIN_P: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(&format!(r"(?i)(\blogin\b[^\n;|&]*?[ \t]-p)(=|[ \t]*){VALUE}")).expect("valid regex"));

/// `-u user:pass`, `--user user:pass` (curl, wget): the part after the colon.
static USER_PASS: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r#"((?:^|[ \t])(?:-u|--user|--proxy-user)(?:=|[ \t]+)["']?[^\s:"']+:)([^\s"']+)"#).expect("valid regex")
});

/// `echo SECRET | docker login --password-stdin` (and `printf`): what is piped in.
static STDIN_ECHO: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)(\b(?:echo|printf)(?:[ \t]+-[neE]+)?[ \t]+)([^|\n]+?)([ \t]*\|[^|\n]*--password-stdin)")
        .expect("valid regex")
});

/// `... --password-stdin <<< SECRET`.
static STDIN_HERE: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(&format!(r"(?i)(--password-stdin[^\n<]*<<<[ \t]*){VALUE}")).expect("valid regex"));

/// `Authorization: Bearer X`, `Authorization: Basic X`, `Authorization: X` (any scheme).
static AUTH_HEADER: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r#"(?i)((?:proxy-)?authorization[ \t]*:[ \t]*(?:(?:bearer|basic|token|digest|negotiate)[ \t]+)?)([^\s"'`]+)"#,
    )
    .expect("valid regex")
});

/// `scheme://user:password@host`: the password; `scheme://TOKEN@host` with a token-like user.
static URL_USERINFO: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"(?i)(\b[a-z][a-z0-9+.-]*://)([^/\s@:]*)(:[^/\s@]*)?@").expect("valid regex"));

/// The last word of a secret-holding name (`REGISTRY_PASSWORD`, `http_passwd`, `api-key`).
const SECRET_NAME: &str = r"(?:[a-z0-9]+[_.-])*(?:password|passwd|passphrase|pass|token|secret|apikey|api_key|api-key|access_key|secret_key|credentials?)";

/// `PASSWORD=...`, `REGISTRY_TOKEN=...`, `export DOCKER_PASS=...`: assignments to secret-named
/// variables.
static ASSIGNMENT: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(&format!(r"(?i)(\b{SECRET_NAME}[ \t]*=[ \t]*){VALUE}")).expect("valid regex"));

/// A configuration line setting a secret-named key: `password: x` (YAML), `HTTP_Passwd x`
/// (fluent-bit), `token = "x"` (TOML), `"password": "x"` (JSON).
static CONFIG_KEY: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(&format!(r#"(?im)(^[ \t]*(?:-[ \t]+)?["']?{SECRET_NAME}["']?(?:[ \t]*[:=][ \t]*|[ \t]+)){VALUE}"#))
        .expect("valid regex")
});

/// `"password": "x"` inside a line of JSON.
static JSON_KEY: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(&format!(r#"(?i)("{SECRET_NAME}"[ \t]*:[ \t]*)("[^"\n]*")"#)).expect("valid regex"));

/// True for a value that names a secret rather than holding one: a shell or CI variable
/// (`$PASS`, `"${TOKEN}"`, `${{ secrets.X }}`), a command substitution or a file (`@file`).
/// Booleans and numbers (`--anonymous-auth=false`, `token_ttl = 3600`) hold no secret either.
fn is_reference(v: &str) -> bool {
    let v = v.trim_matches(|c| c == '"' || c == '\'');
    v.is_empty()
        || v.starts_with('$')
        || v.starts_with('@')
        || v.starts_with("{{")
        || v == MASK
        || ["true", "false", "yes", "no", "null", "~"].contains(&v.to_ascii_lowercase().as_str())
        || v.bytes().all(|b| b.is_ascii_digit())
}

/// Replaces group `value` of a match unless it is a reference.
fn mask(c: &Captures<'_>, keep: &[usize], value: usize) -> String {
    let v = c.get(value).map_or("", |m| m.as_str());
    let mut out: String = keep.iter().map(|i| c.get(*i).map_or("", |m| m.as_str())).collect();
    if is_reference(v) {
        out.push_str(v);
    } else {
        out.push_str(&masked(v));
    }
    out
}

/// [`MASK`], in the quotes the value had.
fn masked(v: &str) -> String {
    match v.chars().next() {
        Some(q @ ('"' | '\'')) if v.len() > 1 && v.ends_with(q) => format!("{q}{MASK}{q}"),
        _ => MASK.to_string(),
    }
}

/// Words without which no pattern below can match (ASCII case ignored): one pass over a string,
/// with no lowercased copy, decides that it holds nothing to redact. Every string of every cluster
/// object kept goes through [`json`], so this check is most of redaction's cost (issue 16).
static HINTS: LazyLock<aho_corasick::AhoCorasick> = LazyLock::new(|| {
    aho_corasick::AhoCorasick::builder()
        .ascii_case_insensitive(true)
        .build(["pass", "token", "secret", "key", "auth", "credential", "login", "-u", "--user", "@"])
        .expect("valid literals")
});

/// `s` with the value of every credential flag, header, assignment and URL password replaced by
/// [`MASK`]. Borrowed when nothing was found (the usual case, checked cheaply first).
pub fn secrets(s: &str) -> Cow<'_, str> {
    if !HINTS.is_match(s) {
        return Cow::Borrowed(s);
    }
    let mut out: Cow<'_, str> = Cow::Borrowed(s);
    let mut apply = |re: &Regex, f: &dyn Fn(&Captures<'_>) -> String| {
        if re.is_match(&out) {
            out = Cow::Owned(re.replace_all(&out, |c: &Captures<'_>| f(c)).into_owned());
        }
    };
    apply(&STDIN_ECHO, &|c| {
        let v = c[2].trim();
        let shown = if is_reference(v) { c[2].to_string() } else { MASK.to_string() };
        format!("{}{shown}{}", &c[1], &c[3])
    });
    apply(&STDIN_HERE, &|c| mask(c, &[1], 2));
    apply(&LONG_FLAG, &|c| {
        // `--password-stdin` is a switch, not a flag with a value.
        if c[1].to_ascii_lowercase().ends_with("-stdin") || c[1].to_ascii_lowercase().ends_with("-file") {
            return c[0].to_string();
        }
        mask(c, &[1, 2], 3)
    });
    apply(&LOGIN_P, &|c| mask(c, &[1, 2], 3));
    apply(&USER_PASS, &|c| mask(c, &[1], 2));
    apply(&AUTH_HEADER, &|c| mask(c, &[1], 2));
    apply(&ASSIGNMENT, &|c| mask(c, &[1], 2));
    apply(&CONFIG_KEY, &|c| mask(c, &[1], 2));
    apply(&JSON_KEY, &|c| mask(c, &[1], 2));
    apply(&URL_USERINFO, &|c| {
        let user = c.get(2).map_or("", |m| m.as_str());
        match c.get(3) {
            Some(p) if p.as_str().len() > 1 && !is_reference(&p.as_str()[1..]) => format!("{}{user}:{MASK}@", &c[1]),
            // A user alone is a name (`git@`, `oauth2@`) unless it looks like a token.
            None if user.len() >= 20 && !is_reference(user) => format!("{}{MASK}@", &c[1]),
            _ => c[0].to_string(),
        }
    });
    out
}

/// A whole argument that is a credential flag whose value is the next argument (`"--token"`,
/// `"--password"`), as in a container's `command` and `args` arrays.
static FLAG_ALONE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"(?i)^--?(?:[a-z0-9]+-)*(?:password|passwd|passphrase|pass|token|secret|api-?key|access-?key|secret-?key|credentials?)$",
    )
    .expect("valid regex")
});

/// Every string in `v` (object keys excepted) through [`secrets`]; in an array of strings (a
/// container's `command` or `args`), also the argument after a credential flag (`"-p"` in a
/// login command, `"--token"`, `"-u"` with `user:password`).
pub fn json(v: &mut serde_json::Value) {
    match v {
        serde_json::Value::String(s) => {
            if let Cow::Owned(r) = secrets(s) {
                *s = r;
            }
        }
        serde_json::Value::Array(items) => {
            arguments(items);
            items.iter_mut().for_each(json)
        }
        serde_json::Value::Object(map) => map.values_mut().for_each(json),
        _ => {}
    }
}

/// Masks the argument after a credential flag in an argument vector.
fn arguments(items: &mut [serde_json::Value]) {
    use serde_json::Value;
    let login = items.iter().any(|i| i.as_str() == Some("login"));
    for i in 1..items.len() {
        // The flag borrowed beside its value: no copy of every element of every array.
        let (before, rest) = items.split_at_mut(i);
        let (Some(flag), Value::String(value)) = (before[i - 1].as_str(), &mut rest[0]) else { continue };
        // Only a word starting with `-` can be a flag: most arguments never reach the regex.
        let secret_flag =
            (flag.starts_with('-') && FLAG_ALONE.is_match(flag) && !flag.to_ascii_lowercase().ends_with("-stdin"))
                || (login && flag == "-p");
        if secret_flag && !is_reference(value) {
            *value = masked(value);
        } else if matches!(flag, "-u" | "--user" | "--proxy-user")
            && let Some((user, pass)) = value.split_once(':')
            && !is_reference(pass)
        {
            *value = format!("{user}:{MASK}");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::secrets;

    #[test]
    fn argument_vectors() {
        let mut v = serde_json::json!(["docker", "login", "-u", "ci", "-p", "pw1", "r"]);
        super::json(&mut v);
        assert_eq!(v, serde_json::json!(["docker", "login", "-u", "ci", "-p", "[redacted]", "r"]));
        let mut v =
            serde_json::json!(["--token", "t0k", "--password-stdin", "-u", "a:b", "-p", "8080", "--secret", "$S"]);
        super::json(&mut v);
        assert_eq!(
            v,
            serde_json::json!([
                "--token",
                "[redacted]",
                "--password-stdin",
                "-u",
                "a:[redacted]",
                "-p",
                "8080",
                "--secret",
                "$S"
            ])
        );
    }

    #[track_caller]
    fn red(input: &str, expected: &str) {
        assert_eq!(secrets(input), expected, "{input}");
    }

    #[test]
    fn credential_flags() {
        red(
            "docker login -u ci -p hunter2 registry.example.com",
            "docker login -u ci -p [redacted] registry.example.com",
        );
        red("docker login -phunter2 r.example", "docker login -p[redacted] r.example");
        red("docker login --password=hunter2 r", "docker login --password=[redacted] r");
        red("docker login --password 'hun ter2' r", "docker login --password '[redacted]' r");
        red("vault login --token s.abcdef", "vault login --token [redacted]");
        red("agent --api-key=0123456789abcdef --secret xyz", "agent --api-key=[redacted] --secret [redacted]");
        red("curl -u admin:hunter2 https://r/v2/", "curl -u admin:[redacted] https://r/v2/");
        red(
            "echo hunter2 | docker login -u ci --password-stdin r",
            "echo [redacted] | docker login -u ci --password-stdin r",
        );
        red("docker login --password-stdin <<< 'hunter2'", "docker login --password-stdin <<< '[redacted]'");
        red(
            "curl -H 'Authorization: Bearer eyJhbGciOi' https://x",
            "curl -H 'Authorization: Bearer [redacted]' https://x",
        );
        red(
            "git clone https://ci:hunter2@git.example.com/r.git",
            "git clone https://ci:[redacted]@git.example.com/r.git",
        );
        red("export REGISTRY_PASSWORD=hunter2", "export REGISTRY_PASSWORD=[redacted]");
        red(
            "kubeadm join 10.0.0.1:6443 --token abcdef.0123456789abcdef",
            "kubeadm join 10.0.0.1:6443 --token [redacted]",
        );
        red("[OUTPUT]\n    Name es\n    HTTP_Passwd s3cr3t\n", "[OUTPUT]\n    Name es\n    HTTP_Passwd [redacted]\n");
        red("auth:\n  password: hunter2\n", "auth:\n  password: [redacted]\n");
        red(r#"{"auths":{"r":{"password":"hunter2"}}}"#, r#"{"auths":{"r":{"password":"[redacted]"}}}"#);
    }

    #[test]
    fn leaves_what_is_no_secret() {
        for s in [
            "docker run -p 8080:80 nginx",
            "mkdir -p /var/lib/docker",
            "docker login -u ci -p $CI_REGISTRY_PASSWORD $CI_REGISTRY",
            "echo \"$PASS\" | docker login --password-stdin",
            "docker login --password \"${{ secrets.REGISTRY_PASSWORD }}\"",
            "git clone git@github.com:org/repo.git",
            "ssh://git@github.com/org/repo",
            "docker ps --format '{{.Names}}'",
            "docker login --password-stdin r.example",
            "hostPath: /var/run/docker.sock",
            "kubelet --anonymous-auth=false --authentication-token-webhook=true",
            "KUBELET_EXTRA_ARGS=--network-plugin=cni --bypass=1",
            "token_ttl = 3600",
        ] {
            assert_eq!(secrets(s), s);
        }
    }
}
