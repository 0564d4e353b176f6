"""Framework integrations, each imported only when asked for (and needing its extra):

- ``hopscout.adapters.langchain`` (``pip install "hopscout[langchain]"``): ``HopscoutRetriever``,
  ``create_search_tool``, ``create_find_tools_tool``, ``HopscoutToolSelector``, ``LangChainLLM``.
- ``hopscout.adapters.llamaindex`` (``pip install "hopscout[llamaindex]"``): ``HopscoutRetriever``,
  ``HopscoutToolSpec``, ``HopscoutToolRetriever``, ``LlamaIndexLLM``.

This package itself imports no framework."""
