"""The launcher: config in, validated, API (and RPC) workers out."""
