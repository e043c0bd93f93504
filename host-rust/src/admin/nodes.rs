//! Admin writes for nodes (DESIGN §5). Being written (issue 3).
