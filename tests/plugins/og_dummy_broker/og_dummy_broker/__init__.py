"""A broker adapter outside ordergate: found only through its entry point."""
