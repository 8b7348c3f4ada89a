"""Main-text extraction from page HTML.

trafilatura.py       TrafilaturaExtractor: FineWeb's extractor, with a per-page timeout
fast_xpath.py        trafilatura's attribute-matching XPaths compiled to Python (same elements, faster)
fast_readability.py  two of trafilatura's readability steps with less work (same trees)
patches/             those two and two more swapped into trafilatura for one `extract` call at a time
resiliparse.py       ResiliparseExtractor: the fast profile's extractor
"""
