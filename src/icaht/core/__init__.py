"""The pure, deterministic core: one patient's record evaluated as of one moment."""
