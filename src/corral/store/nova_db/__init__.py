"""Nova's own databases, read-only: the Nova 34 API and cell schemas (only the
columns corral reads) and the queries nova-scheduler's HostManager makes.

corral.compute.nova_feed turns these rows into corral's compute records.
"""
