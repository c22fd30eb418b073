//! The built browser files (`--site-root`): what the server checks of them at start-up.

use std::path::{Path, PathBuf};

/// A copy at most this much older than its source is taken to be of the same build.
const SAME_BUILD: std::time::Duration = std::time::Duration::from_secs(2);

/// Deletes the compressed copies of built code (`<file>.br`, `<file>.gz` for wasm, JS, CSS and
/// JSON files, written by `make build`'s `scripts/precompress.mjs`) under `<root>/pkg` that are
/// older than their file, or whose file is gone: the file service sends a copy in place of its
/// file to any browser that accepts the encoding, so a copy left from an earlier build would ship
/// that build's code. Nothing else is touched. Returns the copies deleted; one that cannot be
/// deleted (a read-only site folder) is logged and kept.
pub fn remove_stale_precompressed(root: &Path) -> Vec<PathBuf> {
    let modified = |p: &Path| std::fs::metadata(p).and_then(|m| m.modified());
    let mut removed = Vec::new();
    let mut folders = vec![root.join("pkg")];
    while let Some(folder) = folders.pop() {
        let Ok(entries) = std::fs::read_dir(&folder) else {
            continue;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            let Ok(kind) = entry.file_type() else {
                continue;
            };
            if kind.is_dir() {
                folders.push(path);
                continue;
            }
            let Some(source) = source_of(&path) else {
                continue;
            };
            let stale = match (modified(&source), modified(&path)) {
                // A copy gets its source's time, but tools keep it to the millisecond at best.
                (Ok(source), Ok(copy)) => copy + SAME_BUILD < source,
                (Err(gone), _) => gone.kind() == std::io::ErrorKind::NotFound,
                (Ok(_), Err(_)) => false,
            };
            if !stale {
                continue;
            }
            match std::fs::remove_file(&path) {
                Ok(()) => removed.push(path),
                Err(error) => tracing::warn!(
                    path = %path.display(),
                    %error,
                    "a compressed copy older than its file, or of a file gone, cannot be deleted, and browsers may be sent it: run `make build` again"
                ),
            }
        }
    }
    removed
}

/// `x.wasm` for `x.wasm.br` or `x.wasm.gz`, and the same for the other kinds
/// `scripts/precompress.mjs` compresses; `None` for any other file.
fn source_of(path: &Path) -> Option<PathBuf> {
    let name = path.file_name()?.to_str()?;
    let source = name
        .strip_suffix(".br")
        .or_else(|| name.strip_suffix(".gz"))?;
    [".wasm", ".js", ".css", ".json"]
        .iter()
        .any(|kind| source.ends_with(kind))
        .then(|| path.with_file_name(source))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::{Duration, SystemTime};

    fn write_at(path: &Path, body: &str, at: SystemTime) {
        std::fs::write(path, body).unwrap();
        std::fs::File::options()
            .write(true)
            .open(path)
            .unwrap()
            .set_modified(at)
            .unwrap();
    }

    #[test]
    fn copies_older_than_their_file_or_without_one_are_deleted() {
        let site = tempfile::tempdir().unwrap();
        let pkg = site.path().join("pkg");
        std::fs::create_dir(&pkg).unwrap();
        let built = SystemTime::now() - Duration::from_secs(60);
        let rebuilt = built + Duration::from_secs(30);
        // Written by the same build: kept, though the copies' times lost the source's last
        // digits (precompress.mjs sets them to the millisecond).
        write_at(&pkg.join("main.wasm"), "main", built);
        write_at(
            &pkg.join("main.wasm.br"),
            "br",
            built - Duration::from_nanos(999_999),
        );
        write_at(&pkg.join("main.wasm.gz"), "gz", built);
        // Rebuilt since: its copies are stale.
        write_at(&pkg.join("chunk_1.wasm"), "new", rebuilt);
        write_at(&pkg.join("chunk_1.wasm.br"), "old br", built);
        write_at(&pkg.join("chunk_1.wasm.gz"), "old gz", built);
        // A chunk the last build no longer has.
        write_at(&pkg.join("chunk_9.wasm.br"), "gone", built);
        // Not copies of built code, or not in pkg/: left alone.
        write_at(&pkg.join("notes.tar.gz"), "archive", built);
        write_at(&site.path().join("old.js.br"), "outside pkg", built);
        write_at(&site.path().join("favicon.ico"), "icon", built);

        let mut removed = remove_stale_precompressed(site.path());
        removed.sort();
        assert_eq!(
            removed,
            vec![
                pkg.join("chunk_1.wasm.br"),
                pkg.join("chunk_1.wasm.gz"),
                pkg.join("chunk_9.wasm.br"),
            ]
        );
        for kept in ["main.wasm", "main.wasm.br", "main.wasm.gz", "chunk_1.wasm"] {
            assert!(pkg.join(kept).exists(), "{kept} kept");
        }
        assert!(pkg.join("notes.tar.gz").exists());
        assert!(site.path().join("old.js.br").exists());
        assert!(site.path().join("favicon.ico").exists());
        assert!(remove_stale_precompressed(site.path()).is_empty());
    }
}
