"""The HTTP face: the Placement API and corral's own scheduling API."""
