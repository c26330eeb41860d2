//! A mock LLM upstream (placeholder).
