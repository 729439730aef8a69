//! Pull progress events. The engine turns them into Docker's JSON progress messages;
//! `layer` is the 12-hex short id of the layer's blob digest.

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PullEvent {
    /// `{"status":"Pulling from library/busybox","id":"latest"}`
    PullingFrom {
        name: String,
        tag: String,
    },
    /// "Pulling fs layer"
    LayerWaiting {
        layer: String,
    },
    /// "Already exists"
    LayerExists {
        layer: String,
    },
    Downloading {
        layer: String,
        current: u64,
        total: u64,
    },
    VerifyingChecksum {
        layer: String,
    },
    DownloadComplete {
        layer: String,
    },
    Extracting {
        layer: String,
        current: u64,
        total: u64,
    },
    PullComplete {
        layer: String,
    },
    /// "Digest: sha256:…"
    Digest {
        digest: String,
    },
    /// "Status: Downloaded newer image for busybox:latest"
    Status {
        message: String,
    },
}
