//! The container and exec API end to end over the unix socket with raw HTTP (no CLI): a real
//! rdockerd, real shims, real namespaces. Wire formats are checked byte for byte.

mod features;
mod http;
mod images_in_use;
mod lifecycle;
mod run;
