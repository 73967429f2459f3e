"""The SLO spec model (`Spec`) and its loader."""

from slakit.spec.load import json_schema, load_spec, load_specs
from slakit.spec.model import SLO, Spec

__all__ = ["SLO", "Spec", "json_schema", "load_spec", "load_specs"]
