"""Calls to WeChat's server API (customer-service messages now; templates and menus later)."""
