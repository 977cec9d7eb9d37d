"""The verbs that open a clause of each kind, and the quantity words of a new thing, as regex alternations.

Each list is tried in the order written, so a longer phrase stands before a shorter one it starts with.
"""
from __future__ import annotations


def _one_of(*words: str) -> str:
    """A non-capturing regex group matching any of ``words`` (regex syntax allowed), tried in order."""
    return "(?:" + "|".join(words) + ")"


#: Verbs of a removal ('get' and 'take' last: 'get rid of' and 'take away' must win).
_REMOVE_VERB = _one_of(
    "remove", "delete", "erase", "eliminate", "get rid of", "rid", "take away", "take out", "take off", "clear away",
    "clear out", "clear off", "wipe away", "wipe out", "wipe off", "cut out", "cut away", "crop out", "edit out",
    "photoshop out", "paint out", "drop", "lose", "ditch", "nuke", "kill", "hide", "scrap", "strip away",
    "strip off", "zap", "throw away", "throw out", "clean up", "clean off", "clean away", "pull out", "knock out",
    "get out", "do away with", "delete out", "blur out", "mask out", "erase out", "cover up", "take down",
    "tear down", "pull down", "remove all", "get", "take", "clear")

#: What a thing does when it goes ('make the car disappear').
_VANISH = _one_of(
    "disappear", "vanish", "go away", "be gone", "gone", "invisible", "leave", "go", "get lost", "fade away",
    "fade out")

#: Verbs of an addition.
_ADD_VERB = _one_of(
    "add", "insert", "include", "draw", "draw in", "paint in", "sketch in", "put", "place", "stick", "attach",
    "throw in", "drop in", "pop", "plop", "slap", "bring in", "bring", "set", "hang", "plant", "spawn", "generate",
    "create", "paint", "put in", "add in", "show", "sprinkle", "scatter", "position", "install", "mount",
    "introduce", "overlay", "superimpose", "append", "addon", "add on")

#: Verbs of a change of look.
_CHANGE_VERB = _one_of(
    "make", "turn", "change", "convert", "transform", "render", "color", "colour", "recolor", "recolour", "paint",
    "dye", "tint", "let", "switch", "swap", "swap out", "replace", "exchange", "substitute", "modify", "edit",
    "restyle", "alter", "tweak", "adjust", "redo", "update", "set", "transform", "morph", "fix", "redesign",
    "upgrade", "have", "get")

#: Quantity words that make a phrase indefinite: a new thing ('a hat', 'two birds').
_INDEF = _one_of(
    "a", "an", "some", "more", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten", r"\d+",
    "another", "a few", "a couple of", "a pair of", "several", "many", "lots of", "a bunch of", "one", "few") + r"\b"

#: Verbs (and openers) that start a new edit clause, for splitting multi-edit instructions.
_CLAUSE_VERBS = _one_of(
    "remove", "delete", "erase", "eliminate", "get rid", "take", "clear", "wipe", "cut", "drop", "lose", "ditch",
    "hide", "add", "insert", "put", "place", "give", "let", "make", "turn", "change", "convert", "transform",
    "replace", "swap", "switch", "color", "recolor", "paint", "dye", "render", "apply", "move", "send", "blur",
    "brighten", "darken", "desaturate", "sharpen", "also", "then", "set", "stick", "draw", "include", "bring",
    "teleport", "fix", "can you", "could you", "please")
