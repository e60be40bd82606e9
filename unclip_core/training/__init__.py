"""Lightning modules, data modules and callbacks for every trainable stage.

Import the submodules directly; this package stays light so config validation does not
pull in Lightning.
"""
