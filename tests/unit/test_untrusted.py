"""hopscout.untrusted: names that cannot pass for others, and others' words made safe to quote."""

from __future__ import annotations

import pytest

from hopscout.untrusted import (
    MAX_TOOL_NAME_CHARS,
    hidden,
    namespace_problem,
    shown,
    tool_name_problem,
    untrusted_text,
)


@pytest.mark.parametrize(
    ("name", "problem"),
    [
        ("", "it is empty"),
        (None, "it is empty"),
        (5, "it is a int"),
        ("a" * (MAX_TOOL_NAME_CHARS + 1), f"it is {MAX_TOOL_NAME_CHARS + 1} characters long (at most 128)"),
        ("mail/send", "it holds '/', the server/tool separator"),
        ("send#r1", "it holds '#', the catalog's view separator"),
        ("send\u200bmail", "it holds control, invisible or bidirectional characters"),
        ("send\u202email", "it holds control, invisible or bidirectional characters"),
        ("send\ufe0fmail", "it holds control, invisible or bidirectional characters"),
        ("mail\uff0fsend", "it holds '/', the server/tool separator (after Unicode NFKC normalisation)"),
        (" send", "it starts or ends with whitespace"),
        ("ｓｅｎｄ", "it changes under Unicode NFKC normalisation (it could pass for another name)"),
    ],
)
def test_names_that_cannot_be_tool_names(name: object, problem: str) -> None:
    assert tool_name_problem(name) == problem


def test_good_names_and_the_strict_mcp_set() -> None:
    assert tool_name_problem("send_email-v2.1") is None
    assert tool_name_problem("a" * MAX_TOOL_NAME_CHARS) is None
    assert tool_name_problem("envoyer courriel") is None  # inner whitespace is allowed in a tool name
    assert tool_name_problem("mail\u2215send") is None  # a division slash, not a slash ...
    strict = tool_name_problem("mail\u2215send", strict=True)  # ... the router's rule refuses it
    assert strict is not None and strict.startswith("it holds U+2215: characters outside")
    assert tool_name_problem("m\u0430il", strict=True) is not None  # a Cyrillic a


def test_a_namespace_holds_no_whitespace() -> None:
    assert namespace_problem("my server") == "it holds whitespace"
    assert namespace_problem("files") is None
    assert namespace_problem("a/b") == "it holds '/', the server/tool separator"


def test_hidden_characters() -> None:
    assert all(hidden(c) for c in "\x00\u200b\u202e\ufe0f\u2800\U000e0041")
    assert not any(hidden(c) for c in "a é/ \u4e2d")


def test_untrusted_text_is_cleaned_and_cut() -> None:
    assert untrusted_text('say "hi"\u202e\n\tto\u200b  all') == "say 'hi' to all"
    assert untrusted_text("ﬁle") == "file"
    assert untrusted_text("abcdef", limit=4) == "abc…"
    assert untrusted_text(12) == "12"
    assert len(untrusted_text("x" * 10_000_000)) == 200


def test_shown_quotes_and_cuts() -> None:
    assert shown("a\u202eb") == repr("a\u202eb") and "\\u202e" in shown("a\u202eb")
    assert len(shown("x" * 1000)) <= 80 and "..." in shown("x" * 1000)
    assert shown(list(range(100))).endswith("...]")
