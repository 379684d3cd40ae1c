"""The stages of one decision, in the order they run (corral.scheduler.pipeline
wires them): search (request filters, Placement, the pre-filter) → rank (host
filters, weighers, the pick) → claim (the only stage that writes) → consume
(what the choice takes from the batch) → alternates (the Selections)."""
