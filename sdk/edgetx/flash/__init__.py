"""Runners: get firmware onto a target and hand out its console."""

from edgetx.flash.command import RUNNERS, flash
from edgetx.flash.esptool import EsptoolRunner
from edgetx.flash.openocd import OpenocdRunner
from edgetx.flash.pyocd import PyocdRunner
from edgetx.flash.qemu import QemuRunner
from edgetx.flash.runner import CommandRunner, Runner, RunnerCaps
from edgetx.flash.stflash import StFlashRunner

__all__ = [
    "RUNNERS",
    "CommandRunner",
    "EsptoolRunner",
    "OpenocdRunner",
    "PyocdRunner",
    "QemuRunner",
    "Runner",
    "RunnerCaps",
    "StFlashRunner",
    "flash",
]
