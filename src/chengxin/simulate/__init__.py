"""A marketplace simulator with ground truth: `simulate(make_params("demo"), "events.jsonl", "truth.json")`.

See docs/simulator.md.
"""

from chengxin.simulate.params import Params, make_params
from chengxin.simulate.simulator import Simulator, simulate

__all__ = ["Params", "Simulator", "make_params", "simulate"]
