"""Reading BEIR-like evaluation folders: ``corpus.jsonl``, ``queries.jsonl``, ``qrels.tsv``."""

from __future__ import annotations

import csv
import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import UnreadableFileError


@dataclass
class Dataset:
    """A corpus, its queries and relevance judgements (``qrels[qid][doc_id] = grade``)."""

    name: str
    corpus: dict[str, dict[str, Any]]
    queries: dict[str, str]
    qrels: dict[str, dict[str, int]]
    fingerprint: str = ""
    folder: str = ""
    lowercase: bool = False  # a lower-cased copy (corpus and queries): text without capitalisation cues

    def doc_text(self, doc_id: str) -> str:
        """The text indexed for a corpus entry: its title (when the text does not start with it) and text."""
        doc = self.corpus[doc_id]
        title, text = (doc.get("title") or "").strip(), (doc.get("text") or "").strip()
        return text if not title or text.startswith(title) else f"{title}\n{text}"

    def judged(self, limit: int | None = None) -> tuple[list[str], list[str], list[dict[str, int]]]:
        """The first ``limit`` (or all) judged query ids, their texts and their relevance maps."""
        qids = self.judged_queries[:limit] if limit else self.judged_queries
        return qids, [self.queries[q] for q in qids], [self.qrels[q] for q in qids]

    @property
    def judged_queries(self) -> list[str]:
        """Query ids that have at least one relevant document, in file order."""
        return [qid for qid in self.queries if any(v > 0 for v in self.qrels.get(qid, {}).values())]


def load_dataset(folder: str | Path, *, lowercase: bool = False) -> Dataset:
    """Load a BEIR-like folder (``lowercase``: a lower-cased copy of its corpus and queries, named ``NAME-lc``);
    raises UnreadableFileError naming the missing or broken file."""
    folder = Path(folder)
    for name in ("corpus.jsonl", "queries.jsonl", "qrels.tsv"):
        if not (folder / name).is_file():
            raise UnreadableFileError(
                f"{folder} is not an evaluation set: {name} is missing (BEIR layout expected)"
            )
    digest = hashlib.sha256()
    corpus: dict[str, dict[str, Any]] = {}
    for row in _jsonl(folder / "corpus.jsonl", digest):
        corpus[str(row["_id"])] = row
    queries: dict[str, str] = {}
    for row in _jsonl(folder / "queries.jsonl", None):
        queries[str(row["_id"])] = row["text"]
    qrels: dict[str, dict[str, int]] = {}
    with open(folder / "qrels.tsv", encoding="utf-8") as fh:
        reader = csv.reader(fh, delimiter="\t")
        header = next(reader, None)
        if header and header[0] != "query-id":
            fh.seek(0)
        for cells in reader:
            if len(cells) >= 3:
                qrels.setdefault(cells[0], {})[cells[1]] = int(float(cells[2]))
    if lowercase:
        for row in corpus.values():
            row.update({key: row[key].lower() for key in ("title", "text") if isinstance(row.get(key), str)})
        queries = {qid: text.lower() for qid, text in queries.items()}
        digest.update(b"lowercase")
    name = f"{folder.name}-lc" if lowercase else folder.name
    return Dataset(name, corpus, queries, qrels, digest.hexdigest()[:12], str(folder), lowercase)


def _jsonl(path: Path, digest: Any) -> list[dict[str, Any]]:
    rows = []
    with open(path, "rb") as fh:
        for n, line in enumerate(fh, 1):
            if digest is not None:
                digest.update(line)
            if not line.strip():
                continue
            try:
                rows.append(json.loads(line))
            except json.JSONDecodeError as exc:
                raise UnreadableFileError(f"{path}:{n} is not valid JSON: {exc}") from exc
    return rows
