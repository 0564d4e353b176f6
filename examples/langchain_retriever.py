"""LangChain: hopscout as a retriever and as an agent's search tool, offline on the bundled sample corpus.

python examples/langchain_retriever.py          # HOPSCOUT_HOME=... to keep the store, else a temp folder
"""

from __future__ import annotations

import asyncio
import os
import tempfile
from pathlib import Path

from hopscout import Scout
from hopscout.adapters.langchain import HopscoutRetriever, create_search_tool
from hopscout.demo import SAMPLE_DIR


def show(title: str, docs: list) -> None:
    print(f"\n? {title}")
    for doc in docs:
        where = Path(doc.metadata.get("source", "?")).name
        heading = doc.metadata.get("heading")
        text = " ".join(doc.page_content.split())[:100]
        print(
            f"  [{doc.metadata['hopscout_score']:.2f}] {where}{f' › {heading}' if heading else ''}: {text}…"
        )


def main(home: str) -> None:
    with Scout(home=home) as scout:
        report = scout.ingest(SAMPLE_DIR, collection="sample")
        print(f"indexed {report.chunks} chunks from {SAMPLE_DIR.name}/ into {home}")

        retriever = HopscoutRetriever(scout=scout, collection="sample", k=3)
        show("why does my coffee taste sour", retriever.invoke("why does my coffee taste sour"))
        # per-call options: k, a metadata filter (where= or filter=), the search mode
        html = [str(path) for path in SAMPLE_DIR.glob("*.html")]
        show(
            "planet temperature (k=1, HTML files only, lexical)",
            retriever.invoke("planet temperature", k=1, filter={"source": {"$in": html}}, mode="lexical"),
        )

        async def both() -> list:
            return await retriever.abatch(["exponential backoff with jitter", "borrow checker rules"])

        for query, docs in zip(
            ["exponential backoff with jitter (async)", "borrow checker rules (async)"], asyncio.run(both())
        ):
            show(query, docs)

        search = create_search_tool(scout, collection="sample", k=2)
        message = search.invoke(
            {
                "name": "search",
                "args": {"query": "how long should a sourdough starter rest?"},
                "id": "call-1",
                "type": "tool_call",
            }
        )
        print(
            f"\ntool {search.name}{list(search.args)} -> ToolMessage with {len(message.artifact)} Documents:"
        )
        print("  " + message.content.replace("\n", "\n  ")[:600])


if __name__ == "__main__":
    if os.environ.get("HOPSCOUT_HOME"):
        main(os.environ["HOPSCOUT_HOME"])
    else:
        with tempfile.TemporaryDirectory(prefix="hopscout-example-") as tmp:
            main(tmp)
