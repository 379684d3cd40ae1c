"""The resource model: domain rules over the store, and the candidate search."""
