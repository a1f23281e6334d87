"""Programs built on libquic."""

__all__: list[str] = []
