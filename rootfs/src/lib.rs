//! The container-side filesystem set-up: overlay root, mounts, /dev, pivot_root.
