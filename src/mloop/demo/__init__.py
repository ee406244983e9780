"""``mloop demo``: the whole loop, end to end, on real data (see :mod:`mloop.demo.story`)."""

from mloop.demo.story import Outcome, policies, run_demo

__all__ = ["Outcome", "policies", "run_demo"]
