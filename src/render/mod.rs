//! Rendering cloud-init user-data from minijinja templates.
