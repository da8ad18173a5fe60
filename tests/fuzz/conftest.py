"""The corpus holds fuzz inputs (some of them Python sources), not modules to collect."""

collect_ignore_glob = ["corpus/*", "dicts/*"]
