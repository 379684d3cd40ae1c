"""The colour scale of utilisation, shared by the host map and the usage bars."""

from __future__ import annotations

# Lower bounds of buckets u1..u4 (u0 is under the first).
BOUNDS = (0.25, 0.5, 0.75, 0.9)
BUCKET_LABELS = ("under 25%", "25-50%", "50-75%", "75-90%", "90% or more")


def bucket_class(share: float) -> str:
    """The CSS class (u0..u4) of a share used, 0.0 to 1.0 (or more, over-committed)."""
    return f"u{sum(share >= bound for bound in BOUNDS)}"
