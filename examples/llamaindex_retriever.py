"""LlamaIndex: hopscout as a retriever and behind a query engine, offline on the bundled sample corpus.

The query engine uses LlamaIndex's MockLLM so this runs without a model; put your own ``llm=`` there and
``str(response)`` is the answer.

    python examples/llamaindex_retriever.py
"""

from __future__ import annotations

import asyncio
import os
import tempfile
from pathlib import Path

from llama_index.core.llms import MockLLM
from llama_index.core.query_engine import RetrieverQueryEngine

from hopscout import Scout
from hopscout.adapters.llamaindex import HopscoutRetriever
from hopscout.demo import SAMPLE_DIR


def show(title: str, nodes: list) -> None:
    print(f"\n? {title}")
    for item in nodes:
        meta = item.node.metadata
        heading = meta.get("heading")
        text = " ".join(item.node.get_content().split())[:100]
        print(
            f"  [{item.score:.2f}] {Path(meta.get('source', '?')).name}{f' › {heading}' if heading else ''}: {text}…"
        )


def main(home: str) -> None:
    with Scout(home=home) as scout:
        report = scout.ingest(SAMPLE_DIR, collection="sample")
        print(f"indexed {report.chunks} chunks from {SAMPLE_DIR.name}/ into {home}")

        retriever = HopscoutRetriever(scout, collection="sample", similarity_top_k=3)
        show("which planet is the hottest", retriever.retrieve("which planet is the hottest"))
        markdown = HopscoutRetriever(
            scout,
            collection="sample",
            similarity_top_k=2,
            where={"source": {"$in": [str(p) for p in SAMPLE_DIR.glob("*.md")]}},
        )
        show("light reactions (Markdown files only)", markdown.retrieve("light reactions"))
        show("cache revalidation (async)", asyncio.run(retriever.aretrieve("cache revalidation with ETag")))

        engine = RetrieverQueryEngine.from_args(retriever, llm=MockLLM())
        response = engine.query("How fine should I grind coffee for espresso?")
        print(
            "\nquery engine: answer from MockLLM over "
            f"{len(response.source_nodes)} source nodes, the first from "
            f"{Path(response.source_nodes[0].node.metadata['source']).name}"
        )
        context = str(response).split("---------------------")[1].strip()
        print("  context handed to the LLM: " + " ".join(context.split())[:160] + "…")


if __name__ == "__main__":
    if os.environ.get("HOPSCOUT_HOME"):
        main(os.environ["HOPSCOUT_HOME"])
    else:
        with tempfile.TemporaryDirectory(prefix="hopscout-example-") as tmp:
            main(tmp)
