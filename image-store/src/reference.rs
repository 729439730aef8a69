//! Image references: the one normaliser lives in `rdocker-reference` (shared with the CLI, so
//! both name the same registry); the store uses it as `crate::reference::*`.

pub use rdocker_reference::*;

#[cfg(test)]
mod tests {
    use crate::{ErrorKind, StoreError};

    #[test]
    fn reference_errors_are_invalid_arguments_with_dockers_message() {
        for s in ["", "Busybox", &"f".repeat(64), &"a".repeat(256)] {
            let e = super::Reference::parse(s).unwrap_err();
            let msg = e.to_string();
            let e = StoreError::from(e);
            assert_eq!(e.kind(), ErrorKind::InvalidArgument, "{s}");
            assert_eq!(e.to_string(), msg, "{s}");
        }
    }
}
