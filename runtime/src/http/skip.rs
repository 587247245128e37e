//! The paths the layer leaves out (`skip_paths`): exact paths and `/prefix/*` subtrees.

/// Exact paths and subtree prefixes; a handful in practice, so a linear scan beats any index.
#[derive(Default)]
pub(crate) struct SkipPaths {
    exact: Vec<String>,
    /// `/internal` for `/internal/*`: matches `/internal` and `/internal/..`.
    subtrees: Vec<String>,
}

impl SkipPaths {
    /// Adds a pattern, or says why it is not one.
    pub(crate) fn add(&mut self, pattern: &str) -> Result<(), &'static str> {
        if !pattern.starts_with('/') {
            return Err("a path starts with `/`");
        }
        match pattern.strip_suffix("/*") {
            Some("") => Err("`/*` would leave out every request"),
            Some(prefix) if !prefix.contains('*') => {
                self.subtrees.push(prefix.to_owned());
                Ok(())
            }
            _ if pattern.contains('*') => {
                Err("`*` is allowed only as a final `/*` (`/internal/*`)")
            }
            _ => {
                self.exact.push(pattern.to_owned());
                Ok(())
            }
        }
    }

    pub(crate) fn matches(&self, path: &str) -> bool {
        self.exact.iter().any(|p| p == path)
            || self.subtrees.iter().any(|prefix| {
                path.strip_prefix(prefix.as_str())
                    .is_some_and(|rest| rest.is_empty() || rest.starts_with('/'))
            })
    }
}

#[cfg(test)]
mod tests {
    use super::SkipPaths;

    #[test]
    fn exact_paths_and_subtrees() {
        let mut skip = SkipPaths::default();
        skip.add("/healthz").unwrap();
        skip.add("/internal/*").unwrap();
        skip.add("/*").unwrap_err();
        assert!(skip.matches("/healthz"));
        assert!(!skip.matches("/healthz/deep"));
        assert!(!skip.matches("/healthzz"));
        assert!(skip.matches("/internal"));
        assert!(skip.matches("/internal/"));
        assert!(skip.matches("/internal/debug/pprof"));
        assert!(!skip.matches("/internals"));
        assert!(!skip.matches("/api/orders"));
    }

    #[test]
    fn what_is_not_a_pattern_says_why() {
        let mut skip = SkipPaths::default();
        assert_eq!(skip.add("healthz"), Err("a path starts with `/`"));
        assert!(skip.add("/api/*/health").is_err());
        assert!(skip.add("/api*").is_err());
        assert!(!skip.matches("/api/x/health"));
    }
}
