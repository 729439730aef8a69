//! rdocker's image store: image references, the registry client (oci-client), the
//! content-addressed blob store, safe layer unpack and the image index.
//!
//! The engine talks to this crate only through [`ImageStore`] and the types re-exported here.
//! The data path of a pull reads as its stages: resolve (registry) → fetch + verify (content)
//! → decompress + unpack (unpack) → record (index).

pub mod auth;
pub mod config;
pub mod content;
pub mod error;
pub mod index;
pub mod platform;
pub mod progress;
pub mod pull;
pub mod recover;
pub mod reference;
pub mod registry;
pub mod store;
pub mod unpack;

pub use auth::Credentials;
pub use config::{RegistryConfig, StoreConfig};
pub use error::{ErrorKind, StoreError};
pub use platform::Platform;
pub use progress::PullEvent;
pub use reference::Reference;
pub use store::{
    DistributionInfo, HistoryEntry, ImageInfo, ImageStore, LayerInfo, PullOutcome, PullRequest,
    PullStatus, RemoveAction,
};
