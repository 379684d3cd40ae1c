"""Nova's records: compute hosts and services, host aggregates, instances,
server groups, and what nova-compute reports; plus the host hardware models
(NUMA topology, PCI pools) those records carry.

The same floor as corral.placement: it reads and writes through corral.store
(and mirrors host aggregates into Placement's), and imports nothing above it.
Upstream keeps these outside its scheduler too (nova.compute, nova.objects,
nova.virt.hardware, nova.pci.stats); the scheduler and the front doors call in.
"""
