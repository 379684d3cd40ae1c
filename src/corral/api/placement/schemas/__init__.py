"""JSON schemas for Placement request bodies, kept per area and microversion."""
