"""A small JSON API for the container service pattern: health, version, statistics, digests."""
