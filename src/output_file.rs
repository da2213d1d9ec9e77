//! Writing the files a run produces (`-o` reports, snapshots, baselines): atomically, never through
//! a symlink unless asked, and all-or-nothing for a run that writes several.
//!
//! A file is written to a temporary file in the destination's directory (created with `O_EXCL`
//! under a random name, by `tempfile`) and renamed over the destination once complete, so a kill
//! leaves the old file or the new one, never a truncated one, and two concurrent runs each leave a
//! whole file (the last rename wins) instead of interleaved bytes. A destination that already exists
//! as a symlink is refused (the GitHub Action writes its outputs in a workspace a pull request
//! controls: a planted link would make the run overwrite the link's target) unless the caller passes
//! [`Policy::through_symlinks`], in which case the link's final target is replaced the same way.
//! Devices and FIFOs (`-o /dev/null`) cannot be replaced by a rename; they are written in place.
//!
//! Place in the pipeline: a leaf (layer 1), used by the command layer after rendering.

use std::fs::{File, OpenOptions};
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};

/// How to treat an existing destination.
#[derive(Debug, Clone, Copy, Default)]
pub struct Policy {
    /// Write through an existing symlink at the destination (its final target is replaced).
    pub through_symlinks: bool,
}

/// A destination opened for writing whose content is not visible at its path until [`Staged::commit`].
/// Dropping it without committing removes the temporary file and leaves the destination as it was.
#[derive(Debug)]
pub struct Staged {
    /// The path the user named (for messages).
    path: PathBuf,
    how: Sink,
}

#[derive(Debug)]
enum Sink {
    /// A temporary file beside the final path (symlinks resolved when allowed), renamed on commit.
    Temp { temp: tempfile::NamedTempFile, dest: PathBuf },
    /// A device or FIFO named by the user, written as it is (nothing to rename).
    InPlace(File),
}

impl Staged {
    /// Opens `path` for writing under `policy` and writes what `fill` writes into it (buffered).
    pub fn new(
        path: &Path,
        policy: Policy,
        fill: impl FnOnce(&mut dyn Write) -> io::Result<()>,
    ) -> Result<Staged, String> {
        let fail = |e: io::Error| format!("cannot write {}: {e}", path.display());
        let how = open(path, policy)?;
        let mut staged = Staged { path: path.to_path_buf(), how };
        let file: &mut File = match &mut staged.how {
            Sink::Temp { temp, .. } => temp.as_file_mut(),
            Sink::InPlace(f) => f,
        };
        let mut out = BufWriter::with_capacity(1 << 20, file);
        fill(&mut out).map_err(fail)?;
        out.flush().map_err(fail)?;
        drop(out);
        Ok(staged)
    }

    /// The path the user named.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Makes the content visible at its path (an atomic rename for regular files).
    pub fn commit(self) -> Result<(), String> {
        let path = self.path;
        match self.how {
            Sink::Temp { temp, dest } => {
                temp.persist(&dest).map_err(|e| format!("cannot write {}: {}", path.display(), e.error))?;
                Ok(())
            }
            Sink::InPlace(_) => Ok(()),
        }
    }
}

/// Writes `bytes` to `path` atomically under `policy` (one file: [`Staged`] then commit).
pub fn write(path: &Path, policy: Policy, bytes: &[u8]) -> Result<(), String> {
    Staged::new(path, policy, |w| w.write_all(bytes))?.commit()
}

/// Writes several files, all or nothing as far as the file system allows: every file is staged
/// before any is renamed into place, so a failure while writing leaves none of them. A rename
/// failing after others succeeded (rare: the directory changed under the run) is reported with
/// the files that were written and those that were not.
pub fn write_all(files: &[(PathBuf, Vec<u8>)], policy: Policy) -> Result<(), String> {
    let mut staged = Vec::with_capacity(files.len());
    for (path, bytes) in files {
        match Staged::new(path, policy, |w| w.write_all(bytes)) {
            Ok(s) => staged.push(s),
            Err(e) => {
                // Dropping the staged files removes their temporaries: nothing was written.
                let none = if files.len() > 1 {
                    format!(" (none of the {} output files was written)", files.len())
                } else {
                    String::new()
                };
                return Err(format!("{e}{none}"));
            }
        }
    }
    let mut written: Vec<String> = Vec::new();
    let mut iter = staged.into_iter();
    while let Some(s) = iter.next() {
        let shown = s.path().display().to_string();
        if let Err(e) = s.commit() {
            let not: Vec<String> = std::iter::once(shown).chain(iter.map(|s| s.path().display().to_string())).collect();
            let mut msg = e;
            if !written.is_empty() {
                msg.push_str(&format!("; written: {}", written.join(", ")));
            }
            msg.push_str(&format!("; not written: {}", not.join(", ")));
            return Err(msg);
        }
        written.push(shown);
    }
    Ok(())
}

/// Decides where the bytes go: a temporary file beside the destination (after refusing or
/// resolving a symlink), or the device itself.
fn open(path: &Path, policy: Policy) -> Result<Sink, String> {
    let mut dest = path.to_path_buf();
    match std::fs::symlink_metadata(path) {
        Ok(meta) if meta.file_type().is_symlink() => {
            if !policy.through_symlinks {
                return Err(format!(
                    "refusing to write {}: it is a symbolic link (to {}); remove it, choose another path, or pass \
                     --follow-output-symlinks to replace what it points to",
                    path.display(),
                    std::fs::read_link(path).map(|t| t.display().to_string()).unwrap_or_else(|_| "?".into())
                ));
            }
            dest = std::fs::canonicalize(path).map_err(|e| {
                format!("cannot write {}: it is a symbolic link whose target cannot be resolved ({e})", path.display())
            })?;
            if let Ok(target) = std::fs::metadata(&dest)
                && !target.is_file()
            {
                return in_place(path, &dest, &target);
            }
        }
        Ok(meta) if meta.is_dir() => return Err(format!("cannot write {}: it is a directory", path.display())),
        Ok(meta) if !meta.is_file() => return in_place(path, &dest, &meta),
        Ok(_) => {}
        Err(e) if e.kind() == io::ErrorKind::NotFound => {}
        Err(e) => return Err(format!("cannot write {}: {e}", path.display())),
    }
    let dir = match dest.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let name = dest.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let prefix = format!(".{name}.");
    let mut builder = tempfile::Builder::new();
    builder.prefix(&prefix).suffix(".tmp");
    #[cfg(unix)]
    {
        // The mode a plain create would give (0666 less the umask), not tempfile's private 0600.
        use std::os::unix::fs::PermissionsExt;
        builder.permissions(std::fs::Permissions::from_mode(0o666));
    }
    let temp = builder.tempfile_in(&dir).map_err(|e| format!("cannot write {}: {e}", path.display()))?;
    Ok(Sink::Temp { temp, dest })
}

/// A device or FIFO: opened for writing as it is (never created, never truncated).
fn in_place(path: &Path, dest: &Path, meta: &std::fs::Metadata) -> Result<Sink, String> {
    if meta.is_dir() {
        return Err(format!("cannot write {}: it is a directory", path.display()));
    }
    OpenOptions::new()
        .write(true)
        .open(dest)
        .map(Sink::InPlace)
        .map_err(|e| format!("cannot write {}: {e}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replaces_a_file_and_leaves_no_temporary() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("r.json");
        std::fs::write(&p, "old old old old").unwrap();
        write(&p, Policy::default(), b"new").unwrap();
        assert_eq!(std::fs::read_to_string(&p).unwrap(), "new");
        assert_eq!(std::fs::read_dir(d.path()).unwrap().count(), 1);
    }

    #[cfg(unix)]
    #[test]
    fn refuses_a_symlink_unless_asked() {
        let d = tempfile::tempdir().unwrap();
        let victim = d.path().join("victim");
        std::fs::write(&victim, "precious").unwrap();
        let link = d.path().join("out.sarif");
        std::os::unix::fs::symlink(&victim, &link).unwrap();
        let e = write(&link, Policy::default(), b"report").unwrap_err();
        assert!(e.contains("symbolic link"), "{e}");
        assert_eq!(std::fs::read_to_string(&victim).unwrap(), "precious");
        write(&link, Policy { through_symlinks: true }, b"report").unwrap();
        assert_eq!(std::fs::read_to_string(&victim).unwrap(), "report");
        assert!(std::fs::symlink_metadata(&link).unwrap().file_type().is_symlink());
    }

    #[test]
    fn a_failing_output_writes_none() {
        let d = tempfile::tempdir().unwrap();
        let good = d.path().join("a.json");
        let bad = d.path().join("missing-dir").join("b.sarif");
        let e = write_all(&[(good.clone(), b"a".to_vec()), (bad, b"b".to_vec())], Policy::default()).unwrap_err();
        assert!(e.contains("none of the 2"), "{e}");
        assert!(!good.exists());
        assert_eq!(std::fs::read_dir(d.path()).unwrap().count(), 0);
    }

    #[cfg(unix)]
    #[test]
    fn writes_devices_in_place() {
        write(Path::new("/dev/null"), Policy::default(), b"x").unwrap();
    }
}
