"""PII scrubbing: `scrubber.PIIScrubber` replaces emails and public IPs (more presidio entities opt-in)
in every kept document, as FineWeb did, instead of dropping the document."""
