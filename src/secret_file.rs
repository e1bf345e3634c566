//! Secret files — the MQTT password, the venue's voucher secret — are kept out of config
//! files and must not be readable by other users. One check for all of them, used when a
//! config is checked and when the secret is read; a secret's content is never logged.

use std::io;
use std::path::{Path, PathBuf};

#[derive(Debug, thiserror::Error)]
pub enum SecretFileError {
    #[error("{} does not exist", path.display())]
    Missing { path: PathBuf },
    #[error("cannot read secret file {}: {source}", path.display())]
    Unreadable {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("secret file {0} is readable by other users; run: chmod 600 {0}", path.display())]
    Exposed { path: PathBuf },
}

/// Checks that `path` is a file only its owner can read; its size in bytes.
pub fn check_private(path: &Path) -> Result<u64, SecretFileError> {
    use std::os::unix::fs::PermissionsExt;
    let metadata = std::fs::metadata(path).map_err(|source| match source.kind() {
        io::ErrorKind::NotFound => SecretFileError::Missing {
            path: path.to_owned(),
        },
        _ => SecretFileError::Unreadable {
            path: path.to_owned(),
            source,
        },
    })?;
    if metadata.permissions().mode() & 0o077 != 0 {
        return Err(SecretFileError::Exposed {
            path: path.to_owned(),
        });
    }
    Ok(metadata.len())
}

/// Reads a secret file after [`check_private`].
pub fn read_private(path: &Path) -> Result<Vec<u8>, SecretFileError> {
    check_private(path)?;
    std::fs::read(path).map_err(|source| SecretFileError::Unreadable {
        path: path.to_owned(),
        source,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn only_private_files_are_read() {
        let directory = tempfile::tempdir().unwrap();
        let path = directory.path().join("secret");
        assert!(matches!(
            read_private(&path),
            Err(SecretFileError::Missing { .. })
        ));
        std::fs::write(&path, b"hunter22").unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
        let exposed = read_private(&path).unwrap_err();
        assert!(exposed.to_string().contains("chmod 600"), "{exposed}");
        assert!(!exposed.to_string().contains("hunter22"));
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
        assert_eq!(read_private(&path).unwrap(), b"hunter22");
    }
}
