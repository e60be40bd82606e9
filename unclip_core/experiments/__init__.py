"""`unclip compare`: experiment files, the variant runner, tables and plots."""

from .spec import Experiment, load_experiment
from .variants import Variant, expand_variants

__all__ = ["Experiment", "Variant", "expand_variants", "load_experiment"]
