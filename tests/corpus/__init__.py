"""The corpus of real-world inputs (data files) and its replay through the real /wechat endpoint."""
