"""Host hardware models the complex filters need: NUMA topology fitting and PCI pools.

Transcriptions of the parts of Nova's nova/virt/hardware.py, nova/objects/numa.py
and nova/pci/stats.py that decide whether an instance fits a host, over plain
immutable values decoded from the hosts' and requests' JSON.
"""
