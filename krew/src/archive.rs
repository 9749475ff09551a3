//! Reproducible release archives (`.tar.gz`, `.zip`), their sha256, listing and unpacking.

use std::fs::File;
use std::io::{BufReader, BufWriter, Read, Write};
use std::path::Path;

use sha2::{Digest, Sha256};

use crate::{Error, Result};

/// The timestamp of every archive entry when `SOURCE_DATE_EPOCH` is not set: 1980-01-01T00:00:00Z, the
/// earliest time a zip entry can carry.
pub const DEFAULT_MTIME: u64 = 315_532_800;

/// The entries' timestamp: `SOURCE_DATE_EPOCH` if set (clamped to [`DEFAULT_MTIME`], zip's minimum), else
/// [`DEFAULT_MTIME`].
pub fn mtime_from_env() -> Result<u64> {
    match std::env::var("SOURCE_DATE_EPOCH") {
        Ok(v) => {
            let secs: u64 = v.trim().parse().map_err(|_| {
                Error::new(format!(
                    "SOURCE_DATE_EPOCH={v:?} is not a number of seconds"
                ))
            })?;
            Ok(secs.max(DEFAULT_MTIME))
        }
        Err(_) => Ok(DEFAULT_MTIME),
    }
}

/// A file to put in an archive.
#[derive(Debug, Clone)]
pub struct Entry {
    /// Path inside the archive (`/`-separated, relative).
    pub name: String,
    pub data: Vec<u8>,
    /// Unix permission bits.
    pub mode: u32,
}

/// A file found in an archive.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Listed {
    /// Path inside the archive, without a leading `./`.
    pub name: String,
    /// Unix permission bits, when the archive records them.
    pub mode: Option<u32>,
}

/// Lowercase hex sha256 of a byte string.
pub fn sha256_hex(data: &[u8]) -> String {
    hex(&Sha256::digest(data))
}

/// Lowercase hex sha256 of a file.
pub fn sha256_file(path: &Path) -> Result<String> {
    let mut f = File::open(path).map_err(|e| Error::io(path, e))?;
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 1 << 16];
    loop {
        let n = f.read(&mut buf).map_err(|e| Error::io(path, e))?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
    }
    Ok(hex(&hasher.finalize()))
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn is_zip(path: &Path) -> bool {
    path.extension().is_some_and(|e| e == "zip")
}

/// Writes `entries` to `path` as `.zip` (if the name ends in `.zip`) or `.tar.gz`: entries sorted by name,
/// every timestamp `mtime`, owner 0:0 with no names, so the same inputs always give the same bytes.
pub fn write(path: &Path, entries: &[Entry], mtime: u64) -> Result<()> {
    let mut sorted: Vec<&Entry> = entries.iter().collect();
    sorted.sort_by(|a, b| a.name.cmp(&b.name));
    // Written beside the target and renamed into place, so a failed run never leaves a partial archive
    // under the final name.
    let tmp = path.with_extension("partial");
    let file = File::create(&tmp).map_err(|e| Error::io(&tmp, e))?;
    let result = if is_zip(path) {
        write_zip(BufWriter::new(file), &sorted, mtime)
    } else {
        write_tar_gz(BufWriter::new(file), &sorted, mtime)
    };
    if let Err(e) = result {
        let _ = std::fs::remove_file(&tmp);
        return Err(Error::new(format!("writing {}: {e}", path.display())));
    }
    std::fs::rename(&tmp, path).map_err(|e| Error::io(path, e))
}

fn write_tar_gz(out: BufWriter<File>, entries: &[&Entry], mtime: u64) -> Result<()> {
    let gz = flate2::GzBuilder::new()
        .mtime(0)
        .write(out, flate2::Compression::default());
    let mut tar = tar::Builder::new(gz);
    tar.mode(tar::HeaderMode::Deterministic);
    for e in entries {
        let mut h = tar::Header::new_gnu();
        h.set_entry_type(tar::EntryType::Regular);
        h.set_size(e.data.len() as u64);
        h.set_mode(e.mode);
        h.set_mtime(mtime);
        h.set_uid(0);
        h.set_gid(0);
        tar.append_data(&mut h, &e.name, e.data.as_slice())
            .map_err(|err| Error::new(format!("{}: {err}", e.name)))?;
    }
    let gz = tar.into_inner().map_err(Error::from)?;
    let mut out = gz.finish().map_err(Error::from)?;
    out.flush().map_err(Error::from)
}

fn write_zip(out: BufWriter<File>, entries: &[&Entry], mtime: u64) -> Result<()> {
    let time = dos_time(mtime)?;
    let mut zip = zip::ZipWriter::new(out);
    for e in entries {
        let options = zip::write::SimpleFileOptions::default()
            .compression_method(zip::CompressionMethod::Deflated)
            .last_modified_time(time)
            .unix_permissions(e.mode);
        zip.start_file(e.name.as_str(), options)
            .map_err(|err| Error::new(format!("{}: {err}", e.name)))?;
        zip.write_all(&e.data).map_err(Error::from)?;
    }
    let mut out = zip.finish().map_err(|e| Error::new(e.to_string()))?;
    out.flush().map_err(Error::from)
}

/// `secs` since the Unix epoch (UTC) as a zip (MS-DOS) timestamp.
fn dos_time(secs: u64) -> Result<zip::DateTime> {
    let days = (secs / 86_400) as i64;
    let rem = secs % 86_400;
    let (y, m, d) = civil_from_days(days);
    let bad = || {
        Error::new(format!(
            "timestamp {secs} cannot be stored in a zip archive"
        ))
    };
    let year = u16::try_from(y).map_err(|_| bad())?;
    zip::DateTime::from_date_and_time(
        year,
        m,
        d,
        (rem / 3600) as u8,
        (rem % 3600 / 60) as u8,
        (rem % 60) as u8,
    )
    .map_err(|_| bad())
}

/// Days since 1970-01-01 → (year, month, day) in the proleptic Gregorian calendar (H. Hinnant's algorithm).
fn civil_from_days(z: i64) -> (i64, u8, u8) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u8;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u8;
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

/// The regular files in an archive (`.zip` by extension, else `.tar.gz`).
pub fn list(path: &Path) -> Result<Vec<Listed>> {
    let file = File::open(path).map_err(|e| Error::io(path, e))?;
    let bad = |e: &dyn std::fmt::Display| Error::new(format!("{}: {e}", path.display()));
    let mut out = Vec::new();
    if is_zip(path) {
        let mut zip = zip::ZipArchive::new(BufReader::new(file)).map_err(|e| bad(&e))?;
        for i in 0..zip.len() {
            let f = zip.by_index(i).map_err(|e| bad(&e))?;
            if f.is_file() {
                out.push(Listed {
                    name: clean(&f.name().map_err(|e| bad(&e))?),
                    mode: f.unix_mode().map(|m| m & 0o7777),
                });
            }
        }
    } else {
        let mut tar = tar::Archive::new(flate2::read::GzDecoder::new(BufReader::new(file)));
        for entry in tar.entries().map_err(|e| bad(&e))? {
            let entry = entry.map_err(|e| bad(&e))?;
            if entry.header().entry_type().is_file() {
                let name = entry.path().map_err(|e| bad(&e))?;
                out.push(Listed {
                    name: clean(&name.to_string_lossy()),
                    mode: entry.header().mode().ok().map(|m| m & 0o7777),
                });
            }
        }
    }
    Ok(out)
}

fn clean(name: &str) -> String {
    name.trim_start_matches("./").to_string()
}

/// Unpacks an archive into `dest` (which must exist), keeping the permission bits on Unix. Entries that
/// would land outside `dest` are refused by the archive crates.
pub fn unpack(path: &Path, dest: &Path) -> Result<()> {
    let file = File::open(path).map_err(|e| Error::io(path, e))?;
    let bad = |e: &dyn std::fmt::Display| Error::new(format!("unpacking {}: {e}", path.display()));
    if is_zip(path) {
        let mut zip = zip::ZipArchive::new(BufReader::new(file)).map_err(|e| bad(&e))?;
        zip.extract(dest).map_err(|e| bad(&e))
    } else {
        let mut tar = tar::Archive::new(flate2::read::GzDecoder::new(BufReader::new(file)));
        tar.set_preserve_permissions(true);
        tar.unpack(dest).map_err(|e| bad(&e))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entries() -> Vec<Entry> {
        vec![
            Entry {
                name: "kubectl-graceful".into(),
                data: b"#!bin".to_vec(),
                mode: 0o755,
            },
            Entry {
                name: "README.md".into(),
                data: b"readme".to_vec(),
                mode: 0o644,
            },
            Entry {
                name: "LICENSE".into(),
                data: b"license".to_vec(),
                mode: 0o644,
            },
        ]
    }

    #[test]
    fn civil_dates() {
        assert_eq!(civil_from_days(0), (1970, 1, 1));
        assert_eq!(civil_from_days(3652), (1980, 1, 1));
        assert_eq!(civil_from_days(19_723), (2024, 1, 1));
        assert_eq!(civil_from_days(19_782), (2024, 2, 29));
    }

    #[test]
    fn archives_are_reproducible_sorted_and_keep_modes() {
        for name in ["a.tar.gz", "a.zip"] {
            let dir = tempfile::tempdir().unwrap();
            let p1 = dir.path().join(name);
            write(&p1, &entries(), DEFAULT_MTIME).unwrap();
            let first = std::fs::read(&p1).unwrap();
            // Same entries in another order, written again: identical bytes.
            let mut reversed = entries();
            reversed.reverse();
            write(&p1, &reversed, DEFAULT_MTIME).unwrap();
            assert_eq!(
                first,
                std::fs::read(&p1).unwrap(),
                "{name} is not reproducible"
            );
            // A different timestamp changes the bytes (the timestamp is really recorded).
            write(&p1, &entries(), DEFAULT_MTIME + 86_400).unwrap();
            assert_ne!(first, std::fs::read(&p1).unwrap(), "{name}");

            let listed = list(&p1).unwrap();
            let names: Vec<&str> = listed.iter().map(|l| l.name.as_str()).collect();
            assert_eq!(
                names,
                ["LICENSE", "README.md", "kubectl-graceful"],
                "{name}"
            );
            assert_eq!(listed[2].mode, Some(0o755), "{name}");
            assert_eq!(listed[0].mode, Some(0o644), "{name}");
            assert!(!dir.path().join("a.partial").exists());
        }
    }

    #[test]
    fn unpack_restores_files_and_modes() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("a.tar.gz");
        write(&p, &entries(), DEFAULT_MTIME).unwrap();
        let dest = dir.path().join("out");
        std::fs::create_dir(&dest).unwrap();
        unpack(&p, &dest).unwrap();
        assert_eq!(
            std::fs::read(dest.join("kubectl-graceful")).unwrap(),
            b"#!bin"
        );
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(dest.join("kubectl-graceful"))
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o755);
        }
    }

    #[test]
    fn sha256_is_lowercase_hex() {
        assert_eq!(
            sha256_hex(b"abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }
}
