"""The names of the fill and fee models a setting or a flag may give (no imports: the
command line lists them in its help without loading the models)."""

FILL_MODELS = ("fixed_bps", "bid_ask", "participation", "sqrt_impact", "none")
FEE_MODELS = ("per_share", "bps", "flat", "maker_taker", "tiered", "none")
