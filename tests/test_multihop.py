"""Multi-hop search through the public API: provenance, merge, filters, operators, training and weights."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from hopscout import EmbedderMismatchError, InvalidArgumentError, Scout
from hopscout.evaluation.multihop_eval import run_multihop_eval
from hopscout.hop import HopModel, bridge_entities, key_phrases, train_hop
from hopscout.keys import HASH_KEY
from hopscout.scout import engine_of

FIXTURES = Path(__file__).parent / "fixtures"

# A bridge chain: the question names the film; the answer needs the director's page, then the town's.
CHAIN = [
    ("film", "Moonlit Harbor is a 1999 drama film directed by Elena Vasquez and shot in Portugal."),
    ("director", "Elena Vasquez is a Chilean filmmaker born in the town of Puerto Alto."),
    ("town", "Puerto Alto is a port town on the banks of the Rio Verde in southern Chile."),
]
DISTRACTORS = [
    f"{topic} is discussed at length in this unrelated paragraph number {n} about {topic.lower()} and history."
    for n, topic in enumerate(
        [
            "Gardening",
            "Volcanoes",
            "Chess openings",
            "Jazz",
            "Glaciers",
            "Tax law",
            "Beekeeping",
            "Origami",
            "Railways",
            "Typography",
            "Cheese",
            "Comets",
        ]
    )
]
QUESTION = "Which river flows through the birthplace of the director of Moonlit Harbor?"


@pytest.fixture
def chain_scout(make_scout, collection: str) -> Scout:
    scout = make_scout(hop_fill=0.67)  # k=3 keeps the first hop's best and lets later hops fill two slots
    ids = [c[0] for c in CHAIN] + [f"d{n}" for n in range(len(DISTRACTORS))]
    metas = [{"kind": "chain"}] * len(CHAIN) + [{"kind": "noise"}] * len(DISTRACTORS)
    scout.add([c[1] for c in CHAIN] + DISTRACTORS, ids=ids, metadatas=metas, collection=collection)
    return scout


def test_entity_hops_walk_the_bridge(chain_scout: Scout, collection: str) -> None:
    single = [h.id for h in chain_scout.search(QUESTION, 3, mode="lexical", collection=collection)]
    assert "town" not in single  # the question shares no word with the answer paragraph
    hits = chain_scout.search(
        QUESTION, 3, mode="lexical", collection=collection, hops=3, beam=1, hop_operator="entity"
    )
    by_id = {h.id: h for h in hits}
    assert hits[0].id == "film" and hits[0].hop == 1 and hits[0].parent is None
    assert {"director", "town"} <= set(by_id), [h.id for h in hits]
    assert by_id["director"].hop == 2 and by_id["director"].parent == "film"
    assert by_id["town"].hop == 3 and by_id["town"].parent == "director"
    assert [h.score for h in hits] == sorted((h.score for h in hits), reverse=True)
    assert len(hits) == 3


def test_hops_keep_the_first_hop_head_and_respect_filters(chain_scout: Scout, collection: str) -> None:
    plain = chain_scout.search(QUESTION, 6, collection=collection)
    hopped = chain_scout.search(QUESTION, 6, collection=collection, hops=2, hop_operator="mix")
    keep = 6 - round(6 * chain_scout.settings.hop_fill)
    assert [h.id for h in hopped[:keep]] == [h.id for h in plain[:keep]]
    assert len(hopped) == 6 and len({h.id for h in hopped}) == 6
    filtered = chain_scout.search(
        QUESTION, 3, collection=collection, hops=2, hop_operator="entity", where={"kind": "chain"}
    )
    assert {h.id for h in filtered} <= {"film", "director", "town"}


@pytest.mark.parametrize("operator", ["learned", "treehop"])
def test_shipped_learned_operators_load_and_run(chain_scout: Scout, collection: str, operator: str) -> None:
    hits = chain_scout.search(QUESTION, 5, collection=collection, hops=2, hop_operator=operator)
    assert len(hits) == 5 and any(h.hop == 2 for h in hits)


def test_default_operator_walks_the_bridge(chain_scout: Scout, collection: str) -> None:
    assert chain_scout.settings.hop_operator == "bridge_phrase"
    hits = chain_scout.search(QUESTION, 3, mode="lexical", collection=collection, hops=3, beam=1)
    assert [(h.id, h.hop, h.parent) for h in hits] == [
        ("film", 1, None),
        ("director", 2, "film"),
        ("town", 3, "director"),
    ]


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"hops": 0}, "hops"),
        ({"hops": 9}, "hops"),
        ({"hops": "2"}, "hops"),
        ({"hops": 2, "beam": 0}, "beam"),
        ({"hops": 2, "hop_operator": "psychic"}, "identity"),
    ],
)
def test_bad_hop_arguments(chain_scout: Scout, collection: str, kwargs, match) -> None:
    with pytest.raises(InvalidArgumentError, match=match):
        chain_scout.search(QUESTION, 3, collection=collection, **kwargs)


def test_bridge_entities_skip_names_the_question_has() -> None:
    names = bridge_entities(CHAIN[0][1], QUESTION)
    assert "Elena Vasquez" in names and not any("Moonlit" in n for n in names)


def test_train_hop_saves_weights_that_refuse_another_embedder(embedder, tmp_path) -> None:
    out = tmp_path / "w.learned.npz"
    card = train_hop(embedder, [FIXTURES / "chains_hotpotqa_ircot"], "learned", out, epochs=1)
    assert out.exists() and card["embedder"] == embedder.id and card["dim"] == 384
    assert set(card["held_out_oracle"]) == {"query_alone", "learned"}
    model = HopModel.load(out, embedder.id, 384)
    q, c = embedder.embed_queries(["a question"])[0], embedder.embed_documents(["a passage"])[0]
    assert np.isclose(np.linalg.norm(model.vector(q, c)), 1.0, atol=1e-3)
    assert json.loads(out.with_suffix(".json").read_text())["arch"] == "learned"
    with pytest.raises(EmbedderMismatchError, match="train-hop"):
        HopModel.load(out, "some/other-model", 384)


def _lower_chain_scout(make_scout, collection: str, **settings: object) -> Scout:
    scout = make_scout(hop_fill=0.67, **settings)
    ids = [c[0] for c in CHAIN] + [f"d{n}" for n in range(len(DISTRACTORS))]
    scout.add(
        [c[1].lower() for c in CHAIN] + [d.lower() for d in DISTRACTORS], ids=ids, collection=collection
    )
    return scout


def _phrase_rows(scout: Scout, collection: str) -> int:
    """Passages whose stored key phrases match their current content."""
    engine = engine_of(scout)
    index = engine.index(collection)
    hashes = {i: doc.metadata[HASH_KEY] for i, doc in index.get(index.ids()).items()}
    return len(engine.phrases(index).table.get(hashes))


def test_phrase_hops_walk_the_chain_without_capitals(make_scout, collection: str) -> None:
    scout = _lower_chain_scout(make_scout, collection)
    question = QUESTION.lower()
    assert _phrase_rows(scout, collection) == len(CHAIN) + len(DISTRACTORS)  # encoded when written
    bridge = scout.search(
        question, 3, mode="dense", collection=collection, hops=3, beam=1, hop_operator="bridge"
    )
    assert all(h.hop == 1 for h in bridge)  # no capitalised names: the text bridge has nothing to follow
    hits = scout.search(
        question, 3, mode="dense", collection=collection, hops=3, beam=1, hop_operator="phrase"
    )
    by_id = {h.id: h for h in hits}
    assert hits[0].id == "film" and {"director", "town"} <= set(by_id), [(h.id, h.hop) for h in hits]
    assert by_id["director"].hop == 2 and by_id["director"].parent == "film"
    assert by_id["town"].hop == 3 and by_id["town"].parent == "director"
    fused = scout.search(
        question, 3, mode="dense", collection=collection, hops=3, beam=1, hop_operator="bridge_phrase"
    )
    assert [h.id for h in fused] == [h.id for h in hits]  # the bridge half adds nothing on lower-case text
    wide = scout.search(
        question, 3, mode="dense", collection=collection, hops=2, beam=3, hop_operator="phrase"
    )
    assert all(
        h.parent != h.id for h in wide
    )  # a passage's own phrases lead back to it: never its own parent


def test_phrases_chosen_in_a_smaller_collection_are_remade(make_scout, collection: str) -> None:
    scout = make_scout(hop_fill=0.67)
    texts = [c[1].lower() for c in CHAIN] + [d.lower() for d in DISTRACTORS]
    ids = [c[0] for c in CHAIN] + [f"d{n}" for n in range(len(DISTRACTORS))]
    for doc_id, text in zip(
        ids, texts
    ):  # one at a time: "elena vasquez" had no second passage when film came
        scout.add([text], ids=[doc_id], collection=collection)
    hits = scout.search(
        QUESTION.lower(), 3, mode="dense", collection=collection, hops=3, beam=1, hop_operator="phrase"
    )
    assert [(h.id, h.parent) for h in hits] == [("film", None), ("director", "film"), ("town", "director")]
    engine = engine_of(scout)
    phrases_file = engine.phrases(engine.index(collection)).table.path
    scout.drop_collection(collection)
    assert not phrases_file.exists()


def test_phrases_are_made_on_the_first_hop_when_not_indexed(make_scout, collection: str) -> None:
    scout = _lower_chain_scout(make_scout, collection, index_phrases=False)
    assert _phrase_rows(scout, collection) == 0
    hits = scout.search(
        QUESTION.lower(), 3, mode="dense", collection=collection, hops=2, beam=1, hop_operator="phrase"
    )
    assert [h.id for h in hits[:2]] == ["film", "director"] and hits[1].parent == "film"
    assert _phrase_rows(scout, collection) == 1  # only the passage the hop started from
    scout.add(["elena vasquez directed moonlit harbor, a drama film."], ids=["film"], collection=collection)
    assert _phrase_rows(scout, collection) == 0, "an updated passage's phrases are stale until its next hop"


def test_key_phrases_ignore_capitals_and_need_a_second_passage() -> None:
    counts = {"elena": 2, "vasquez": 2, "chilean": 1, "filmmaker": 3, "town": 9, "puerto": 2, "alto": 2}
    text = CHAIN[1][1]
    assert key_phrases(text, counts, 20) == key_phrases(text.lower(), counts, 20)
    phrases = key_phrases(text, counts, 20)
    assert "elena vasquez" in phrases and "puerto alto" in phrases
    assert not any("chilean" in p for p in phrases)  # in one passage only: it links nothing


def test_multihop_eval_reports_operators_cost_and_oracle_on_a_lower_cased_copy(make_scout) -> None:
    scout = make_scout()
    report = run_multihop_eval(
        FIXTURES / "chains_hotpotqa_ircot",
        scout,
        operators=["bridge", "phrase", "bridge_phrase"],
        oracle=True,
        lowercase=True,
    )
    results = report["results"]
    assert report["dataset"].endswith("-lc") and report["queries"] == 29
    assert results["hop:bridge:fill0.3"]["all@10"] == results["hybrid"]["all@10"]  # nothing to bridge
    assert results["hop:phrase:fill0.3"]["all@10"] >= results["hybrid"]["all@10"]
    cost = report["phrase_cost"]
    assert cost["phrases_s"] > 0 and cost["bytes_per_passage"] > 0 and cost["time_ratio"] > 0
    assert set(report["oracle"]) == {"query_alone", "bridge", "phrase", "bridge_phrase"}
    oracle = report["oracle"]
    assert all(row["pairs"] > 0 for row in oracle.values())
    assert oracle["bridge"]["mrr"] == 0.0  # lower-cased: no names, so no bridge query at all
    assert (
        oracle["phrase"]["mrr"] > oracle["query_alone"]["mrr"]
    )  # the phrase hop finds the other gold sooner
    assert "eval-phrase-cost-scratch" not in {c.name for c in scout.collections()}
