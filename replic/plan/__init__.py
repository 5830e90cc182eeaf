"""Planning questions answered directly: the smallest k reaching a target (:func:`find_k`) and
the cheapest design under a cost per subject and per observation (:func:`cheapest_design`)."""

from replic.plan.cost import CheapestDesign, cheapest_design
from replic.plan.find_k import KSearch, find_k

__all__ = ["CheapestDesign", "KSearch", "cheapest_design", "find_k"]
