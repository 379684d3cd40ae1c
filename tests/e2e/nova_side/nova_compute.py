"""nova-compute, with the test cloud's driver (e2e_fake.py) importable.

Nova loads `[DEFAULT] compute_driver` as nova.virt.<compute_driver>, so
e2e_fake is registered under that package before nova-compute's own main
runs. Usage: python nova_compute.py --config-file ... (as nova-compute).
"""

import sys

from nova.cmd.compute import main  # first: it sets Nova's concurrency mode up

if __name__ == "__main__":
    import e2e_fake

    sys.modules["nova.virt.e2e_fake"] = e2e_fake
    sys.exit(main())
