"""corral's own scheduler API under /scheduler/v1: JSON, not microversioned.

Compute hosts and their services, host aggregates, server groups and placed
instances. Handlers validate and call corral.scheduler; errors use the same
JSON error body as the Placement API.
"""
