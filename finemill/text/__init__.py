"""Text helpers the steps share, each tested identical to the datatrove code it speeds up.

words.py         datatrove's spaCy word and sentence splits, memoized per whitespace-free run
ngrams.py        Gopher's duplicated n-gram statistics on numpy slice hashes
string_index.py  a memory-mapped hash index of strings (the URL blocklists)
"""
