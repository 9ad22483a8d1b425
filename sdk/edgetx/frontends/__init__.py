"""Audio front ends shared by training scripts and (later) the generated device code.

Import from the submodules (`edgetx.frontends.logmel`); re-exporting the `logmel` function
here would shadow the submodule of the same name.
"""
