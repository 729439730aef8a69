//! rdocker's runtime: the shim, namespaces, init, PTY and logs. See PROTOCOL.md.
//!
//! The path of one container through the modules:
//!
//! ```text
//! shim     setsid, config.json, ctl.sock/attach.sock, then the {"pid"} line
//! spawn    pipes or terminal socketpair, clone(CLONE_NEW*), the create/start handshake
//! child    in the clone: setns, stdio, rootfs::prepare, hostname, PTY, pivot, user, cwd,
//!          PATH lookup, PDEATHSIG; waits for "start"; execve (or tinyinit as PID 1)
//! server   one poll(2) loop: ctl and attach clients, output → logfile + attach, stdin, pidfd
//! state    state.json, atomically
//! ```
//!
//! The shim is single-threaded on purpose: clone without CLONE_VM is only safe to use like fork
//! in a process that has one thread.

pub mod args;
pub mod caps;
pub mod child;
pub mod clients;
pub mod error;
pub mod logfile;
pub mod lookup;
pub mod procattrs;
pub mod pty;
pub mod server;
pub mod shim;
pub mod spawn;
pub mod state;
pub mod sys;
pub mod timefmt;
pub mod tinyinit;
pub mod trim;
pub mod user;

pub use error::ShimError;
