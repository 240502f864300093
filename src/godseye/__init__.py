"""godseye: active-active multi-cloud control plane and digital twin."""

__version__ = "0.1.0"
