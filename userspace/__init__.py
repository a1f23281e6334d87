"""Programs built on libquic."""
