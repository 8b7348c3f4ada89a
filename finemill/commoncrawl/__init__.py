"""The Common Crawl client: `download.py` lists a snapshot's WARC/WET paths and downloads files
(`finemill download`), resumable and checked."""
