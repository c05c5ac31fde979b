"""A realistic stand-in for the bureau's binding system: the default adapter, and (through
`wxbot sandbox serve`) a server speaking the real contract."""
