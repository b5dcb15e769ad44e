"""Task implementations; each is named by its spec in :mod:`benchmark.specs` and imported when a run starts."""
