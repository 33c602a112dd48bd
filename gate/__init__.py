"""gate: the software of an offline-first health-code gate scanner."""

__version__ = "0.1.0"
