"""hopscout.retrieval.confidence, its pure parts: the features, the stored models, the shipped defaults."""

from __future__ import annotations

import json
import math

import pytest

from hopscout.errors import InvalidArgumentError
from hopscout.retrieval import Candidates
from hopscout.retrieval.confidence import (
    DEFAULT_CONFIDENCE,
    DEFAULT_LEXICAL_CONFIDENCE,
    FEATURES,
    HIT_FEATURES,
    LEXICAL_FEATURES,
    LEXICAL_HIT_FEATURES,
    META_CONFIDENCE,
    META_CONFIDENCE_LEXICAL,
    ConfidenceModels,
    hit_features,
    load_confidence,
    query_confidence,
    query_features,
)
from hopscout.retrieval.signals import SIGNALS


def found(dense: dict, lexical: dict, term_idf: dict, features: list | None = None) -> Candidates:
    """A first retrieval's candidates with the parts the features read."""
    return Candidates(
        query="",
        vector=None,
        dense_scores=dense,
        lexical_scores=lexical,
        term_idf=term_idf,
        features=features,
    )


C = found({"a": 0.9, "b": 0.6}, {"b": 4.0, "a": 2.0}, {"x": 1.0, "y": 3.0})
RANKING = [("a", 0.8), ("b", 0.3)]
TERMS = {"a": {"x"}, "b": {"y", "z"}}


def test_query_features() -> None:
    values = query_features(C, RANKING, TERMS)
    assert len(values) == len(FEATURES)
    assert values[: len(SIGNALS)] == [0.0] * len(SIGNALS)  # no signals computed: zeros
    assert dict(zip(FEATURES[len(SIGNALS) :], values[len(SIGNALS) :])) == pytest.approx(
        {
            "lexical_coverage": 1.0,  # BM25 top 4.0 over the IDF mass 4.0
            "fused_margin": 0.5,
            "top_dense": 0.9,
            "top_lexical_share": 0.5,
            "dense_top_lexical_share": 0.5,
            "lexical_top_dense": 0.6,
            "dense_z": 0.15 / (0.15 + 1e-6),
            "lexical_z": 1.0 / (1.0 + 1e-6),
            "top_coverage": 0.25,
            "best_coverage": 0.75,
        }
    )


def test_query_features_of_one_hit_and_of_nothing() -> None:
    signal = [0.5] * len(SIGNALS)
    one = query_features(found({"a": 0.4}, {}, {}, signal), [("a", 0.4)], {})
    assert one[: len(SIGNALS)] == signal
    assert one[len(SIGNALS) :] == [0.0, 1.0, 0.4, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0]
    none = query_features(found({}, {}, {}), [], {})
    assert none == [0.0] * (len(SIGNALS) + 1) + [1.0] + [0.0] * (len(FEATURES) - len(SIGNALS) - 2)


def test_hit_features() -> None:
    values = hit_features(0.5, C, RANKING, "b", 1, TERMS)
    assert dict(zip(HIT_FEATURES, values)) == pytest.approx(
        {
            "confidence_logit": 0.0,
            "dense": 0.6,
            "lexical_share": 1.0,
            "log_rank": math.log(2),
            "fused": 0.3,
            "coverage": 0.75,
        }
    )
    certain = hit_features(1.0, C, RANKING, "zz", 0, {})
    assert certain == pytest.approx([math.log((1 - 1e-6) / 1e-6), 0.0, 0.0, 0.0, 0.0, 0.0])


def test_models_round_trip_and_load_from_metadata() -> None:
    text = DEFAULT_CONFIDENCE.to_json()
    assert ConfidenceModels.from_json(text) == DEFAULT_CONFIDENCE
    assert load_confidence({}) is DEFAULT_CONFIDENCE
    assert load_confidence({META_CONFIDENCE: 3}) is DEFAULT_CONFIDENCE
    assert load_confidence({META_CONFIDENCE: text}) == DEFAULT_CONFIDENCE
    assert len(DEFAULT_CONFIDENCE.query.coef) == len(FEATURES)
    assert len(DEFAULT_CONFIDENCE.hit.coef) == len(HIT_FEATURES)


def test_a_stored_model_of_another_shape_is_refused() -> None:
    raw = json.loads(DEFAULT_CONFIDENCE.to_json())
    raw["hit"]["coef"] = raw["hit"]["coef"][:-1]
    with pytest.raises(InvalidArgumentError, match="wrong number of features"):
        load_confidence({META_CONFIDENCE: json.dumps(raw)})


def test_the_defaults_are_surer_of_a_clear_answer_than_of_none() -> None:
    clear = found(
        {"a": 0.85, "b": 0.3, "c": 0.25}, {"a": 9.0, "b": 1.0}, {"venus": 5.0, "hottest": 3.0}, None
    )
    clear.features = [0.85, 0.55, 0.6, 0.27, 0.89, 0.2, 1.0, math.log(3), 4.0, 5.0]
    vague = found({"a": 0.2, "b": 0.19, "c": 0.18}, {}, {"thing": 0.1}, None)
    vague.features = [0.2, 0.01, 0.02, 0.008, 0.0, 0.0, 0.0, math.log(2), 0.1, 0.1]
    texts = {"a": "Venus is the hottest planet", "b": "Mars is red", "c": "a thing"}
    p_clear, p_vague = query_confidence(
        DEFAULT_CONFIDENCE,
        [clear, vague],
        [[("a", 1.0), ("b", 0.2), ("c", 0.1)], [("a", 0.5), ("b", 0.49), ("c", 0.48)]],
        texts,
    )
    assert 0.0 < p_vague < p_clear < 1.0
    assert query_confidence(DEFAULT_CONFIDENCE, [], [], {}) == []


def test_the_lexical_models_read_bm25_columns_alone() -> None:
    lexical = load_confidence({}, lexical=True)
    assert lexical is DEFAULT_LEXICAL_CONFIDENCE and lexical.bm25_only and not DEFAULT_CONFIDENCE.bm25_only
    assert len(lexical.query.coef) == len(LEXICAL_FEATURES)
    assert len(lexical.hit.coef) == len(LEXICAL_HIT_FEATURES)
    assert not {"dense_top", "top_dense", "dense_z", "agreement"} & set(LEXICAL_FEATURES)
    row = query_features(C, RANKING, TERMS)
    dense_changed = [
        v + 5.0 if name in ("dense_top", "top_dense", "dense_z") else v for name, v in zip(FEATURES, row)
    ]
    assert lexical.query_probability([row]) == pytest.approx(lexical.query_probability([dense_changed]))
    assert DEFAULT_CONFIDENCE.query_probability([row]) != pytest.approx(
        DEFAULT_CONFIDENCE.query_probability([dense_changed])
    )
    hit = hit_features(0.7, C, RANKING, "a", 0, TERMS)
    assert lexical.hit_probability([hit]) == pytest.approx(
        lexical.hit_probability([[*hit[:1], 9.0, *hit[2:]]])
    )


def test_stored_lexical_models_round_trip_under_their_own_key() -> None:
    text = DEFAULT_LEXICAL_CONFIDENCE.to_json()
    assert ConfidenceModels.from_json(text) == DEFAULT_LEXICAL_CONFIDENCE
    assert load_confidence({META_CONFIDENCE: text}, lexical=True) is DEFAULT_LEXICAL_CONFIDENCE  # not its key
    assert load_confidence({META_CONFIDENCE_LEXICAL: text}, lexical=True) == DEFAULT_LEXICAL_CONFIDENCE
    raw = json.loads(text)
    raw["features"][0] = "wind_speed"
    with pytest.raises(InvalidArgumentError, match="does not compute"):
        ConfidenceModels.from_json(json.dumps(raw))
    with pytest.raises(InvalidArgumentError, match="read the dense side"):
        load_confidence({META_CONFIDENCE_LEXICAL: DEFAULT_CONFIDENCE.to_json()}, lexical=True)
    dense_hits = json.loads(
        DEFAULT_CONFIDENCE.to_json()
    )  # lexical query features, a hit model reading "dense"
    dense_hits["query"], dense_hits["features"] = raw["query"], list(LEXICAL_FEATURES)
    with pytest.raises(InvalidArgumentError, match="read the dense side"):
        load_confidence({META_CONFIDENCE_LEXICAL: json.dumps(dense_hits)}, lexical=True)
    older = json.loads(DEFAULT_CONFIDENCE.to_json())
    del older["features"], older["hit_features"]  # stored before models named their features
    assert ConfidenceModels.from_json(json.dumps(older)) == DEFAULT_CONFIDENCE
