//! rdocker's runtime: the shim, namespaces, init, PTY and logs. See PROTOCOL.md.
//!
//! The path of one container through the modules:
//!
//! ```text
//! shim     setsid, config.json, ctl.sock/attach.sock, then the {"pid"} line
//! spawn    pipes or terminal socketpair, clone(CLONE_NEW*), the create/start handshake
//! child    in the clone: cgroup join, setns, stdio, rootfs::prepare, hostname, PTY, pivot,
//!          sysctl, user (seccomp, caps), cwd, PATH lookup, PDEATHSIG, no_new_privs (+seccomp);
//!          waits for "start"; execve (or tinyinit as PID 1)
//! server   one poll(2) loop: ctl and attach clients, output → logfile + attach, stdin, pidfd
//! state    state.json, atomically
//! ```
//!
//! The shim is single-threaded on purpose: clone without CLONE_VM is only safe to use like fork
//! in a process that has one thread.

pub mod args;
pub mod caps;
pub mod cgroupjoin;
pub mod child;
pub mod clients;
pub mod cwd;
pub mod error;
pub mod isolation;
pub mod logfile;
pub mod lookup;
pub mod procattrs;
pub mod pty;
pub mod sealed;
pub mod seccomp;
pub mod server;
pub mod shim;
pub mod spawn;
pub mod state;
pub mod sys;
pub mod sysctl;
pub mod timefmt;
pub mod timings;
pub mod tinyinit;
pub mod trim;
pub mod user;
pub mod userns;

pub use error::ShimError;
pub use sealed::sealed_copy;
