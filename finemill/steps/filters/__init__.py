"""Filters that keep or remove whole documents, each a datatrove BaseFilter with FineWeb's settings.

url.py              URL blocklists (runs on the page, before extraction); url_blocklists.py is its index
language.py         fastText lid.176 language ID
quality.py          Gopher repetition, Gopher quality, C4 quality (datatrove's rules, faster word splits)
fineweb_quality.py  FineWeb's own rules (as FineWeb ran them, or datatrove's current class)
checks.py           what each filter measured against which threshold: its decision and what inspect shows
"""
