"""Generate firmware projects from templates and build them."""

from edgetx.codegen.project import BuildError, build_firmware, render_project

__all__ = ["BuildError", "build_firmware", "render_project"]
