"""`corral check-config`: what a corral config or a Nova nova.conf means to corral."""
