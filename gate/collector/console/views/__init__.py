"""The console's views, one module per page group; `gate.collector.console.urls` names them."""
