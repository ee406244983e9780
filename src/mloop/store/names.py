"""Readable default run names such as ``brisk-heron-417``."""

from __future__ import annotations

import secrets

_ADJECTIVES = (
    "amber bold brisk calm clever crisp daring eager fair fleet gentle glad grand keen "
    "lively lucid merry nimble noble plucky proud quick quiet rapid serene sharp shy "
    "steady sunny swift tidy vivid warm wise witty young zesty"
).split()
_NOUNS = (
    "badger bison crane deer dolphin eagle falcon ferret finch fox gecko heron ibis "
    "jaguar koala lark lemur lynx marten moose newt otter owl panda puffin quail raven "
    "robin seal sparrow stork swan tapir tern trout viper walrus wombat wren yak"
).split()


def run_name() -> str:
    return (
        f"{secrets.choice(_ADJECTIVES)}-{secrets.choice(_NOUNS)}-{secrets.randbelow(1000):03d}"
    )
