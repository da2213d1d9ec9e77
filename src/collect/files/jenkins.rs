//! Jenkins pipelines (declarative and scripted Groovy).

use super::Source;
use crate::evidence::Evidence;

/// A Jenkinsfile or shared-library Groovy file.
pub fn analyze(_src: &Source<'_>, _out: &mut Evidence) {}
