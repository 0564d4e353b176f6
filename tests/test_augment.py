"""Adaptive query augmentation through the public API, on the SciFact sample (40 queries, 200 abstracts)."""

from __future__ import annotations

import json
import shutil
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from hopscout import InvalidArgumentError, LLMUnavailableError, Scout, Settings
from hopscout.augment import DEFAULT_GATE, META_GATE, PRF_UNCALIBRATED, Cascade, fit_gate, load_gate
from hopscout.augment.cascade import CASCADE_BUDGET
from hopscout.calibration import calibrate_augment, calibrate_first_retrieval
from hopscout.evaluation.datasets import load_dataset
from hopscout.keys import META_CONFIDENCE, META_CONFIDENCE_LEXICAL
from hopscout.retrieval.confidence import DEFAULT_CONFIDENCE, DEFAULT_LEXICAL_CONFIDENCE
from hopscout.scout import engine_of

FIXTURES = Path(__file__).parent / "fixtures"
COLLECTION = "scifact-mini"


@pytest.fixture(scope="module")
def data() -> Any:
    return load_dataset(FIXTURES / "scifact_mini")


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory, embedder: Any, data: Any) -> Path:
    folder = tmp_path_factory.mktemp("augment")
    with Scout(Settings(home=folder), embedder=embedder) as scout:
        ids = list(data.corpus)
        scout.add([data.doc_text(i) for i in ids], ids=ids, collection=COLLECTION)
    return folder


@pytest.fixture
def scout(home: Path, embedder: Any) -> Iterator[Scout]:
    with Scout(Settings(home=home), embedder=embedder) as made:
        yield made


def _labelled(data: Any) -> tuple[list[str], list[dict[str, int]]]:
    qids = data.judged_queries
    return [data.queries[q] for q in qids], [data.qrels[q] for q in qids]


@pytest.mark.parametrize("augmenter", ["rocchio", "rm3"])
def test_always_fuses_with_the_original(scout: Scout, data: Any, augmenter: str) -> None:
    queries, _ = _labelled(data)
    plain = scout.search_batch(queries[:8], 10, collection=COLLECTION)
    augmented = scout.search_batch(
        queries[:8], 10, collection=COLLECTION, augment="always", augmenter=augmenter
    )
    changed = 0
    for before, after in zip(plain, augmented):
        assert all(h.scores["augmented"] == 1.0 for h in after)
        assert before[0].id in {h.id for h in after}  # fused with the original, never replaced
        changed += [h.id for h in before] != [h.id for h in after]
    assert changed > 0


def test_augmented_search_fills_k_beyond_the_candidate_depth(scout: Scout, data: Any) -> None:
    queries, _ = _labelled(data)
    k = scout.settings.candidates + 10  # more than each retriever's candidates
    hits = scout.search(queries[0], k, collection=COLLECTION, augment="always", augmenter="rocchio")
    assert len(hits) == k and len({h.id for h in hits}) == k


def test_never_is_the_plain_search(scout: Scout, data: Any) -> None:
    queries, _ = _labelled(data)
    plain = scout.search_batch(queries[:5], 5, collection=COLLECTION)
    never = scout.search_batch(queries[:5], 5, collection=COLLECTION, augment="never")
    assert [[h.id for h in hits] for hits in plain] == [[h.id for h in hits] for hits in never]


def test_auto_without_calibration(scout: Scout, data: Any) -> None:
    # PRF waits for a calibrated gate (and says so); the other augmenters' default gate augments the least
    # confident queries only.
    queries, _ = _labelled(data)
    results = scout.search_batch(
        queries, 5, collection=COLLECTION, augment="auto", augmenter="rm3"
    )  # never calibrated here
    assert all(hits[0].scores["augmented"] == 0.0 for hits in results)
    assert "calibrate" in (results[0][0].note or "")
    assert (
        load_gate({}, "rocchio", "hybrid") == PRF_UNCALIBRATED
        and load_gate({}, "hyde", "hybrid") == DEFAULT_GATE
    )
    # the LLM augmenters' default gate asks the LLM where the search's own confidence is below one half
    confidence = [hits[0].confidence for hits in scout.search_batch(queries, 5, collection=COLLECTION)]
    chosen = DEFAULT_GATE.decide([], confidence)
    assert chosen == [c < DEFAULT_GATE.below for c in confidence]
    assert 0 < sum(chosen) < len(chosen)


def test_setting_turns_augmentation_on(home: Path, embedder: Any, data: Any) -> None:
    queries, _ = _labelled(data)
    with Scout(Settings(home=home, augment="always", augmenter="rm3"), embedder=embedder) as scout:
        assert scout.search(queries[0], 3, collection=COLLECTION)[0].scores["augmented"] == 1.0


def test_calibrated_gate_is_stored_and_reloaded(home: Path, embedder: Any, data: Any) -> None:
    queries, relevant = _labelled(data)
    with Scout(Settings(home=home), embedder=embedder) as scout:
        fit = calibrate_augment(scout, queries, relevant, augmenter="rocchio", collection=COLLECTION)
        assert fit.gate.source == "calibrated" and fit.augmented <= 0.3
        assert fit.ndcg_gate >= fit.ndcg_never - 1e-9  # on the fit set the gate never loses
    with Scout(Settings(home=home), embedder=embedder) as fresh:  # a new process reads it from the collection
        meta = engine_of(fresh).index(COLLECTION).metadata()
        assert META_GATE in meta
        assert load_gate(meta, "rocchio", "hybrid") == fit.gate
        assert load_gate(meta, "rm3", "hybrid") == PRF_UNCALIBRATED
        results = fresh.search_batch(queries, 5, collection=COLLECTION, augment="auto", augmenter="rocchio")
        decided = fit.gate.decide([[0.0] * len(fit.gate.coef)])  # the gate runs on any signal vector
        assert len(decided) == 1
        assert sum(h[0].scores["augmented"] for h in results) == pytest.approx(fit.augmented * len(queries))


def test_refitting_what_search_reads_first_drops_the_gates_fitted_on_it(
    home: Path, tmp_path: Path, embedder: Any, data: Any
) -> None:
    """A gate reads the first retrieval's confidence: refit the weight or the confidence models and the gate
    fitted on the old ones goes (``auto`` falls back to the shipped decision); refit them unchanged and it
    stays. A confidence model the defaults beat held out is not left stored either."""
    queries, relevant = _labelled(data)
    own = tmp_path / "home"
    shutil.copytree(home, own)  # the module's collection, calibrated here alone
    with Scout(Settings(home=own), embedder=embedder) as scout:
        index = engine_of(scout).index(COLLECTION)
        calibrate_augment(scout, queries, relevant, augmenter="rocchio", collection=COLLECTION)
        gate = index.metadata()[META_GATE]
        earlier = {  # models stored by an earlier fit (here the shipped ones, stored)
            META_CONFIDENCE: DEFAULT_CONFIDENCE.to_json(),
            META_CONFIDENCE_LEXICAL: DEFAULT_LEXICAL_CONFIDENCE.to_json(),
        }
        index.update_metadata(**earlier)
        first = calibrate_first_retrieval(scout, queries, relevant, collection=COLLECTION)
        meta = index.metadata()
        assert first.dropped_gates == ("rocchio/hybrid",) and META_GATE not in meta
        assert load_gate(meta, "rocchio", "hybrid") == PRF_UNCALIBRATED
        for key, fit in (
            (META_CONFIDENCE, first.confidence),
            (META_CONFIDENCE_LEXICAL, first.confidence_lexical),
        ):
            assert (key in meta) == fit.calibrated and meta.get(key) != earlier[key]
        index.update_metadata(**{META_GATE: gate})  # as if refitted on the new ones
        again = calibrate_first_retrieval(scout, queries, relevant, collection=COLLECTION)
        assert again.dropped_gates == () and META_GATE in index.metadata()


def test_fit_gate_never_augments_when_nothing_helps() -> None:
    features = [[float(i), 0, 0, 0, 0, 0, 0, 0, 0, 0] for i in range(10)]
    assert not any(fit_gate(features, [-0.1] * 10).decide(features))
    gains = [0.5 if i < 2 else -0.2 for i in range(10)]
    chosen = fit_gate(features, gains).decide(features)
    assert chosen[:2] == [True, True] and sum(chosen) <= 3


def test_fit_gate_held_out_check_turns_off_gates_that_fit_noise() -> None:
    # Gains unrelated to the signals (as PRF gains mostly are): a threshold picked on the same queries looks like
    # a gain, and on fresh queries loses. Over 20 draws the held-out check must switch most such gates off.
    rng = np.random.default_rng(0)

    def draw(n: int) -> tuple[np.ndarray, np.ndarray]:
        gains = np.where(rng.random(n) < 0.15, rng.choice([-0.3, 0.2], n, p=[0.6, 0.4]), 0.0)
        return rng.normal(size=(n, 10)), gains

    on = {"unchecked": 0, "checked": 0}
    fresh_total = {"unchecked": 0.0, "checked": 0.0}
    for _ in range(20):
        x, gains = draw(300)
        fresh_x, fresh_gains = draw(2000)
        for name, folds in (("unchecked", 0), ("checked", 3)):
            chosen = np.asarray(fit_gate(x, gains, check_folds=folds).decide(fresh_x), dtype=bool)
            on[name] += bool(chosen.any())
            fresh_total[name] += float(fresh_gains[chosen].sum())
    assert on["unchecked"] >= 10 and fresh_total["unchecked"] < 0
    assert on["checked"] <= on["unchecked"] // 2
    assert fresh_total["checked"] > fresh_total["unchecked"]


def test_hops_follow_the_calls_augmentation(scout: Scout, data: Any) -> None:
    queries, _ = _labelled(data)
    hits = scout.search(queries[0], 6, collection=COLLECTION, hops=2, augment="always", augmenter="rocchio")
    first_hop = [h for h in hits if h.hop == 1]
    assert first_hop and all(h.scores["augmented"] == 1.0 for h in first_hop)
    plain = scout.search(queries[0], 6, collection=COLLECTION, hops=2)
    assert all(h.scores.get("augmented", 0.0) == 0.0 for h in plain)
    waiting = scout.search(queries[0], 6, collection=COLLECTION, hops=2, augment="auto", augmenter="rm3")
    assert "calibrate" in (waiting[0].note or "")  # notes survive the multi-hop merge


def test_caller_expansion_text(scout: Scout) -> None:
    hits = scout.search(
        "protein",
        5,
        collection=COLLECTION,
        expansion="DdrB single-stranded DNA binding protein Deinococcus radiodurans",
    )
    assert all(h.scores["augmented"] == 1.0 for h in hits)
    assert any("Deinococcus" in h.text or "SSB" in h.text for h in hits)
    with pytest.raises(InvalidArgumentError, match="expansion"):
        scout.search("protein", 5, collection=COLLECTION, augment="always", augmenter="expansion")


def test_bad_arguments(scout: Scout) -> None:
    with pytest.raises(InvalidArgumentError, match="rocchio"):
        scout.search("x ray", collection=COLLECTION, augment="always", augmenter="nope")
    with pytest.raises(InvalidArgumentError, match="never"):
        scout.search("x ray", collection=COLLECTION, augment="sometimes")
    with pytest.raises(InvalidArgumentError, match="augmenter='expansion'"):
        scout.search("x ray", collection=COLLECTION, augmenter="rm3", expansion="more text")
    with pytest.raises(InvalidArgumentError):
        scout.search("x ray", collection=COLLECTION, expansion="  ")


def test_llm_augmenter_without_llm_keeps_the_original(scout: Scout, data: Any) -> None:
    query = _labelled(data)[0][0]
    hits = scout.search(query, 5, collection=COLLECTION, augment="always", augmenter="hyde")
    assert hits[0].scores["augmented"] == 0.0
    assert "HOPSCOUT_LLM_BASE_URL" in (hits[0].note or "")
    assert [h.id for h in hits] == [h.id for h in scout.search(query, 5, collection=COLLECTION)]


def test_dead_llm_falls_back_with_a_note(home: Path, embedder: Any, data: Any) -> None:
    query = _labelled(data)[0][0]
    settings = Settings(home=home, llm_base_url="http://127.0.0.1:9/v1", llm_max_retries=0, llm_timeout=2)
    with Scout(settings, embedder=embedder) as scout:
        hits = scout.search(query, 5, collection=COLLECTION, augment="always", augmenter="query2doc")
        assert hits and hits[0].scores["augmented"] == 0.0
        assert "fell back" in (hits[0].note or "") and "unreachable" in hits[0].note  # type: ignore[operator]
        assert "note" in hits[0].to_dict()


def test_augmenter_that_changes_nothing_says_so(scout: Scout, data: Any) -> None:
    # rm3 adds BM25 terms: in dense mode there is nothing for it to add, and the hits say so instead of
    # passing the plain ranking off as augmented.
    query = _labelled(data)[0][0]
    hits = scout.search(query, 5, collection=COLLECTION, mode="dense", augment="always", augmenter="rm3")
    assert hits[0].scores["augmented"] == 0.0
    assert "changed nothing" in (hits[0].note or "") and "dense mode" in hits[0].note  # type: ignore[operator]
    assert [h.id for h in hits] == [h.id for h in scout.search(query, 5, collection=COLLECTION, mode="dense")]


@pytest.fixture(scope="module")
def empty_llm() -> Iterator[str]:
    """A real OpenAI-compatible endpoint whose completions are empty, as a misbehaving model's can be."""

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: Any) -> None:
            pass

        def do_POST(self) -> None:
            self.rfile.read(int(self.headers["Content-Length"]))
            body = json.dumps({"choices": [{"message": {"role": "assistant", "content": ""}}]}).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}/v1"
    server.shutdown()


@pytest.mark.parametrize("augmenter", ["hyde", "multi_query"])
def test_empty_llm_reply_keeps_the_original_with_a_note(
    empty_llm: str, home: Path, embedder: Any, data: Any, augmenter: str
) -> None:
    query = _labelled(data)[0][0]
    settings = Settings(home=home, llm_base_url=empty_llm, llm_max_retries=0)
    with Scout(settings, embedder=embedder) as scout:
        hits = scout.search(query, 5, collection=COLLECTION, augment="always", augmenter=augmenter)
        assert engine_of(scout).llm.calls == 1
        assert hits[0].scores["augmented"] == 0.0
        assert "no usable text" in (hits[0].note or "")
        assert [h.id for h in hits] == [h.id for h in scout.search(query, 5, collection=COLLECTION)]


@pytest.mark.parametrize("augmenter", ["hyde", "query2doc", "multi_query"])
def test_llm_augmenters_on_a_real_server(
    llm_url: str, home: Path, embedder: Any, data: Any, augmenter: str
) -> None:
    query = _labelled(data)[0][1]
    settings = Settings(home=home, llm_base_url=llm_url, llm_timeout=120, llm_max_tokens=64)
    with Scout(settings, embedder=embedder) as scout:
        plain = scout.search(query, 10, collection=COLLECTION)
        hits = scout.search(query, 10, collection=COLLECTION, augment="always", augmenter=augmenter)
        assert hits[0].note is None, hits[0].note
        assert all(h.scores["augmented"] == 1.0 for h in hits)
        assert plain[0].id in {h.id for h in hits}
        calls = engine_of(scout).llm.calls
        again = scout.search(query, 10, collection=COLLECTION, augment="always", augmenter=augmenter)
        assert engine_of(scout).llm.calls == calls  # the completion is cached
        assert [h.id for h in again] == [h.id for h in hits]


def test_augment_eval_times_each_llm_augmenter_cold(llm_url: str, home: Path, embedder: Any) -> None:
    # hyde and query2doc send the same prompt: each gets an empty cache, so both are timed at the LLM's speed,
    # and the scout's own cache is left as it was.
    from hopscout import LLMClient
    from hopscout.evaluation.augment_eval import run_augment_eval

    llm = LLMClient(
        llm_url, "cold-cache-test", timeout=120, max_tokens=64
    )  # a model name no other test caches
    with Scout(Settings(home=home), embedder=embedder, llm=llm) as scout:
        report = run_augment_eval(
            FIXTURES / "scifact_mini", scout, augmenters=["hyde", "query2doc"], limit=4, llm=llm
        )
        assert llm.calls == 8  # 4 queries x 2 augmenters: no completion served from the other's cache
        query = load_dataset(FIXTURES / "scifact_mini").judged(1)[1][0]
        scout.search(query, 5, collection=COLLECTION, augment="always", augmenter="hyde")
        assert llm.calls == 9  # the eval's completions went to caches of its own, not the scout's
    for name in ("hyde", "query2doc"):
        rows = report["results"][name]["rows"]
        assert rows["always"]["llm_calls"] == 4 and rows["never"]["llm_calls"] == 0


class _AnswerLLM:
    """An LLM that answers with the text of a judged relevant abstract for the query, or an off-topic passage."""

    def __init__(self, answers: dict[str, str], off_topic: bool = False) -> None:
        self.answers, self.off_topic, self.calls = answers, off_topic, 0
        self.model = "off-topic" if off_topic else "answers"  # each its own completion cache key

    def complete(self, prompt: str, *, max_tokens: int | None = None, json_mode: bool = False) -> str:
        self.calls += 1
        if self.off_topic:
            return (
                "The recipe calls for flour, butter and sugar, baked for twenty minutes until golden brown."
            )
        return next((text for query, text in self.answers.items() if query in prompt), "")


def _answers(data: Any) -> dict[str, str]:
    queries, relevant = _labelled(data)
    return {q: data.doc_text(next(iter(rel))) for q, rel in zip(queries, relevant)}


def _cascade_actions(home: Path, embedder: Any, data: Any, llm: _AnswerLLM) -> list[str]:
    """Search every labelled query under auto with ``llm``; check each hit says whether it was augmented and
    why, and return what became of each augmented list."""
    queries, _ = _labelled(data)
    with Scout(Settings(home=home), embedder=embedder, llm=llm) as scout:
        plain = scout.search_batch(queries, 10, collection=COLLECTION)
        results = scout.search_batch(
            queries, 10, collection=COLLECTION, augment="auto", augmenter="query2doc"
        )
    unsure = [hits[0].confidence < DEFAULT_GATE.below for hits in plain]
    assert 0 < sum(unsure) < len(unsure) and llm.calls == sum(unsure)  # the LLM is asked for the unsure only
    actions = []
    for before, after, asked in zip(plain, results, unsure):
        note = after[0].note or ""
        assert after[0].scores["augmented"] == float(asked)
        if not asked:
            assert "not augmented" in note and [h.id for h in after] == [h.id for h in before]
            continue
        share = after[0].scores["augment_share"]
        action = next(a for a in ("kept", "dropped", "fused") if a in note)
        assert share == {"kept": 1.0, "fused": 0.5, "dropped": 0.0}[action]
        if action == "dropped":
            assert [h.id for h in after] == [h.id for h in before]
        actions.append(action)
    return actions


def test_auto_cascade_trusts_a_helpful_expansion_more_than_an_off_topic_one(
    home: Path, embedder: Any, data: Any
) -> None:
    helpful = _cascade_actions(home, embedder, data, _AnswerLLM(_answers(data)))
    off_topic = _cascade_actions(home, embedder, data, _AnswerLLM(_answers(data), off_topic=True))
    assert helpful.count("kept") > off_topic.count("kept")
    assert (
        off_topic.count("kept") < len(off_topic) / 2
    )  # an expansion about something else is rarely trusted alone


def test_an_llm_setting_makes_auto_with_query2doc_the_default() -> None:
    assert (Settings().augment, Settings().augmenter) == ("never", "rocchio")
    configured = Settings(llm_base_url="http://127.0.0.1:1/v1")
    assert (configured.augment, configured.augmenter) == ("auto", "query2doc")
    assert Settings(llm_base_url="http://127.0.0.1:1/v1", augment="never").augment == "never"


@pytest.mark.parametrize("off_topic", [False, True])
def test_calibrating_an_llm_augmenter_stores_the_cascade_that_auto_runs(
    home: Path, embedder: Any, data: Any, off_topic: bool
) -> None:
    # calibrate --augment fits what the cascade reads (its threshold and the judge's margins), not the old gate:
    # with an LLM that answers, the stored cascade gains out of sample; with one that talks about something else,
    # it stops asking. A fresh process under auto asks the LLM for exactly the queries the stored cascade marks.
    queries, relevant = _labelled(data)
    meta_before = None
    try:
        with Scout(
            Settings(home=home), embedder=embedder, llm=_AnswerLLM(_answers(data), off_topic)
        ) as scout:
            meta_before = engine_of(scout).index(COLLECTION).metadata().get(META_GATE)
            fit = calibrate_augment(scout, queries, relevant, augmenter="query2doc", collection=COLLECTION)
        assert isinstance(fit.gate, Cascade) and fit.gate.held_out_gain is not None
        if off_topic:
            assert fit.never and fit.augmented == 0.0 and fit.gate.held_out_gain <= 0
        else:
            assert fit.gate.source in ("calibrated", "shipped") and fit.gate.held_out_gain > 0
            assert fit.ndcg_gate > fit.ndcg_never and fit.augmented > 0
            assert fit.gate.source == "shipped" or fit.augmented <= CASCADE_BUDGET  # a fit keeps its budget
        llm = _AnswerLLM(_answers(data), off_topic)
        llm.model += "-search"  # a completion cache of its own: calibration's completions would answer for it
        with Scout(Settings(home=home), embedder=embedder, llm=llm) as fresh:
            meta = engine_of(fresh).index(COLLECTION).metadata()
            assert load_gate(meta, "query2doc", "hybrid") == fit.gate
            assert load_gate(meta, "hyde", "hybrid") == DEFAULT_GATE
            results = fresh.search_batch(
                queries, 10, collection=COLLECTION, augment="auto", augmenter="query2doc"
            )
        augmented = sum(hits[0].scores["augmented"] for hits in results)
        assert augmented == round(fit.augmented * len(queries)) == llm.calls
    finally:  # the other tests read the shipped cascade
        with Scout(Settings(home=home), embedder=embedder) as scout:
            engine_of(scout).index(COLLECTION).update_metadata(**{META_GATE: meta_before or "{}"})


def test_calibrating_an_llm_augmenter_without_an_llm_refuses_and_stores_nothing(
    scout: Scout, data: Any
) -> None:
    # with no LLM every gain is zero: a stored fit would switch auto off; calibration says what to configure
    queries, relevant = _labelled(data)
    before = engine_of(scout).index(COLLECTION).metadata().get(META_GATE)
    with pytest.raises(LLMUnavailableError, match="HOPSCOUT_LLM_BASE_URL"):
        calibrate_augment(scout, queries[:6], relevant[:6], augmenter="hyde", collection=COLLECTION)
    assert engine_of(scout).index(COLLECTION).metadata().get(META_GATE) == before
