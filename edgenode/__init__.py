"""edgenode: a Netlify-compatible edge node."""

__version__ = "0.1.0"
