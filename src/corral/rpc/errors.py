"""What the RPC layer raises: a refused message, and the exception Nova expects.

The scheduler's own "nothing fits" is corral.scheduler.spec.NoValidHost; the
endpoint turns it into NovaNoValidHost, which is what travels to nova-conductor.
"""

from __future__ import annotations


class InvalidMessage(ValueError):
    """A message (or one argument of it) that corral refuses to act on.

    `path` names the offending part ("spec_obj.flavor.vcpus"), so the log line
    says exactly what was wrong; nothing was decoded past it and nothing changed.
    """

    def __init__(self, path: str, problem: str) -> None:
        super().__init__(f"{path}: {problem}" if path else problem)
        self.path = path
        self.problem = problem


class NovaNoValidHost(Exception):
    """Nova's nova.exception.NoValidHost, as oslo.messaging sends it back.

    oslo.messaging serialises a failure by its class's module and name plus
    its `args` and `kwargs`; nova-conductor rebuilds it from those with
    `nova.exception.NoValidHost(*args, **kwargs)`. So this class carries
    Nova's module and name, Nova's message format ("No valid host was found.
    <reason>") and the kwargs Nova's own exception carries (`reason`, `code`).
    Nothing is imported from or patched into Nova.
    """

    __module__ = "nova.exception"
    # Nova's NovaException default, sent in kwargs as Nova sends it.
    code = 500

    def __init__(self, reason: str) -> None:
        message = f"No valid host was found. {reason}"
        super().__init__(message)
        self.kwargs: dict[str, object] = {"reason": reason, "code": self.code}
        self.message = message


# oslo.messaging's serialize_remote_exception names a failure by its class's
# __module__ and __name__, and nova-conductor looks that name up in
# nova.exception, so on the wire this class must be called NoValidHost. Its
# Python name differs only so that corral.scheduler.spec.NoValidHost has no twin.
NovaNoValidHost.__name__ = NovaNoValidHost.__qualname__ = "NoValidHost"
