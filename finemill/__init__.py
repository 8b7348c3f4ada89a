"""finemill: from a raw web crawl to a pretrained base model."""

__version__ = "0.1.0"
