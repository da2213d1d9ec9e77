//! Text helpers shared by the line-oriented analysers.
