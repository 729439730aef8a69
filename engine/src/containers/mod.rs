//! Containers: the store, the state machine, the OCI spec, shim supervision.

pub struct ContainerManager {}
