"""The resident engine: `agent serve` keeps a model loaded and warm; `agent run` hands it objectives on
loopback."""
