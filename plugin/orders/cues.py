"""Word classes that mark a sentence addressed to the agent, each a small regex over a lower-cased sentence.

They are classes of words, not phrases: who is addressed (the agent, "you"), what is asked (an imperative at the
start of a clause, a modal), what for (priority or exclusivity, secrecy, sensitive resources such as keys and
tokens, other tools' data) and what is said of the other tools (broken, deprecated). A detector weighs them,
and their pairs, with hashed words (:mod:`hopscout.orders.features`)."""

from __future__ import annotations

import re

_NOUN_TOOLS = (
    r"(?:tools?|functions?|utilit(?:y|ies)|services?|plugins?|connectors?|servers?|apis?|endpoints?|options)"
)

CUES: dict[str, re.Pattern[str]] = {
    name: re.compile(pattern)
    for name, pattern in {
        "agent": r"\b(?:assistants?|(?:language )?models?|ai|agents?|llms?|chatbots?|claude|gpt|copilot|bot)\b",
        "second_person": r"\b(?:you|your|yours|yourself|you're|you'll|you've)\b",
        "self": r"\bthis (?:tool|utility|function|service|endpoint|plugin|connector|capability|helper|integration"
        r"|server|api|mcp|skill|extension)\b|\b(?:call|use|invoke|choose|pick) (?:me|it)\b",
        "others": r"\b(?:other|another|alternative|remaining|competing|rest of the|older|legacy|built-in|existing)\b"
        r"[\w\s'-]{0,30}?\b" + _NOUN_TOOLS + r"\b",
        "priority": r"\b(?:first|before|prior to|precedence|priority|primary|supersedes?|exclusive(?:ly)?|sole(?:ly)?"
        r"|only|instead of|by default|whenever|regardless|no matter|above all|at all times|always|in all cases"
        r"|preferred|prefer|authoritative|one and only|no other)\b",
        "every": r"\b(?:every|each|all|any|whatever|everything|anything)\b",
        "secrecy": r"\b(?:do not|don't|never|must not|without|no need to|avoid|not)\b[\w\s',]{0,40}?"
        r"\b(?:tell|telling|mention|mentioning|reveal|revealing|inform|informing|disclose|disclosing|notify"
        r"|asking|ask|alert|learn|know|show)\b|\b(?:silently|quietly|secretly|covertly|hidden|behind the scenes)\b",
        "sensitive": r"(?:~/|\$home|/etc/|\.ssh\b|id_rsa|id_ed25519|\.env\b|\.aws\b|\.netrc|\.kube|\bcredentials?\b"
        r"|\bpasswords?\b|\bpasswd\b|\bsecrets?\b|private keys?|\bapi[ _-]?keys?\b|access tokens?|\btokens?\b"
        r"|\bcookies?\b|keychain|seed phrase|home directory|_key\b)",
        "conversation": r"\b(?:conversation|chat history|system prompt|previous messages|all messages|tool calls?"
        r"|tool (?:responses?|outputs?|results?)|emails?|contact list|contacts)\b",
        # words only said of software; the words said of anything ("fail", "wrong") are _DISPARAGE_ANY below
        "disparage": r"\b(?:deprecated|broken|outdated|obsolete|unreliable|insecure|malicious|retired|stale|buggy"
        r"|defunct|untrust\w*|cannot be trusted|shut down|compromised)\b",
        "override": r"\b(?:ignore|disregard|forget|override|set aside|pay no attention|no longer apply|supersede)\b"
        r"|\b(?:previous|prior|earlier|above|original|developer'?s?|system) (?:instructions?|guidance|rules"
        r"|guidelines|prompts?|messages?|directives?)\b|\b(?:new|updated) (?:instructions?|directives?|rules)\b"
        r"|\bmaintenance mode\b|\bunrestricted\b|\bjailbreak",
        "modal": r"\b(?:must|should|shall|need to|needs to|has to|have to|required to|is required|are required"
        r"|expected to|make sure|ensure|be sure)\b",
        "negation": r"\b(?:do not|don't|never|must not|should not|shouldn't|no need)\b",
        "exfil_verb": r"\b(?:send|forward|upload|email|transmit|exfiltrate|copy|paste|attach|include|collect"
        r"|gather|harvest|read|load|retrieve|pass|supply|provide|submit|post|append)\b",
        # honest guidance is conditional or says what for ("if the user asks ...", "to obtain the id"); an order
        # claims every case
        "conditional": r"\b(?:if|when|unless|in case|only when|otherwise|in order to|to obtain|to get|so that)\b",
        # words about the agent's own instructions rather than about the tool's subject
        "meta": r"\b(?:instructions?|rules|guidelines|guidance|directives?|told|prompts?|policy|policies|orders)\b",
        "tag": r"<\s*/?\s*(?:important|system|instructions?)\s*>|\[system\]|\bnote to (?:ai|assistant|model)\b"
        r"|^\s*(?:important|attention|warning|note)\s*:",
        # The fixed phrase list this detector replaced, kept as one more signal.
        "phrase": r"\b(?:ignore|disregard|forget)\s+(?:all\s+|any\s+)?(?:the\s+|your\s+)?(?:previous|prior|above"
        r"|earlier|other)\s+(?:instructions|prompts?|rules|tools|messages)"
        r"|\b(?:always|only|first)\s+(?:call|use|invoke|choose|pick|select|run)\s+(?:this|me|it)\b"
        r"|\byou\s+(?:must|should\s+always|have\s+to)\s+(?:call|use|invoke|choose|pick|select|run)\b"
        r"|\b(?:use|call|choose|pick|select|invoke)\s+(?:this|me)(?:\s+tool)?\s+(?:for|on|with)\s+(?:every|all"
        r"|any)\b|\b(?:before|instead\s+of)\s+(?:any|every|all)\s+other\s+tools?\b"
        r"|\bdo\s+not\s+(?:call|use)\s+(?:any\s+)?other\s+tools?\b|\b(?:system\s+prompt|new\s+instructions)\s*:",
    }.items()
}

# Said of anything: a study's regions "fail to meet the goal", a test is "wrong". They count as disparaging only in
# a sentence that names tools or their alternatives (a SciFact abstract was flagged on "expected to fail" alone).
_DISPARAGE_ANY = re.compile(
    r"\b(?:no longer|fail\w*|wrong|incorrect|inferior|harmful|dangerous|avoid|leak\w*|corrupt\w*)\b"
)
_TOOLS_NAMED = re.compile(
    r"\b" + _NOUN_TOOLS + r"\b|\b(?:toolbox|toolkit|others|alternatives?|anything else|the rest)\b"
)

# Base-form verbs that open an order ("Send ...", "Ignore ..."); honest descriptions open with some too ("Get the
# weather"), so this is one feature among others, weighed with what follows it.
_IMPERATIVE_WORDS = (
    "ignore disregard forget use call invoke send read pass include make ensure always never do don't "
    "prefer route forward upload email collect gather retrieve copy paste provide set fill load append "
    "start treat avoid keep perform act pay obey follow run trust rely tell check open access submit put "
    "add return save delete remove get search find create begin consult hand look secretly quietly "
    "whenever before instead"
)
_IMPERATIVES = frozenset(_IMPERATIVE_WORDS.split())
_OPENER = re.compile(r"^(?:\W|important|attention|warning|note|to|ai|system|\s)*")
_WORD = re.compile(r"[a-z0-9]+(?:'[a-z]+)?")
PAIRS = (
    ("imperative", "self"),
    ("imperative", "agent"),
    ("imperative", "sensitive"),
    ("imperative", "others"),
    ("imperative", "every"),
    ("imperative", "conversation"),
    ("modal", "agent"),
    ("modal", "second_person"),
    ("modal", "self"),
    ("sensitive", "exfil_verb"),
    ("conversation", "exfil_verb"),
    ("others", "disparage"),
    ("self", "priority"),
    ("self", "every"),
    ("priority", "every"),
    ("negation", "second_person"),
    ("secrecy", "agent"),
    ("secrecy", "second_person"),
    ("meta", "imperative"),
    ("meta", "second_person"),
    ("meta", "agent"),
    ("conditional", "modal"),
    ("conditional", "self"),
)
NAMES = (*CUES, "imperative", *(f"{a}*{b}" for a, b in PAIRS))


def cue_vector(sentence: str) -> list[float]:
    """One 0/1 value per name in :data:`NAMES` for a lower-cased sentence."""
    hits = {name: 1.0 if pattern.search(sentence) else 0.0 for name, pattern in CUES.items()}
    if not hits["disparage"] and _DISPARAGE_ANY.search(sentence) and _TOOLS_NAMED.search(sentence):
        hits["disparage"] = 1.0
    first = _WORD.findall(_OPENER.sub("", sentence, count=1)[:40])
    hits["imperative"] = 1.0 if first and first[0] in _IMPERATIVES else 0.0
    return [*hits.values(), *(hits[a] * hits[b] for a, b in PAIRS)]
