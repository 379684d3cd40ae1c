"""Content negotiation on the Accept header, as WebOb does it for upstream Placement.

Upstream's handlers call `webob.acceptparse.AcceptValidHeader.acceptable_offers`
(through `util.check_accept` and the error formatter); this is that rule over
plain strings, so the request checks and the error bodies agree on it.
"""

from __future__ import annotations

from collections.abc import Iterable


def _media_ranges(header: str) -> list[tuple[str, str, float]] | None:
    """(type, subtype, q) per range of an Accept header; None when it does not parse."""
    out: list[tuple[str, str, float]] = []
    for part in header.split(","):
        if not part.strip():
            continue
        media, *params = (p.strip() for p in part.split(";"))
        if media.count("/") != 1:
            return None
        mtype, subtype = (x.lower() for x in media.split("/"))
        if not mtype or not subtype or (mtype == "*" and subtype != "*"):
            return None
        q = 1.0
        for param in params:
            key, _, value = param.partition("=")
            if key.strip().lower() == "q":
                try:
                    q = float(value)
                except ValueError:
                    return None
                if not 0 <= q <= 1:
                    return None
        out.append((mtype, subtype, q))
    return out


def acceptable_offers(header: str, offers: Iterable[str]) -> list[str]:
    """The offered media types the Accept header allows, best first (as WebOb's
    `acceptable_offers`: the most specific matching range decides each q; an
    unparseable header accepts everything)."""
    ranges = _media_ranges(header)
    if ranges is None:
        return list(offers)
    scored: list[tuple[float, int, str]] = []
    for index, offer in enumerate(offers):
        otype, osub = offer.lower().split("/")
        best: tuple[int, float] | None = None
        for mtype, subtype, q in ranges:
            if mtype == "*":
                specificity = 0
            elif mtype == otype and subtype == "*":
                specificity = 1
            elif mtype == otype and subtype == osub:
                specificity = 2
            else:
                continue
            if best is None or specificity > best[0]:
                best = (specificity, q)
        if best is not None and best[1] > 0:
            scored.append((-best[1], index, offer))
    return [offer for _, _, offer in sorted(scored)]
