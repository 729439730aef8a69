//! Attach requests: connected at once to a running container, or queued until `start`.

use std::sync::Arc;

use tokio::net::UnixStream;
use tokio::sync::oneshot;

use super::entry::{Entry, PendingAttach};
use super::error::ContainerError;
use super::{shim, ContainerManager};

pub enum AttachConn {
    Ready(UnixStream),
    Pending(oneshot::Receiver<UnixStream>),
}

impl AttachConn {
    /// The shim connection; None when the container was removed or failed to start first.
    pub async fn get(self) -> Option<UnixStream> {
        match self {
            AttachConn::Ready(s) => Some(s),
            AttachConn::Pending(rx) => rx.await.ok(),
        }
    }
}

impl ContainerManager {
    pub async fn attach_begin(
        &self,
        e: &Arc<Entry>,
        hello: String,
    ) -> Result<AttachConn, ContainerError> {
        let queued = {
            let mut g = e.gate();
            if g.open {
                None
            } else {
                let (tx, rx) = oneshot::channel();
                g.pending.push(PendingAttach {
                    hello: hello.clone(),
                    tx,
                });
                Some(rx)
            }
        };
        match queued {
            Some(rx) => Ok(AttachConn::Pending(rx)),
            None => Ok(AttachConn::Ready(
                shim::attach(&self.run_dir(&e.id), &hello).await?,
            )),
        }
    }
}
