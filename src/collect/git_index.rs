//! The paths a Git repository tracks, read from its index file (`.git/index`, versions 2 to 4) —
//! never by running `git`, whose configuration in a hostile repository can run programs
//! (`core.fsmonitor`). The repository walker uses it so that ignore files (`.gitignore`, `.ignore`)
//! never hide a file the repository actually contains.
//!
//! Place in the pipeline: collect, beside the repository walker.

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use crate::bounded_read as read;

/// Largest index read (a repository of a million files has an index of about 100 MiB).
const MAX_INDEX: u64 = 512 * 1024 * 1024;

/// The tracked files of the repository holding `dir`: the work tree's top directory and the
/// tracked paths relative to it (with `/`). `None` when `dir` is not in a Git work tree or the index
/// cannot be read (then ignore files are honoured and what they hide is listed as skipped).
pub fn tracked(dir: &Path) -> Option<(PathBuf, HashSet<Vec<u8>>)> {
    let start = dir.canonicalize().ok()?;
    for top in start.ancestors() {
        let dot_git = top.join(".git");
        let Ok(meta) = std::fs::symlink_metadata(&dot_git) else { continue };
        let git_dir = if meta.is_dir() {
            dot_git
        } else if meta.is_file() {
            // A linked work tree or submodule: `gitdir: PATH`.
            let text = String::from_utf8(read::regular(&dot_git, 4096).ok()?).ok()?;
            let target = text.trim().strip_prefix("gitdir:")?.trim().to_string();
            let p = PathBuf::from(target);
            if p.is_absolute() { p } else { top.join(p) }
        } else {
            return None;
        };
        let bytes = read::regular(&git_dir.join("index"), MAX_INDEX).ok()?;
        return parse(&bytes).map(|paths| (top.to_path_buf(), paths));
    }
    None
}

/// The paths of an index file; `None` when it is not a version 2, 3 or 4 index (SHA-1).
pub fn parse(bytes: &[u8]) -> Option<HashSet<Vec<u8>>> {
    let u32_at = |at: usize| bytes.get(at..at + 4).map(|b| u32::from_be_bytes([b[0], b[1], b[2], b[3]]));
    if bytes.get(..4)? != b"DIRC" {
        return None;
    }
    let version = u32_at(4)?;
    if !(2..=4).contains(&version) {
        return None;
    }
    let count = u32_at(8)? as usize;
    let mut paths = HashSet::with_capacity(count.min(1 << 20));
    let mut at = 12;
    let mut previous: Vec<u8> = Vec::new();
    for _ in 0..count {
        let entry_start = at;
        // ctime, mtime, dev, ino, mode, uid, gid, size (40 bytes), object id (20), flags (2).
        let flags = bytes.get(at + 60..at + 62).map(|b| u16::from_be_bytes([b[0], b[1]]))?;
        at += 62;
        if version >= 3 && flags & 0x4000 != 0 {
            at += 2;
        }
        let path = if version == 4 {
            let (strip, used) = varint(bytes.get(at..)?)?;
            at += used;
            let end = at + memchr::memchr(0, bytes.get(at..)?)?;
            let keep = previous.len().checked_sub(strip)?;
            let mut p = previous[..keep].to_vec();
            p.extend_from_slice(&bytes[at..end]);
            at = end + 1;
            p
        } else {
            let end = at + memchr::memchr(0, bytes.get(at..)?)?;
            let p = bytes[at..end].to_vec();
            // NUL padding to a multiple of 8 bytes, at least one.
            let len = end - entry_start;
            at = entry_start + (len / 8 + 1) * 8;
            p
        };
        previous.clone_from(&path);
        paths.insert(path);
    }
    Some(paths)
}

/// Git's offset encoding (index version 4).
fn varint(b: &[u8]) -> Option<(usize, usize)> {
    let mut i = 0;
    let mut c = *b.first()?;
    let mut val = usize::from(c & 0x7f);
    while c & 0x80 != 0 {
        i += 1;
        c = *b.get(i)?;
        val = val.checked_add(1)?.checked_mul(128)?.checked_add(usize::from(c & 0x7f))?;
    }
    Some((val, i + 1))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(path: &str) -> Vec<u8> {
        let mut e = vec![0u8; 60];
        e.extend_from_slice(&(path.len() as u16).to_be_bytes());
        e.extend_from_slice(path.as_bytes());
        let len = e.len();
        e.extend(std::iter::repeat_n(0, 8 - len % 8));
        e
    }

    #[test]
    fn reads_a_version_2_index_and_refuses_garbage() {
        let mut idx = b"DIRC\0\0\0\x02\0\0\0\x02".to_vec();
        idx.extend(entry("deploy/pod.yaml"));
        idx.extend(entry("build/ci.sh"));
        let paths = parse(&idx).unwrap();
        assert!(paths.contains(b"deploy/pod.yaml".as_slice()) && paths.contains(b"build/ci.sh".as_slice()));
        assert!(parse(b"DIRC\0\0\0\x02\0\0\0\x05").is_none());
        assert!(parse(b"not an index").is_none());
        // Truncated anywhere: no panic.
        for cut in 0..idx.len() {
            let _ = parse(&idx[..cut]);
        }
    }
}
