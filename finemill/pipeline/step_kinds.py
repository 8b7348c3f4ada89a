"""Recipe step names that other modules treat by kind, without importing the step classes (datatrove).

The stats and inspect commands read runs on machines where a step's dependencies may be missing, so
they key on these names rather than on the classes in `finemill.pipeline.registry`.
"""

# Steps that turn page HTML into main text; a recipe has at most one.
EXTRACT_STEPS = ("extract", "extract_resiliparse")
# Steps whose removed/ rows hold the page HTML, not extracted text.
HTML_STEPS = ("url_filter", *EXTRACT_STEPS)
