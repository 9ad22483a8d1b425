"""Runners: get firmware onto a target and hand out its console."""

from edgetx.flash.command import flash
from edgetx.flash.qemu import QemuRunner
from edgetx.flash.runner import Runner, RunnerCaps

__all__ = ["QemuRunner", "Runner", "RunnerCaps", "flash"]
