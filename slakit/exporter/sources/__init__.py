"""Log sources: follow log files and count their lines into the real-traffic counters.

`config.py` (the `sources:` model), `parsers.py` (combined and JSON lines → label values or reject reasons),
`follower.py` (reads one file across rotation, truncation and partial lines), `offsets.py` (read positions
persisted atomically), `runner.py` (`SourceSet`: one task per source, metrics, persistence).
"""
