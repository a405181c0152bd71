//! Checks behind `tests/tidy.rs` that need tests of their own: finding network addresses in
//! source text, and reading a manifest's dependencies.

/// Address literals in `text` that are not this machine: IPv4 outside 127.0.0.0/8 and IPv6
/// other than `::1`. Documentation ranges (192.0.2.0/24, 198.51.100.0/24, 203.0.113.0/24,
/// 2001:db8::/32) are allowed: they are unroutable by definition, for parse-only tests that
/// connect nowhere. Returns (1-based line, literal).
pub fn non_loopback_addresses(text: &str) -> Vec<(usize, String)> {
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate() {
        for v4 in ipv4_literals(line) {
            if !v4_allowed(&v4) {
                out.push((i + 1, v4.iter().map(u8::to_string).collect::<Vec<_>>().join(".")));
            }
        }
        for v6 in ipv6_literals(line) {
            if !v6_allowed(&v6) {
                out.push((i + 1, v6));
            }
        }
    }
    out
}

fn v4_allowed(a: &[u8; 4]) -> bool {
    a[0] == 127 || matches!((a[0], a[1], a[2]), (192, 0, 2) | (198, 51, 100) | (203, 0, 113))
}

fn v6_allowed(s: &str) -> bool {
    let l = s.to_ascii_lowercase();
    l == "::1" || l.starts_with("2001:db8:")
}

/// Dotted quads of four numbers 0..=255, not part of a longer dotted run (a version such as
/// `1.2.3.4.5`) or of a word.
fn ipv4_literals(line: &str) -> Vec<[u8; 4]> {
    let b = line.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        let starts =
            b[i].is_ascii_digit() && (i == 0 || !(b[i - 1].is_ascii_alphanumeric() || b[i - 1] == b'.'));
        if !starts {
            i += 1;
            continue;
        }
        let mut j = i;
        let mut parts = Vec::new();
        loop {
            let s = j;
            while j < b.len() && b[j].is_ascii_digit() {
                j += 1;
            }
            parts.push(&line[s..j]);
            if j + 1 < b.len() && b[j] == b'.' && b[j + 1].is_ascii_digit() {
                j += 1;
            } else {
                break;
            }
        }
        let followed_by_word = j < b.len() && (b[j].is_ascii_alphanumeric() || b[j] == b'_');
        if parts.len() == 4 && !followed_by_word {
            let nums: Vec<u8> =
                parts.iter().filter_map(|p| (p.len() <= 3).then(|| p.parse().ok()).flatten()).collect();
            if let [a, b2, c, d] = nums[..] {
                out.push([a, b2, c, d]);
            }
        }
        i = j.max(i + 1);
    }
    out
}

/// IPv6 literals: bracketed hosts of URLs (`[2001:db8::1]`) and bare `a:b::c` forms with `::`.
fn ipv6_literals(line: &str) -> Vec<String> {
    let is_v6 = |s: &str| {
        s.contains(':')
            && s.len() >= 2
            && s.chars().all(|c| c.is_ascii_hexdigit() || c == ':' || c == '.')
            && (s.contains("::") || s.matches(':').count() >= 7)
    };
    let mut out = Vec::new();
    for (start, _) in line.match_indices('[') {
        if let Some(end) = line[start + 1..].find(']') {
            let inner = &line[start + 1..start + 1 + end];
            if is_v6(inner) {
                out.push(inner.to_owned());
            }
        }
    }
    // Bare literals: whole words of hex groups and colons with a digit in them (Rust paths
    // such as `std::fs` are words with other letters, or without digits).
    for token in line.split(|c: char| !(c.is_ascii_alphanumeric() || c == ':' || c == '.' || c == '_')) {
        let token = token.trim_matches(['.', ':']);
        let groups = token.split(':').filter(|g| !g.is_empty()).count();
        if is_v6(token)
            && groups >= 2
            && token.bytes().any(|b| b.is_ascii_digit())
            && token.split(':').all(|g| g.len() <= 4)
            && !out.iter().any(|o| o == token)
        {
            out.push(token.to_owned());
        }
    }
    out
}

/// The names of the dependencies declared in a `Cargo.toml`, in any `[*dependencies]` table
/// (normal, dev, build; target-specific included).
pub fn dependency_names(manifest: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut in_deps = false;
    for line in manifest.lines() {
        let l = line.trim();
        if l.starts_with('[') {
            in_deps = l.trim_matches(['[', ']']).ends_with("dependencies");
            continue;
        }
        if in_deps
            && !l.starts_with('#')
            && let Some((name, _)) = l.split_once('=')
        {
            out.push(name.trim().split('.').next().unwrap_or_default().to_owned());
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_addresses_off_this_machine() {
        // The refused addresses are put together at run time, so this file holds none.
        let v4 = |parts: [u16; 4]| parts.map(|p| p.to_string()).join(".");
        let (private, lan, any) = (v4([10, 255, 255, 1]), v4([192, 168, 1, 20]), v4([0, 0, 0, 0]));
        let (link, multicast) = (["fe80", "1"].join("::"), ["ff02", "1"].join("::"));
        let text = format!(
            "connect(\"{private}:6379\")\n\
             let ok = \"127.0.0.1\"; // and redis://127.0.0.2:1\n\
             version 1.2.3 and 18.16.1.2.3 and v1.2.3.4x\n\
             let doc = \"192.0.2.7\";\n\
             http://[{link}]:8123 and [::1] and [2001:db8::5]\n\
             let lan = \"{lan}\"; let any = \"{any}\";\n\
             use std::io::Read; x::y::z; std::fs::create_dir; 2001:db8::1 {multicast} dead::beef\n"
        );
        let found = non_loopback_addresses(&text);
        assert_eq!(found, vec![(1, private), (5, link), (6, lan), (6, any), (7, multicast)]);
    }

    #[test]
    fn reads_dependency_names() {
        let m = "[package]\nname = \"x\"\n[dependencies]\ntierstore-model.workspace = true\nfoo = { workspace = true }\n\
                 [dev-dependencies]\n# comment\ntierstore-hot.workspace = true\n[lints]\nworkspace = true\n";
        assert_eq!(dependency_names(m), ["tierstore-model", "foo", "tierstore-hot"]);
    }
}
