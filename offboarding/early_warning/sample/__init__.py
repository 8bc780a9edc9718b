"""Generated product data with planted at-risk patterns: population pure, writing not."""
