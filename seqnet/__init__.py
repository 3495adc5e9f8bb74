"""seqnet: recurrent sequence models for every task shape."""

__version__ = "0.1.0"
