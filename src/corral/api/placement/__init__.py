"""Handlers for the OpenStack Placement API."""
