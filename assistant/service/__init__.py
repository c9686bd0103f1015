"""The assistant as a service for other tools: an OpenAI-compatible API and an MCP server.

    library.py  a team's collections as each caller may read them: search, ask, fetch, cite
    schema.py   the shapes every route and tool returns (TypedDicts: the MCP output schemas)
    fields.py   answers, citations, hits, documents -> those shapes (one code path for all)
    chat.py     OpenAI chat completions: messages -> a conversation; answers -> completions
    api.py      the HTTP routes on the chat's server (/v1/*, /mcp), errors in OpenAI's shape
    tools.py    the MCP server (stdio: `assistant mcp`; streamable HTTP: /mcp)
    callers.py  who calls: a personal key (that user), a service key (the administrator), or
                the local user of an open server; checked on every request
    keys.py     service keys from ASSISTANT_API_KEYS, compared in constant time
    pool.py     at most `workers` requests at once, a bounded queue, 429 past it

No Gradio here: the web chat mounts these routes (web/page.py), the CLI runs the stdio server.
"""
