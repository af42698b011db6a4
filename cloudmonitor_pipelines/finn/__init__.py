"""Finn, the FinOps agent's server side: an MCP server over one tenant's (or one partner's) tables.

- `session.py`: audited calls (every call appended to agent_log), shared by the MCP server and the CLI.
- `server.py`: the MCP server (tools = named questions + run_sql + describe_tables, resources, prompts).
- `prompts.py`: the system prompt teaching FOCUS cost semantics.
- `cli.py`: the `query` and `finn` subcommands.
"""
