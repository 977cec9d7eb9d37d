"""Demo support: small random models in real checkpoint formats, and the example runner."""
