//! Bounded file reads for every collector that opens a file it did not create: node files, repository
//! files and the repository's own config and rules. A file is read only when it is a regular file,
//! never past a size cap, and opening it never blocks (a FIFO, a terminal or `/dev/zero` is refused
//! before a byte is read). Explicit streams (`repo <(cat pod.yaml)`, `/dev/stdin`) have their own
//! reader, bounded by the same cap.
//!
//! Place in the pipeline: below collect, rules and config (layer 1): the first step of reading any file.

use std::fmt;
use std::fs::{File, Metadata};
use std::io::{self, Read};
use std::path::Path;

/// Why a file was not read.
#[derive(Debug)]
pub enum ReadError {
    /// The path does not exist (a skip, not a gap).
    NotFound,
    /// The path exists but is not a regular file; names what it is (`directory`, `FIFO`, ...).
    NotRegular(&'static str),
    /// Larger than the cap (bytes).
    TooLarge(u64),
    /// Any other error (permission denied, not a directory, I/O error): a gap.
    Io(io::Error),
}

impl fmt::Display for ReadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ReadError::NotFound => f.write_str("no such file"),
            ReadError::NotRegular(kind) => write!(f, "not a regular file ({kind})"),
            ReadError::TooLarge(cap) => write!(f, "larger than {cap} bytes"),
            ReadError::Io(e) => write!(f, "cannot read: {e}"),
        }
    }
}

impl From<io::Error> for ReadError {
    fn from(e: io::Error) -> Self {
        if e.kind() == io::ErrorKind::NotFound { ReadError::NotFound } else { ReadError::Io(e) }
    }
}

/// What a file system object is, in words (for reasons shown to people).
pub fn kind_name(meta: &Metadata) -> &'static str {
    let t = meta.file_type();
    if t.is_dir() {
        return "directory";
    }
    if t.is_symlink() {
        return "symbolic link";
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileTypeExt;
        if t.is_fifo() {
            return "FIFO";
        }
        if t.is_char_device() {
            return "character device";
        }
        if t.is_block_device() {
            return "block device";
        }
        if t.is_socket() {
            return "socket";
        }
    }
    if t.is_file() { "regular file" } else { "special file" }
}

/// Opens without following a final symbolic link and without blocking (FIFOs, terminals).
fn open_nonblocking(path: &Path) -> io::Result<File> {
    let mut o = std::fs::OpenOptions::new();
    o.read(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        o.custom_flags(libc::O_NONBLOCK | libc::O_NOCTTY | libc::O_NOFOLLOW);
    }
    o.open(path)
}

/// Reads `path` when it is a regular file of at most `cap` bytes. The type is checked before the
/// open (no open of a device) and again on the open handle (no race into a FIFO); a file that
/// grows past the cap while being read is refused too.
pub fn regular(path: &Path, cap: u64) -> Result<Vec<u8>, ReadError> {
    let meta = std::fs::symlink_metadata(path)?;
    if !meta.is_file() {
        return Err(ReadError::NotRegular(kind_name(&meta)));
    }
    if meta.len() > cap {
        return Err(ReadError::TooLarge(cap));
    }
    walked_regular(path, cap)
}

/// [`regular`] for a path a directory walk has just seen as a regular file (saves one `lstat`):
/// the type is still checked on the open handle, so a file swapped for a FIFO is refused.
pub fn walked_regular(path: &Path, cap: u64) -> Result<Vec<u8>, ReadError> {
    let file = open_nonblocking(path)?;
    let meta = file.metadata()?;
    if !meta.is_file() {
        return Err(ReadError::NotRegular(kind_name(&meta)));
    }
    bounded(file, cap)
}

/// Reads at most `cap` bytes of any readable path (a FIFO, `/dev/stdin`, a process substitution)
/// the user named explicitly; blocks like `cat` would. More than `cap` bytes is an error.
pub fn stream(path: &Path, cap: u64) -> Result<Vec<u8>, ReadError> {
    let meta = std::fs::metadata(path)?;
    if meta.is_dir() {
        return Err(ReadError::NotRegular("directory"));
    }
    bounded(File::open(path)?, cap)
}

fn bounded(file: File, cap: u64) -> Result<Vec<u8>, ReadError> {
    let mut bytes = Vec::new();
    file.take(cap.saturating_add(1)).read_to_end(&mut bytes)?;
    if bytes.len() as u64 > cap {
        return Err(ReadError::TooLarge(cap));
    }
    Ok(bytes)
}

/// Text of a file's bytes: a UTF-16 file with a byte-order mark is decoded, a UTF-8 mark dropped,
/// invalid UTF-8 replaced, and stray NUL bytes turned into spaces (so a line keeps its columns).
pub fn decode_text(bytes: Vec<u8>) -> String {
    let utf16 = |be: bool| {
        let units: Vec<u16> = bytes[2..]
            .chunks_exact(2)
            .map(|c| if be { u16::from_be_bytes([c[0], c[1]]) } else { u16::from_le_bytes([c[0], c[1]]) })
            .collect();
        String::from_utf16_lossy(&units)
    };
    let text = match bytes.get(..2) {
        Some([0xFF, 0xFE]) => utf16(false),
        Some([0xFE, 0xFF]) => utf16(true),
        _ => {
            let body = if bytes.starts_with(&[0xEF, 0xBB, 0xBF]) { &bytes[3..] } else { &bytes[..] };
            String::from_utf8_lossy(body).into_owned()
        }
    };
    if text.contains('\0') { text.replace('\0', " ") } else { text }
}

/// True when the first bytes look like a binary file rather than text: a UTF-16 byte-order mark
/// is text; otherwise binary means NUL or other control bytes make up more than 1 in 32 bytes of
/// the head (ELF, images, archives), so one stray NUL in a script comment does not hide the script.
pub fn looks_binary(bytes: &[u8]) -> bool {
    if bytes.starts_with(&[0xFF, 0xFE]) || bytes.starts_with(&[0xFE, 0xFF]) {
        return false;
    }
    let head = &bytes[..bytes.len().min(8192)];
    if memchr::memchr(0, head).is_none() {
        return false;
    }
    let controls = head.iter().filter(|&&b| b < 0x20 && !matches!(b, b'\t' | b'\n' | b'\r' | 0x0C | 0x1B)).count();
    controls * 32 > head.len()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_stray_nul_is_text_and_a_binary_is_not() {
        let mut script = b"#!/bin/sh\n# build \0 helper\ndocker build .\n".to_vec();
        script.extend(std::iter::repeat_n(b'x', 200));
        assert!(!looks_binary(&script));
        assert!(decode_text(script).contains("build   helper"));
        let elf: Vec<u8> = b"\x7fELF\x02\x01\x01\0\0\0\0\0\0\0\0\0\x02\0>\0\x01\0\0\0".repeat(20);
        assert!(looks_binary(&elf));
    }

    #[test]
    fn utf16_with_a_bom_is_decoded() {
        let text = "docker ps\n";
        let mut le = vec![0xFF, 0xFE];
        le.extend(text.encode_utf16().flat_map(u16::to_le_bytes));
        let mut be = vec![0xFE, 0xFF];
        be.extend(text.encode_utf16().flat_map(u16::to_be_bytes));
        assert!(!looks_binary(&le));
        assert_eq!(decode_text(le), text);
        assert_eq!(decode_text(be), text);
        assert_eq!(decode_text(b"\xEF\xBB\xBFa: 1".to_vec()), "a: 1");
    }

    #[cfg(unix)]
    #[test]
    fn fifos_devices_and_large_files_are_refused_without_blocking() {
        let dir = tempfile::tempdir().unwrap();
        let fifo = dir.path().join("fifo");
        let c = std::ffi::CString::new(fifo.to_str().unwrap()).unwrap();
        // SAFETY: a valid NUL-terminated path.
        assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o644) }, 0);
        assert!(matches!(regular(&fifo, 100), Err(ReadError::NotRegular("FIFO"))));
        assert!(matches!(regular(Path::new("/dev/zero"), 100), Err(ReadError::NotRegular("character device"))));
        assert!(matches!(stream(Path::new("/dev/zero"), 100), Err(ReadError::TooLarge(100))));
        let big = dir.path().join("big");
        std::fs::write(&big, [b'a'; 101]).unwrap();
        assert!(matches!(regular(&big, 100), Err(ReadError::TooLarge(100))));
        assert_eq!(regular(&big, 101).unwrap().len(), 101);
        assert!(matches!(regular(&dir.path().join("none"), 100), Err(ReadError::NotFound)));
        std::os::unix::fs::symlink(&big, dir.path().join("link")).unwrap();
        assert!(matches!(regular(&dir.path().join("link"), 200), Err(ReadError::NotRegular("symbolic link"))));
    }
}
