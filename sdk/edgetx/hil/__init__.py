"""Hardware-in-the-loop: run a dataset on a device and compare it with the host reference."""

from edgetx.hil.harness import run_hil

__all__ = ["run_hil"]
