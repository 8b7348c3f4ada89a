"""finemill.stats: what a run kept, removed and why (`finemill stats`, `finemill inspect`).

load.py        open a run folder; stream parquet columns batch by batch
summary.py     per-step counts and reasons (stats.json + recounted removed/), languages, clusters
dedup.py       MinHash cluster sizes (removed metadata, or the duplicate pairs in work/)
sample.py      uniform random examples per reason without reading every text (bottom-k sampling)
explain.py     the measure behind each removal reason, against the run's threshold
histograms.py  language score and length histograms, before and after filtering, streamed
format.py      numbers for people: shares, character counts, top reasons
table.py       terminal tables (rich)
charts.py      matplotlib charts as PNG bytes
report.py      the self-contained HTML report
cli.py         the `stats` and `inspect` subcommands
"""
