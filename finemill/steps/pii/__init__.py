"""PII scrubbing: `scrubber.PIIScrubber` replaces emails and public IPs (more presidio entities opt-in)
in every kept document, as FineWeb did, instead of dropping the document. `presidio_ip_pattern` gives
presidio's IPv6 patterns ASCII-only boundaries, for the one recognizer the scrubber builds."""
