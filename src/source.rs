//! Reading an input file (`-f FILE` or `-` for stdin) as kubectl does, for every subcommand that reads
//! manifests or dumps: UTF-8 with or without a BOM, UTF-16 with a BOM (`unicode.BOMOverride` in
//! cli-runtime's resource/visitor.go). Failures are one short reason, without OS error numbers.

use std::io::Read;
use std::path::Path;

/// Where an input came from, as shown in messages: the path, or `<stdin>`.
pub fn shown(path: &Path) -> String {
    if path.as_os_str() == "-" {
        "<stdin>".to_string()
    } else {
        path.display().to_string()
    }
}

/// The text of `path` (`-` = stdin), or why it cannot be used.
pub fn read_text(path: &Path) -> Result<String, String> {
    let bytes = if path.as_os_str() == "-" {
        let mut b = Vec::new();
        std::io::stdin()
            .read_to_end(&mut b)
            .map_err(|e| format!("cannot read: {}", io_reason(&e)))?;
        b
    } else {
        std::fs::read(path).map_err(|e| io_reason(&e))?
    };
    decode(&bytes)
}

/// An I/O error as a short reason a user can act on (no "(os error N)").
pub fn io_reason(e: &std::io::Error) -> String {
    use std::io::ErrorKind::*;
    match e.kind() {
        NotFound => "no such file or directory".into(),
        PermissionDenied => "permission denied (check the file's permissions)".into(),
        IsADirectory => "is a directory".into(),
        _ => {
            let s = e.to_string();
            match s.find(" (os error") {
                Some(i) => s[..i].to_string(),
                None => s,
            }
        }
    }
}

/// The text of a file, or why it is not text.
pub fn decode(bytes: &[u8]) -> Result<String, String> {
    let utf16 = |be: bool, body: &[u8]| {
        let units: Vec<u16> = body
            .chunks(2)
            .map(|c| {
                let pair = [c[0], *c.get(1).unwrap_or(&0)];
                if be {
                    u16::from_be_bytes(pair)
                } else {
                    u16::from_le_bytes(pair)
                }
            })
            .collect();
        String::from_utf16(&units).map_err(|_| "not valid UTF-16 text".to_string())
    };
    match bytes {
        [0xEF, 0xBB, 0xBF, rest @ ..] => {
            String::from_utf8(rest.to_vec()).map_err(|_| "not a text file (invalid UTF-8)".into())
        }
        [0xFF, 0xFE, rest @ ..] => utf16(false, rest),
        [0xFE, 0xFF, rest @ ..] => utf16(true, rest),
        _ => {
            String::from_utf8(bytes.to_vec()).map_err(|_| "not a text file (invalid UTF-8)".into())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn boms_and_utf16_like_kubectl() {
        assert_eq!(decode(b"\xEF\xBB\xBFkind: Pod").unwrap(), "kind: Pod");
        let le: Vec<u8> = [0xFF, 0xFE]
            .into_iter()
            .chain("kind: Pod".encode_utf16().flat_map(|u| u.to_le_bytes()))
            .collect();
        assert_eq!(decode(&le).unwrap(), "kind: Pod");
        let be: Vec<u8> = [0xFE, 0xFF]
            .into_iter()
            .chain("kind: Pod".encode_utf16().flat_map(|u| u.to_be_bytes()))
            .collect();
        assert_eq!(decode(&be).unwrap(), "kind: Pod");
        assert!(decode(b"\xFF\xFF\x00").is_err());
        assert!(decode(&[0x80, 0x81]).unwrap_err().contains("UTF-8"));
    }

    #[test]
    fn io_errors_read_without_os_numbers() {
        let missing = std::fs::read("/nonexistent/x.yaml").unwrap_err();
        assert_eq!(io_reason(&missing), "no such file or directory");
        assert_eq!(
            read_text(Path::new("/nonexistent/x.yaml")).unwrap_err(),
            "no such file or directory"
        );
    }
}
