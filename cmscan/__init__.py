"""cmscan: find leaked CrossModel API keys before someone spends your balance."""

__version__ = "0.1.0"
