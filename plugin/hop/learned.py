"""Learned hop operators (numpy at search time) and their training (torch, CPU, minutes).

``learned``: a residual MLP that starts at the identity, ``h = q + W2·gelu(W1·[q, c, q⊙c, q−c] + b1) + b2``.
``treehop``: TreeHop's gate (arXiv 2504.20114) sized to the embedder,
``h = q − c + Wo·MLP(softmax((Wq q ⊙ Wk c)/√d) ⊙ Wv c)``.
Both are trained with InfoNCE: from the question and one gold passage, the next query must rank the question's
other gold passages above its context pool (hard negatives) and the batch. Weights are saved as ``.npz`` with a
JSON card (embedder id, dimension, data, metrics); loading them for another embedder is an error."""

from __future__ import annotations

import json
import math
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import EmbedderMismatchError, InvalidArgumentError
from ..resources import package_path
from ..vectors import unit
from .types import HopInput, HopQuery

ARCHITECTURES = ("learned", "treehop")


def _gelu(x: np.ndarray) -> np.ndarray:
    return 0.5 * x * (1.0 + np.tanh(0.7978845608 * (x + 0.044715 * x**3)))


@dataclass
class HopModel:
    """Weights of one learned operator for one embedder; call it as an operator."""

    arch: str
    weights: dict[str, np.ndarray]
    card: dict[str, Any] = field(default_factory=dict)

    def vector(self, q: np.ndarray, c: np.ndarray) -> np.ndarray:
        """The next query embedding for question ``q`` and passage ``c``."""
        w = self.weights
        if self.arch == "learned":
            x = np.concatenate([q, c, q * c, q - c])
            return unit(q + _gelu(x @ w["w1"] + w["b1"]) @ w["w2"] + w["b2"])
        d = q.shape[0]
        logits = (q @ w["wq"]) * (c @ w["wk"]) / math.sqrt(d)
        gate = np.exp(logits - logits.max())
        gate /= gate.sum()
        inner = _gelu((gate * (c @ w["wv"])) @ w["m1"] + w["mb1"]) @ w["m2"] + w["mb2"]
        return unit(q - c + inner @ w["wo"])

    def __call__(self, inp: HopInput) -> HopQuery:
        return HopQuery(vector=self.vector(inp.q.astype(np.float32), inp.c.astype(np.float32)))

    def save(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        np.savez_compressed(path, **{k: v.astype(np.float16) for k, v in self.weights.items()})  # type: ignore[arg-type]
        path.with_suffix(".json").write_text(json.dumps({"arch": self.arch, **self.card}, indent=2))

    @classmethod
    def load(cls, path: Path, embedder_id: str | None = None, dim: int | None = None) -> HopModel:
        """Load weights; refuse ones trained for another embedder or dimension."""
        card = json.loads(path.with_suffix(".json").read_text())
        if embedder_id is not None and card.get("embedder") != embedder_id:
            raise EmbedderMismatchError(
                f"Hop weights {path.name} were trained for {card.get('embedder')!r}, not {embedder_id!r}: "
                "run `hopscout train-hop` with your embedder."
            )
        if dim is not None and int(card.get("dim", -1)) != int(dim):
            raise EmbedderMismatchError(
                f"Hop weights {path.name} are {card.get('dim')}-d; the embedder gives {dim}-d."
            )
        with np.load(path) as data:
            weights = {k: data[k].astype(np.float32) for k in data.files}
        return cls(card["arch"], weights, card)


def trained_weights_path(arch: str, embedder_id: str, home: Path) -> Path:
    """Where ``hopscout train-hop`` saves weights for ``arch`` and ``embedder_id`` by default."""
    slug = embedder_id.replace("/", "__").replace(":", "_")
    return home / "hop_weights" / f"{slug}.{arch}.npz"


def weights_path(arch: str, embedder_id: str, home: Path) -> Path:
    """Weights for ``arch`` and ``embedder_id``: trained ones under home win over those shipped in the package."""
    trained = trained_weights_path(arch, embedder_id, home)
    shipped = package_path("hop_weights", trained.name)
    return trained if trained.exists() or not shipped.exists() else shipped


# -- training -----------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Chain:
    question: str
    gold: tuple[str, ...]
    pool: tuple[str, ...]


def load_chains(folders: list[Path]) -> tuple[list[Chain], dict[str, str]]:
    """Chains and the texts of every paragraph they use, from ``chains.jsonl`` + ``corpus.jsonl`` folders.

    Questions seen twice (the same question in two sets) are kept once."""
    chains: list[Chain] = []
    texts: dict[str, str] = {}
    seen: set[str] = set()
    for folder in folders:
        corpus: dict[str, str] = {}
        with open(folder / "corpus.jsonl", encoding="utf-8") as fh:
            for line in fh:
                row = json.loads(line)
                title, text = (row.get("title") or "").strip(), (row.get("text") or "").strip()
                corpus[row["_id"]] = text if not title or text.startswith(title) else f"{title}\n{text}"
        with open(folder / "chains.jsonl", encoding="utf-8") as fh:
            for line in fh:
                row = json.loads(line)
                question = row["question"].strip()
                if question.lower() in seen:
                    continue
                seen.add(question.lower())
                gold = tuple(
                    f"{folder.name}:{s['corpus_id']}" for s in row["steps"] if s["corpus_id"] in corpus
                )
                pool = tuple(f"{folder.name}:{c}" for c in row.get("context_ids", []) if c in corpus)
                if len(gold) >= 2:
                    chains.append(Chain(question, gold, pool))
                    for ref in {*gold, *pool}:
                        texts[ref] = corpus[ref.split(":", 1)[1]]
    return chains, texts


def train(
    arch: str,
    chains: list[Chain],
    question_vecs: np.ndarray,
    passage_vecs: dict[str, np.ndarray],
    *,
    epochs: int = 8,
    lr: float = 1e-3,
    temperature: float = 0.05,
    hidden: int = 384,
    seed: int = 0,
    log: Any = lambda _: None,
) -> HopModel:
    """Fit ``arch`` with InfoNCE on (question, gold passage) → the question's other gold passages."""
    import torch

    if arch not in ARCHITECTURES:
        raise InvalidArgumentError(f"Unknown hop architecture {arch!r}; choose one of {ARCHITECTURES}")
    torch.manual_seed(seed)
    dim = question_vecs.shape[1]
    ids = sorted(passage_vecs)
    row = {pid: i for i, pid in enumerate(ids)}
    P = torch.tensor(np.stack([passage_vecs[i] for i in ids]), dtype=torch.float32)
    Q = torch.tensor(question_vecs, dtype=torch.float32)
    examples = []  # (chain index, given gold row, target rows, pool rows)
    for n, chain in enumerate(chains):
        for given in chain.gold:
            targets = [row[g] for g in chain.gold if g != given]
            pool = [row[p] for p in chain.pool if p not in chain.gold]
            examples.append((n, row[given], targets, pool))
    params: dict[str, torch.Tensor] = {}

    def param(name: str, *shape: int, zero: bool = False, scale: float | None = None) -> torch.Tensor:
        t = torch.zeros(*shape) if zero else torch.randn(*shape) * (scale or 1.0 / math.sqrt(shape[0]))
        params[name] = t.requires_grad_()
        return params[name]

    if arch == "learned":
        param("w1", 4 * dim, hidden), param("b1", hidden, zero=True)
        param("w2", hidden, dim, zero=True), param("b2", dim, zero=True)
    else:
        for name in ("wq", "wk", "wv"):
            param(name, dim, dim)
        (
            param("m1", dim, hidden),
            param("mb1", hidden, zero=True),
            param("m2", hidden, dim),
            param("mb2", dim, zero=True),
        )
        param("wo", dim, dim, scale=0.01)

    def forward(q: torch.Tensor, c: torch.Tensor) -> torch.Tensor:
        gelu = torch.nn.functional.gelu
        if arch == "learned":
            x = torch.cat([q, c, q * c, q - c], dim=1)
            h = q + gelu(x @ params["w1"] + params["b1"], approximate="tanh") @ params["w2"] + params["b2"]
        else:
            gate = torch.softmax((q @ params["wq"]) * (c @ params["wk"]) / math.sqrt(dim), dim=1)
            inner = gelu((gate * (c @ params["wv"])) @ params["m1"] + params["mb1"], approximate="tanh")
            h = q - c + (inner @ params["m2"] + params["mb2"]) @ params["wo"]
        return torch.nn.functional.normalize(h, dim=1)

    optimiser = torch.optim.AdamW(list(params.values()), lr=lr, weight_decay=1e-4)
    rng = np.random.default_rng(seed)
    batch = 64
    for epoch in range(epochs):
        order = rng.permutation(len(examples))
        total = 0.0
        for start in range(0, len(order), batch):
            chunk = [examples[i] for i in order[start : start + batch]]
            q = Q[[e[0] for e in chunk]]
            c = P[[e[1] for e in chunk]]
            h = forward(q, c)
            loss = torch.zeros(())
            for j, (_, given, targets, pool) in enumerate(chunk):
                cands = targets + pool + [e[1] for e in chunk if e[1] != given and e[1] not in targets][:32]
                logits = (P[cands] @ h[j]) / temperature
                log_probs = torch.log_softmax(logits, dim=0)
                loss = loss - log_probs[: len(targets)].logsumexp(0)
            loss = loss / len(chunk)
            optimiser.zero_grad()
            loss.backward()
            optimiser.step()
            total += float(loss.detach()) * len(chunk)
        log(f"epoch {epoch + 1}/{epochs}: loss {total / len(examples):.4f}")
    weights = {k: v.detach().numpy().astype(np.float32) for k, v in params.items()}
    return HopModel(
        arch, weights, {"dim": dim, "temperature": temperature, "epochs": epochs, "examples": len(examples)}
    )


def oracle_mrr(
    operator: Any,
    chains: list[Chain],
    question_vecs: np.ndarray,
    passage_vecs: dict[str, np.ndarray],
    corpus_ids: list[str],
    corpus_matrix: np.ndarray,
    k: int = 10,
) -> dict[str, float]:
    """Given each gold passage, where does the operator's query put the question's other gold? (MRR, hit@k).

    The given passage itself is excluded from the ranking. ``operator(q, c)`` returns a vector."""
    reciprocal, hits = [], []
    position = {pid: i for i, pid in enumerate(corpus_ids)}
    for n, chain in enumerate(chains):
        for given in chain.gold:
            if given not in passage_vecs:
                continue
            h = operator(question_vecs[n], passage_vecs[given])
            scores = corpus_matrix @ h
            if given in position:
                scores[position[given]] = -np.inf
            order = np.argsort(-scores)
            ranks = {corpus_ids[i]: r for r, i in enumerate(order[:1000])}
            others = [g for g in chain.gold if g != given]
            best = min((ranks.get(g, 10**6) for g in others), default=10**6)
            reciprocal.append(1.0 / (best + 1) if best < 10**6 else 0.0)
            hits.append(float(any(ranks.get(g, 10**6) < k for g in others)))
    return {"mrr": float(np.mean(reciprocal)), f"hit@{k}": float(np.mean(hits)), "pairs": len(reciprocal)}


def timed(fn: Any) -> tuple[Any, float]:
    start = time.perf_counter()
    return fn(), time.perf_counter() - start


def train_hop(
    embedder: Any, folders: list[Path], arch: str, out: Path, *, epochs: int = 8, log: Any = lambda _: None
) -> dict[str, Any]:
    """``hopscout train-hop``: encode the chains' questions and paragraphs, fit ``arch``, save weights + card.

    10% of the chains are held out; the card records their oracle MRR beside the query alone."""
    started = time.perf_counter()
    chains, texts = load_chains(folders)
    if len(chains) < 20:
        raise InvalidArgumentError(
            f"Only {len(chains)} usable chains in {folders}: need chains.jsonl with 2+ gold steps"
        )
    rng = np.random.default_rng(0)
    order = rng.permutation(len(chains))
    held = [chains[i] for i in order[: len(chains) // 10]]
    fit = [chains[i] for i in order[len(chains) // 10 :]]
    ids = sorted(texts)
    log(f"encoding {len(chains)} questions and {len(ids)} paragraphs ...")
    passage_matrix = embedder.embed_documents([texts[i] for i in ids])
    passages = dict(zip(ids, passage_matrix))
    q_fit = embedder.embed_queries([c.question for c in fit])
    q_held = embedder.embed_queries([c.question for c in held])
    encoded = time.perf_counter()
    model = train(arch, fit, q_fit, passages, epochs=epochs, log=log)
    trained = time.perf_counter()
    held_pool = sorted({p for c in held for p in (*c.gold, *c.pool)})
    held_matrix = np.stack([passages[p] for p in held_pool])
    metrics = {
        "query_alone": oracle_mrr(lambda q, c: q, held, q_held, passages, held_pool, held_matrix),
        arch: oracle_mrr(model.vector, held, q_held, passages, held_pool, held_matrix),
    }
    model.card.update(
        {
            "embedder": embedder.id,
            "dim": int(passage_matrix.shape[1]),
            "data": [str(f.name) for f in folders],
            "chains": len(fit),
            "held_out_chains": len(held),
            "held_out_oracle": metrics,
            "encode_seconds": round(encoded - started, 1),
            "train_seconds": round(trained - encoded, 1),
        }
    )
    model.save(out)
    return {"weights": str(out), "bytes": out.stat().st_size, **model.card}
