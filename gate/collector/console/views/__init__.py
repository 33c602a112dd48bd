"""The console's views, one module per page group; `gate.collector.console.urls` names them, and
`errors` answers every refusal inside the console's frame."""
