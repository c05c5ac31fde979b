"""The conversations: message catalogues now; the step engine and flows build on them."""
