"""archsearch: neural architecture search and design for PyTorch.

The core (spaces, architectures, strategies, results) imports without torch; building and
evaluating models import it when used.
"""

from __future__ import annotations

from archsearch.api import search
from archsearch.arch import Architecture, InvalidArchitecture
from archsearch.data import Data, load_data
from archsearch.function_space import FunctionSpace
from archsearch.params import Choice, Float, Int, Param
from archsearch.registry import (
    get_space,
    get_strategy,
    register_dataset,
    register_solver,
    register_space,
    register_strategy,
)
from archsearch.space import Chooser, Space, Task
from archsearch.strategy import Exhausted, Objective, Result, Strategy, Trial

__version__ = "0.1.0"

__all__ = [
    "Architecture",
    "Choice",
    "Data",
    "Chooser",
    "Exhausted",
    "Float",
    "FunctionSpace",
    "Int",
    "InvalidArchitecture",
    "Objective",
    "Param",
    "Result",
    "Space",
    "Strategy",
    "Task",
    "Trial",
    "get_space",
    "get_strategy",
    "load_data",
    "register_dataset",
    "register_solver",
    "register_space",
    "register_strategy",
    "search",
]
