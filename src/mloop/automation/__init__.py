"""Automation: policies bind a training pipeline to triggers, a gate and a rollout;
the agent closes the loop (retrain → gate → canary → promote → watch → roll back)
and writes every decision, with its reason, to an append-only event log.

    from mloop.automation import Agent, Gate, Policy, Rollout, Trigger, load_policies

    agent = Agent(mloop.Client(), load_policies("mloop.yaml"))
    agent.check()
    agent.tick()
"""

from mloop.automation.agent import Agent
from mloop.automation.guards import GUARD_NAMES, Guard, GuardCheck, parse_guard
from mloop.automation.load import load_policies
from mloop.automation.policy import Gate, Policy, Rebase, Rollout, Trigger
from mloop.automation.policyfile import POLICY_FILE, PolicyFileError, load_policy_file

__all__ = [
    "GUARD_NAMES",
    "POLICY_FILE",
    "Agent",
    "Gate",
    "Guard",
    "GuardCheck",
    "Policy",
    "PolicyFileError",
    "Rebase",
    "Rollout",
    "Trigger",
    "load_policies",
    "load_policy_file",
    "parse_guard",
]
