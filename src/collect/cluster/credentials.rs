//! Credentials never reach a message: what the tool says when a kubeconfig's credentials cannot be
//! used, and the checks that turn a credential the HTTP layer would panic on into an error.
//!
//! Place in the pipeline: beside `transport`, under `fetch::connect` and every request. The kube
//! client's own errors carry too much: a failed exec credential plugin's error holds the plugin's
//! environment (`AWS_SECRET_ACCESS_KEY`, `VAULT_TOKEN`) and its standard output (a token), and a
//! server URL may carry a password. [`describe_auth_error`] keeps the command's name and exit
//! status only; [`strip_userinfo`] takes `user:password@` out of URLs.
//!
//! Must not: print or return any credential, environment value or plugin output.

use std::cell::Cell;
use std::sync::Once;

use http::HeaderValue;
use kube::client::AuthError;
use kube::config::AuthInfo;
use secrecy::ExposeSecret as _;

/// One line about a credential failure, without the plugin's environment or output. `exec` is the
/// kubeconfig's exec plugin command, when there is one.
pub(crate) fn describe_auth_error(err: &AuthError, exec: Option<&str>) -> String {
    let plugin = || match exec {
        Some(c) => format!("the exec credential plugin `{}`", program_name(c)),
        None => "the exec credential plugin".to_string(),
    };
    match err {
        AuthError::AuthExecRun { out, .. } => {
            let status = match out.status.code() {
                Some(code) => format!("exit status {code}"),
                None => "no exit status (killed by a signal)".to_string(),
            };
            format!("{} failed with {status} (its output and environment are not shown)", plugin())
        }
        AuthError::AuthExecParse(_) => {
            format!("{} printed something that is not an ExecCredential (not shown)", plugin())
        }
        AuthError::AuthExecStart(e) => format!("cannot start {}: {e}", plugin()),
        AuthError::ExecPluginFailed => format!("{} answered without a status", plugin()),
        AuthError::InvalidBearerToken(_) => "the bearer token contains characters an HTTP header cannot carry (a \
                                             trailing newline?); the token is not shown"
            .to_string(),
        AuthError::InvalidBasicAuth(_) => {
            "the username or password contains characters an HTTP header cannot carry; they are not shown".to_string()
        }
        AuthError::ReadTokenFile(e, path) => format!("cannot read the token file {}: {e}", path.display()),
        AuthError::ParseTokenKey(_) => "the token key is not valid JSON (not shown)".to_string(),
        AuthError::AuthExec(_) => format!("{} failed (its message is not shown)", plugin()),
        // The remaining variants carry no credential: their own words.
        other => other.to_string(),
    }
}

/// The program of a command (`/usr/local/bin/aws` → `aws`), without arguments.
fn program_name(command: &str) -> &str {
    let first = command.split_whitespace().next().unwrap_or(command);
    first.rsplit(['/', '\\']).next().unwrap_or(first)
}

/// Checks the credentials a kubeconfig user holds inline, before the client is built: the HTTP
/// layer panics on a token it cannot put in a header (a token pasted with its trailing newline).
pub(crate) fn check_inline(auth: &AuthInfo) -> Result<(), String> {
    if let Some(token) = &auth.token
        && HeaderValue::try_from(format!("Bearer {}", token.expose_secret())).is_err()
    {
        return Err("the kubeconfig's token contains characters an HTTP header cannot carry (a trailing \
                    newline or a space?); the token is not shown"
            .to_string());
    }
    if let Some(user) = &auth.username
        && user.chars().any(char::is_control)
    {
        return Err("the kubeconfig's username contains control characters".to_string());
    }
    Ok(())
}

thread_local! {
    /// Set while this thread runs code whose panics [`quietly`] turns into errors.
    static QUIET: Cell<bool> = const { Cell::new(false) };
}

/// Runs `f`, turning a panic inside it into `None` without the panic message. For third-party
/// code that panics on bad input (the kube client's HTTP auth layer on a credential an exec plugin
/// returned with a newline); the panic hook stays quiet on this thread only.
pub(crate) fn quietly<T>(f: impl FnOnce() -> T) -> Option<T> {
    static HOOK: Once = Once::new();
    HOOK.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            if !QUIET.with(Cell::get) {
                previous(info);
            }
        }));
    });
    QUIET.with(|q| q.set(true));
    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(f));
    QUIET.with(|q| q.set(false));
    result.ok()
}

/// `url` without `user:password@` (every message that names a server goes through this).
pub fn strip_userinfo(url: &str) -> String {
    let Some(scheme_end) = url.find("://") else { return url.to_string() };
    let rest = &url[scheme_end + 3..];
    let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    match rest[..authority_end].rfind('@') {
        Some(at) => format!("{}{}", &url[..scheme_end + 3], &rest[at + 1..]),
        None => url.to_string(),
    }
}

/// `text` with the userinfo of every URL in it stripped (error chains may quote the server URL).
pub(crate) fn redact_urls(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(i) = rest.find("://") {
        let (head, tail) = rest.split_at(i + 3);
        out.push_str(head);
        let end = tail
            .find(|c: char| c.is_whitespace() || matches!(c, '/' | '?' | '#' | '"' | '\'' | ')'))
            .unwrap_or(tail.len());
        let authority = &tail[..end];
        out.push_str(authority.rfind('@').map_or(authority, |at| &authority[at + 1..]));
        rest = &tail[end..];
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    // See: issue 14, item 15 (a password in the server URL was printed in errors).
    #[test]
    fn userinfo_is_stripped() {
        assert_eq!(strip_userinfo("https://admin:hunter2@10.0.0.1:6443/api"), "https://10.0.0.1:6443/api");
        assert_eq!(strip_userinfo("https://a@b:c@host"), "https://host");
        assert_eq!(strip_userinfo("https://host/path@x"), "https://host/path@x");
        assert_eq!(strip_userinfo("no scheme"), "no scheme");
        assert_eq!(
            redact_urls("error trying to connect to \"https://u:p@h:1/x\": and http://a@b"),
            "error trying to connect to \"https://h:1/x\": and http://b"
        );
    }

    // See: issue 14, item 15 (the plugin's environment and stdout were printed).
    #[test]
    fn a_failed_plugin_says_only_its_name_and_status() {
        let out = std::process::Command::new("sh")
            .args(["-c", "echo token-abc; exit 7"])
            .env("VAULT_TOKEN", "s.secret")
            .output()
            .unwrap();
        let err = AuthError::AuthExecRun { cmd: "VAULT_TOKEN=\"s.secret\" \"vault\"".into(), out: Box::new(out) };
        assert!(err.to_string().contains("token-abc"), "kube's own message holds the output");
        let said = describe_auth_error(&err, Some("/usr/bin/vault"));
        assert_eq!(
            said,
            "the exec credential plugin `vault` failed with exit status 7 (its output and environment are not shown)"
        );
    }

    // See: issue 14, item 16 (a token with a trailing newline panicked in the HTTP auth layer).
    #[test]
    fn a_token_with_a_newline_is_an_error() {
        let auth = AuthInfo { token: Some("abc\n".to_string().into()), ..AuthInfo::default() };
        let e = check_inline(&auth).unwrap_err();
        assert!(!e.contains("abc"), "{e}");
        assert!(check_inline(&AuthInfo { token: Some("abc".to_string().into()), ..AuthInfo::default() }).is_ok());
        assert_eq!(quietly(|| 1), Some(1));
        assert_eq!(quietly(|| -> u8 { panic!("inside") }), None);
    }
}
