//! rdocker's runtime: the shim, namespaces, init, PTY and logs. See PROTOCOL.md.
