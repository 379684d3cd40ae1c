"""The Nova scheduling pipeline: request filters, filters, weighers, claims."""
