"""p50 latency of each adapter beside the direct core call it wraps, measured in the same run.

Calls are interleaved (each round runs every variant once, in rotating order) so drift hits all alike. The
async variants run the core in a worker thread (``run_in_executor``): compare them with the core in an
executor, which pays the same thread hop.

    python examples/adapter_overhead.py [--rounds 60]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import tempfile
import time
from collections.abc import Callable

from langchain_core.tools import StructuredTool
from llama_index.core.tools import FunctionTool

from hopscout import Scout
from hopscout.adapters import langchain as lc
from hopscout.adapters import llamaindex as li
from hopscout.demo import SAMPLE_DIR
from hopscout.tools import ToolCatalog

QUERIES = [
    "why does my coffee taste sour",
    "which planet is the hottest",
    "cache revalidation with ETag",
    "exponential backoff",
    "borrow checker",
    "feeding a sourdough starter",
    "light reactions in plants",
    "circuit breaker pattern",
]
TOOL_NAMES = {
    "get_weather": "Current weather and forecast for a city.",
    "send_email": "Send an email to a recipient.",
    "create_event": "Create a meeting in the calendar.",
    "read_file": "Read a text file from disk.",
    "calculator": "Evaluate an arithmetic expression.",
    "convert_currency": "Convert money between currencies.",
    "web_search": "Search the web.",
    "translate": "Translate text into another language.",
    "set_reminder": "Remind the user at a time.",
    "get_directions": "Travel route and time between places.",
}
REQUESTS = [
    "will it rain tomorrow in Oslo",
    "email the report to Ann",
    "how many euros is 250 dollars",
    "remind me to call mum at six",
    "route from the station to the office",
]


def _fn(name: str, description: str) -> Callable[[str], str]:
    def tool_fn(text: str) -> str:
        return text

    tool_fn.__name__, tool_fn.__doc__ = name, description
    return tool_fn


def measure(variants: dict[str, Callable[[str], object]], inputs: list[str], rounds: int) -> dict[str, float]:
    """p50 seconds per variant over ``rounds`` interleaved passes over ``inputs``."""
    names = list(variants)
    times: dict[str, list[float]] = {name: [] for name in names}
    for name in names:  # warm-up
        variants[name](inputs[0])
    for r in range(rounds):
        text = inputs[r % len(inputs)]
        for name in names[r % len(names) :] + names[: r % len(names)]:
            start = time.perf_counter()
            variants[name](text)
            times[name].append(time.perf_counter() - start)
    return {name: statistics.median(values) for name, values in times.items()}


def report(title: str, p50: dict[str, float], base: str) -> None:
    print(f"\n{title} (p50, ratio to {base})")
    for name, value in p50.items():
        print(f"  {name:<34} {value * 1000:7.2f} ms  {value / p50[base]:5.2f}x")


def main(home: str, rounds: int) -> None:
    with Scout(home=home) as scout:
        scout.ingest(SAMPLE_DIR, collection="sample")
        k, col = 4, "sample"
        lc_retriever = lc.HopscoutRetriever(scout=scout, collection=col, k=k)
        lc_search = lc.create_search_tool(scout, collection=col, k=k)
        li_retriever = li.HopscoutRetriever(scout, collection=col, similarity_top_k=k)
        li_search = li.HopscoutToolSpec(scout, collection=col, k=k).to_tool_list()[0]
        loop = asyncio.new_event_loop()
        search = {
            "core Scout.search": lambda q: scout.search(q, k, collection=col),
            "core Scout.search in an executor": lambda q: loop.run_until_complete(
                loop.run_in_executor(None, lambda: scout.search(q, k, collection=col))
            ),
            "langchain retriever": lc_retriever.invoke,
            "langchain retriever (ainvoke)": lambda q: loop.run_until_complete(lc_retriever.ainvoke(q)),
            "langchain search tool": lambda q: lc_search.invoke({"query": q}),
            "llamaindex retriever": li_retriever.retrieve,
            "llamaindex retriever (aretrieve)": lambda q: loop.run_until_complete(li_retriever.aretrieve(q)),
            "llamaindex search tool": lambda q: li_search.call(query=q),
        }
        report("document search, k=4, sample corpus", measure(search, QUERIES, rounds), "core Scout.search")

        catalog = ToolCatalog(scout, collection="overhead-tools", llm=None)
        lc_tools = [StructuredTool.from_function(_fn(n, d)) for n, d in TOOL_NAMES.items()]
        li_tools = [FunctionTool.from_defaults(fn=_fn(n, d)) for n, d in TOOL_NAMES.items()]
        selector = lc.HopscoutToolSelector(lc_tools, catalog=catalog, k=3)
        tool_retriever = li.HopscoutToolRetriever(li_tools, catalog=catalog, k=3)
        tools = {
            "core ToolCatalog.find_tools": lambda r: catalog.find_tools(r, k=3),
            "langchain HopscoutToolSelector": selector.select,
            "llamaindex HopscoutToolRetriever": tool_retriever.retrieve,
        }
        report(
            "tool selection, 10 tools, k=3", measure(tools, REQUESTS, rounds), "core ToolCatalog.find_tools"
        )
        loop.close()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=60)
    args = parser.parse_args()
    if os.environ.get("HOPSCOUT_HOME"):
        main(os.environ["HOPSCOUT_HOME"], args.rounds)
    else:
        with tempfile.TemporaryDirectory(prefix="hopscout-overhead-") as tmp:
            main(tmp, args.rounds)
