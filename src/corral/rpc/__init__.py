"""The Nova-compatible RPC face: oslo.messaging on the `scheduler` topic.

corral decodes Nova's versioned-object primitives itself (corral.rpc.objects
describes the ones it reads, corral.rpc.primitives checks and decodes them),
without importing Nova, and answers in the primitives Nova's own code reads.
Only corral.rpc.server imports oslo.messaging, and only when a worker starts.
"""
