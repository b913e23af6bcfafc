"""Simulation: fill, fee and latency models shared by the paper broker and backtests."""
