//! Percent-encoding (RFC 3986): every byte but the unreserved characters (`A-Z a-z 0-9 - . _ ~`)
//! becomes `%XX`. One encoder for the query values the cluster reader sends (continue tokens are
//! base64 with `+`, `/`, `=`; label and field selectors) and the URI segments SARIF writes.
//!
//! A leaf: imports nothing from the crate.

/// `s` with every byte outside the unreserved set percent-encoded (a `/` too).
pub fn encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::encode;

    #[test]
    fn unreserved_stay_and_the_rest_is_encoded() {
        assert_eq!(encode("eyJ2Ijo+/="), "eyJ2Ijo%2B%2F%3D");
        assert_eq!(encode("ns/name"), "ns%2Fname");
        assert_eq!(encode("a-b.c_d~e"), "a-b.c_d~e");
        assert_eq!(encode("é "), "%C3%A9%20");
    }
}
