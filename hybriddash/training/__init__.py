"""Training: pairs, batch samplers (X-X-mono / X-Y / hybrid), runs, reproduction.

``SAMPLER_KINDS`` lives here, free of heavy imports, so the CLI can list the
choices without loading torch and sentence-transformers.
"""

SAMPLER_KINDS = ("mono", "cross", "hybrid")
