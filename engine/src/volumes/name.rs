//! Volume names: Docker's rule for the local driver, and anonymous names.

use std::io::Read;

use super::VolumeError;

/// Docker's `[a-zA-Z0-9][a-zA-Z0-9_.-]+`: at least two characters, no slash, no leading
/// punctuation (so never `.`, `..` or a hidden directory).
pub fn validate(name: &str) -> Result<(), VolumeError> {
    let mut chars = name.chars();
    let first_ok = chars.next().is_some_and(|c| c.is_ascii_alphanumeric());
    let rest: Vec<char> = chars.collect();
    let rest_ok = !rest.is_empty()
        && rest
            .iter()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-'));
    if first_ok && rest_ok {
        Ok(())
    } else {
        Err(VolumeError::InvalidName(name.to_string()))
    }
}

/// 64 random hex digits, as Docker names anonymous volumes.
pub fn random() -> Result<String, VolumeError> {
    let mut buf = [0u8; 32];
    std::fs::File::open("/dev/urandom")
        .and_then(|mut f| f.read_exact(&mut buf))
        .map_err(|source| VolumeError::Io {
            op: "read",
            path: "/dev/urandom".into(),
            source,
        })?;
    Ok(buf.iter().map(|b| format!("{b:02x}")).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dockers_name_rule() {
        for ok in ["ab", "a1", "my-vol", "v.1_x", "0abc", "A-"] {
            assert!(validate(ok).is_ok(), "{ok}");
        }
        for bad in [
            "", "a", "-ab", ".ab", "_ab", "a/b", "..", "a b", "/abs", "é1", "a:b",
        ] {
            assert!(
                matches!(validate(bad), Err(VolumeError::InvalidName(_))),
                "{bad}"
            );
        }
    }

    #[test]
    fn random_names_are_64_hex_and_differ() {
        let a = random().unwrap();
        let b = random().unwrap();
        assert_eq!(a.len(), 64);
        assert!(a
            .chars()
            .all(|c| c.is_ascii_hexdigit() && !c.is_ascii_uppercase()));
        assert_ne!(a, b);
        assert!(validate(&a).is_ok());
    }
}
