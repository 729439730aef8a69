//! rdocker's image store: image references, the registry client (oci-client), the
//! content-addressed blob store, safe layer unpack and the image index.
//!
//! The engine talks to this crate only through [`ImageStore`] and the types re-exported here.
//! The data path of a pull reads as its stages: resolve (`registry`, `manifest`) → config into
//! the blob store (`content`) → per layer, one streaming pass of download + sha256 +
//! decompress + unpack (`fetch`, `unpack`) → commit (`layers`) → record (`index`).
//! The on-disk layout is described in `store.rs`; crash clean-up in `recover.rs`.

pub mod auth;
mod clients;
pub mod config;
pub mod content;
pub mod error;
mod fetch;
mod flush;
mod fsutil;
mod history;
pub mod index;
pub mod layers;
mod login;
pub mod manifest;
pub mod platform;
pub mod progress;
pub mod pull;
pub mod recover;
pub mod reference;
pub mod registry;
mod remove;
pub mod store;
pub mod unpack;

pub use auth::Credentials;
pub use config::{RegistryConfig, StoreConfig};
pub use error::{ErrorKind, StoreError};
pub use platform::Platform;
pub use progress::PullEvent;
pub use reference::{Reference, ReferenceError};
pub use store::{
    DistributionInfo, HistoryEntry, ImageInfo, ImageStore, LayerInfo, PullOutcome, PullRequest,
    PullStatus, RemoveAction,
};
