"""What a wrong guess would cost: unsafe actions and scopes wider than what was heard.

A misheard "turn on the kitchen light" that turns on the hallway light is a nuisance; a misheard
anything that unlocks the front door, opens the garage or switches off every light in the house
is not. Two rules follow, and the engine applies both to every repaired (not strictly heard)
match:

- scope: a match whose targets span more than what was heard — a name or area of the heard text
  dropped, so that a whole domain or the whole house is targeted — is rejected unless a word of
  scope ("all", "every", "whole", ...), an area or a floor was actually heard;
- unsafe actions (unlock, open a garage door or gate, disarm, every light off, cancel all
  timers) need a higher confidence; below it the answer is a "Did you mean …?" question. So
  does a repair acting on several entities of an area or floor that was not heard as named.

A third applies to strict parses of speech: a sentence that is only a name ("bedside lamp",
which Home Assistant's grammar takes as "turn it on") does not say what to do when it was
heard, because the word that said it is the one a recognizer drops at the end of an utterance
("bedside lamp off" heard "Bedside lamp,"); it decides only when typed.
"""

from __future__ import annotations

from hub.intents.recognize import IntentMatch
from hub.intents.sentences import canonical
from hub.intents.targets import Resolution

#: Words that say the speaker meant many things at once.
SCOPE_WORDS = frozenset({"all", "every", "everything", "everywhere", "whole", "entire", "house",
                         "home", "both", "any", "anything"})
#: Cover device classes whose opening lets someone in.
ENTRY_COVERS = frozenset({"garage", "gate", "door"})
#: Intents whose effect cannot be undone by saying the opposite.
UNSAFE_INTENTS = frozenset({"HassCancelAllTimers", "HassAlarmDisarm", "HassDisarm"})


def _opens(match: IntentMatch) -> bool:
    return match.intent in ("HassTurnOn", "HassSetPosition")


def is_unsafe(match: IntentMatch, resolution: Resolution) -> bool:
    """Whether carrying out the match is hard to undo or lets someone in."""
    if match.intent in UNSAFE_INTENTS or "disarm" in match.intent.casefold():
        return True
    targets = resolution.targets
    if match.intent == "HassTurnOff" and any(e.domain in ("lock", "alarm_control_panel")
                                             for e in targets):
        return True  # unlock / disarm
    opens_entry = _opens(match) and any(
        e.domain == "cover" and e.device_class in ENTRY_COVERS for e in targets) and (
        match.intent == "HassTurnOn" or float(match.slots.get("position", 0) or 0) > 0)
    every_light_off = match.intent == "HassTurnOff" and len(targets) > 1 and all(
        e.domain == "light" for e in targets) and not (
        match.slots.get("area") or match.slots.get("floor"))
    return opens_entry or every_light_off


def widens_scope(match: IntentMatch, resolution: Resolution, heard_words: set[str]) -> bool:
    """Whether a repaired match acts on more than what was heard.

    Several targets are only what the speaker meant when they said so: a word of scope, an
    area or floor (heard, or the satellite's own room), or a name that is itself a group.
    """
    if len(resolution.targets) <= 1:
        return False
    if heard_words & SCOPE_WORDS:
        return False
    if match.slots.get("name") and "name" not in match.context_slots:
        return False  # a heard name that means several entities is the user's own grouping
    # An area or floor was heard (the fuzzy stage checks it) or is the satellite's own room.
    return not (match.slots.get("area") or match.slots.get("floor"))


#: Words a sentence that is only a name may hold besides it: the articles and possessives of
#: the grammars' `<the>` rules (en, es, fr, it, pt), never "on" or "off".
ARTICLES = frozenset({"the", "my", "our", "a", "an", "el", "la", "los", "las", "mi", "le",
                      "les", "l", "mon", "ma", "il", "lo", "i", "gli", "o", "os", "as"})


def names_only(match: IntentMatch) -> bool:
    """Whether the matched sentence is a name and nothing that says what to do with it
    ("the bedside lamp" → turn it on, in Home Assistant's grammar)."""
    named = match.slot_texts.get("name")
    if not named or "name" in match.context_slots:
        return False
    rest = f" {canonical(match.text)} ".replace(f" {canonical(named)} ", " ", 1).split()
    return all(word in ARTICLES for word in rest)


def places_heard_exactly(match: IntentMatch, heard: str) -> bool:
    """Whether the area and floor of a repaired match were heard as they are named (spaces
    aside): a repair that acts on several entities of a room only sounding like the one heard
    ("dining room" → living room) is asked about, not carried out."""
    joined = heard.replace(" ", "")
    for slot in ("area", "floor"):
        said = match.slot_texts.get(slot)
        if not said or slot in match.context_slots:
            continue
        words = canonical(said)
        if f" {words} " not in f" {heard} " and words.replace(" ", "") not in joined:
            return False
    return True


#: An unsafe action is carried out only above this confidence (a strict parse of the best
#: hypothesis is 1.0); below it the engine asks "Did you mean …?".
UNSAFE_CONFIDENCE = 0.95
