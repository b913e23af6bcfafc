"""ordergate: intents in, orders at a broker out — exactly once, fail-closed, recorded."""
