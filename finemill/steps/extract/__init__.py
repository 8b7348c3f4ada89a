"""Main-text extraction from page HTML.

trafilatura.py  TrafilaturaExtractor: FineWeb's extractor, with a per-page timeout
fast_xpath.py   trafilatura's attribute-matching XPaths compiled to Python (same elements, faster)
resiliparse.py  ResiliparseExtractor: the fast profile's extractor
"""
