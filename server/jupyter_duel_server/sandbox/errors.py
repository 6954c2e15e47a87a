"""Errors of the sandbox layer."""

from __future__ import annotations


class SandboxError(RuntimeError):
    """The sandbox machinery failed (an infrastructure error, never something the submission did)."""


class SandboxUnavailable(SandboxError):
    """This host cannot build the sandbox; ``missing`` names each missing piece.

    Raised instead of running code unconfined: the sandbox is never silently unsafe. The only way to run
    without it is the explicit, off-by-default ``unsafe_local_practice`` switch (see docs/security.md).
    """

    def __init__(self, missing: list[str]):
        self.missing = list(missing)
        super().__init__(
            "the judge sandbox cannot be built on this host; missing: "
            + "; ".join(self.missing)
            + " (see docs/security.md; for local practice only, KernelSandboxRunner.unsafe_local_practice=True "
            "runs submissions unconfined)"
        )
