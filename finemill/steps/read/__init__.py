"""Reading crawl files: `warc.CrawlReader` turns WARC, WET and ARC records into Documents, counting what it
skips (requests, metadata, non-HTML payloads, broken gzip members) by reason."""
