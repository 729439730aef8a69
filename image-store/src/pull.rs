//! TODO(image-store helper)
