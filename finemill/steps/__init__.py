"""The steps of a recipe, by kind, in the order a document passes through them.

    read/      WARC/WET/ARC records -> datatrove Documents (page HTML)      CrawlReader
    filters/   url.py: the URL blocklists, before extraction                OfflineURLFilter
    extract/   page HTML -> main text                                       TrafilaturaExtractor, ResiliparseExtractor
    filters/   language.py, quality.py, fineweb_quality.py: on the text     FastTextLanguageFilter, Gopher*, C4, FineWeb
    dedup/     MinHash signatures, then the duplicates' removal             MinhashSignature, MinhashDuplicateFilter
    pii/       emails and IPs replaced in the kept documents                PIIScrubber
    write/     kept and removed documents as parquet                        DocumentWriter, RemovedWriter

Each is a datatrove PipelineStep. The word splitting, n-gram counting and string index they share live in
`finemill.text`; which step name in a recipe means which class is `finemill.pipeline.registry`.
"""
