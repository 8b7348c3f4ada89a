"""The Common Crawl client: `download.py` lists a snapshot's WARC paths and downloads files, resumable and
checked; `cli.py` is `finemill download` (and the --snapshot options `finemill run` shares)."""
